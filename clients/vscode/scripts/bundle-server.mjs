// Puts the promptmeter binary named by $PROMPTMETER_BUNDLE_SERVER into server/ so that
// `vsce package` ships it (the extension finds it after the env var and the setting).
// The copy is stripped of debug symbols. Without the variable, server/ is emptied: a .vsix
// never carries a stale binary.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const dir = path.join(import.meta.dirname, "..", "server");
fs.rmSync(dir, { recursive: true, force: true });
const source = process.env.PROMPTMETER_BUNDLE_SERVER;
if (source) {
  fs.mkdirSync(dir);
  const target = path.join(dir, process.platform === "win32" ? "promptmeter.exe" : "promptmeter");
  fs.copyFileSync(source, target);
  fs.chmodSync(target, 0o755);
  // Symbols are no use to users (and make debug builds ten times larger): strip the copy.
  const strip = spawnSync("strip", ["--strip-all", target], { stdio: "inherit" });
  if (strip.status !== 0) {
    console.warn("strip is not available: bundling the binary with its symbols");
  }
  console.log(`bundled ${source} as ${path.relative(process.cwd(), target)}`);
}
