// Processes and paths for the end-to-end tests of clients/vscode: the real promptmeter binary,
// its proxy with a fake upstream, code-server with the packaged .vsix, and Debian's chromium
// driven by playwright-core. Every process started here is stopped by stopAll().

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.PROMPTMETER_BIN ?? path.join(ROOT, "target/debug/promptmeter");
/** The project's fake provider (tests/fakes/README.md), built next to the binary. */
export const FAKE_UPSTREAM = process.env.PROMPTMETER_FAKE_UPSTREAM ?? path.join(path.dirname(BIN), "fake-upstream");
export const OUT = path.join(process.env.PROMPTMETER_TEST_OUT ?? path.join(ROOT, "tests/out"), "vscode");
export const VSIX = process.env.PROMPTMETER_VSIX ?? path.join(ROOT, "clients/vscode/dist/promptmeter.vsix");
export const CODE_SERVER = path.join(ROOT, "tests/vscode/node_modules/code-server/out/node/entry.js");
export const CHROMIUM = process.env.PROMPTMETER_CHROMIUM ?? "/usr/bin/chromium";
/** Upper bound of every wait: a feature that never shows fails instead of hanging. */
export const WAIT_MS = Number(process.env.PROMPTMETER_WAIT_MS ?? 60000);

fs.mkdirSync(OUT, { recursive: true });

const children = [];
const cleanups = [];

/** Runs `fn` in stopAll(), before the processes are stopped. */
export function onStop(fn) {
  cleanups.push(fn);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tmpdir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm-vscode-${name}-`));
}

/** Starts a process whose output goes to OUT/<log>; stopped by stopAll(). */
export function start(cmd, args, { env, cwd, log, append = false }) {
  const out = fs.openSync(path.join(OUT, log), append ? "a" : "w");
  const child = spawn(cmd, args, { env, cwd, stdio: ["ignore", out, out], detached: true });
  child.exitedWith = null;
  child.on("exit", (code, signal) => (child.exitedWith = code ?? signal));
  children.push(child);
  return child;
}

export async function stopAll() {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
  for (const child of children.reverse()) {
    if (child.exitedWith === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
  children.length = 0;
}

/** Runs a command to completion; rejects with its output on failure. */
export function run(cmd, args, { env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${output}`)),
    );
  });
}

/** Polls `probe` until it returns a truthy value; fails with `what` after WAIT_MS. */
export async function waitFor(what, probe, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) {
        return v;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`never happened: ${what}${last ? ` (last error: ${last.message})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitHttp(url, what) {
  await waitFor(what, async () => (await fetch(url)).ok);
}

/** Writes a file, creating its directory. */
export function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
