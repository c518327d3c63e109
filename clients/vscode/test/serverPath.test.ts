import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ServerNotFoundError, findServer } from "../src/serverPath";

/** A temp tree with executables at the given relative paths. */
function tree(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pm-discovery-"));
  for (const f of files) {
    const p = path.join(root, f);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, "#!/bin/sh\n");
    fs.chmodSync(p, 0o755);
  }
  return root;
}

const all = tree(["env/promptmeter", "setting/promptmeter", "ext/server/promptmeter", "bin/promptmeter"]);
const p = (rel: string) => path.join(all, rel);

test("the environment variable comes first", () => {
  const found = findServer({
    env: { PROMPTMETER_SERVER_PATH: p("env/promptmeter"), PATH: p("bin") },
    setting: p("setting/promptmeter"),
    extensionDir: p("ext"),
  });
  assert.deepEqual(found, { path: p("env/promptmeter"), source: "environment" });
});

test("then the setting", () => {
  const found = findServer({ env: { PATH: p("bin") }, setting: p("setting/promptmeter"), extensionDir: p("ext") });
  assert.deepEqual(found, { path: p("setting/promptmeter"), source: "setting" });
});

test("then the bundled binary", () => {
  const found = findServer({ env: { PATH: p("bin") }, setting: "", extensionDir: p("ext") });
  assert.deepEqual(found, { path: p("ext/server/promptmeter"), source: "bundled" });
});

test("then PATH, skipping directories without it", () => {
  const found = findServer({ env: { PATH: `${p("nothing")}::${p("bin")}` }, setting: undefined, extensionDir: p("none") });
  assert.deepEqual(found, { path: p("bin/promptmeter"), source: "PATH" });
});

test("a wrong explicit path is an error naming its source, not a silent fallback", () => {
  assert.throws(
    () => findServer({ env: { PROMPTMETER_SERVER_PATH: p("missing"), PATH: p("bin") }, setting: "", extensionDir: p("ext") }),
    (e: unknown) => e instanceof ServerNotFoundError && /PROMPTMETER_SERVER_PATH/.test(e.message),
  );
  assert.throws(
    () => findServer({ env: { PATH: p("bin") }, setting: p("setting"), extensionDir: p("ext") }),
    /promptmeter\.server\.path/,
  );
});

test("a file that is not executable does not count", () => {
  const root = tree([]);
  fs.mkdirSync(path.join(root, "bin"));
  fs.writeFileSync(path.join(root, "bin", "promptmeter"), "");
  assert.throws(() => findServer({ env: { PATH: path.join(root, "bin") }, setting: "", extensionDir: root }), ServerNotFoundError);
});

test("nothing found: a clear error that says how to fix it", () => {
  assert.throws(
    () => findServer({ env: { PATH: "" }, setting: "", extensionDir: p("none") }),
    (e: unknown) => e instanceof ServerNotFoundError && /not found/.test(e.message) && /promptmeter\.server\.path/.test(e.message),
  );
});

test("~ in the setting means the home directory", () => {
  let asked = "";
  const found = findServer({
    env: {},
    setting: "~/bin/promptmeter",
    extensionDir: p("ext"),
    isExecutable: (f) => {
      asked = f;
      return true;
    },
  });
  assert.equal(found.path, path.join(os.homedir(), "bin/promptmeter"));
  assert.equal(asked, found.path);
});
