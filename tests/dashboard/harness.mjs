// Processes for the dashboard's end-to-end tests: the real promptmeter binary (its proxy, or
// `promptmeter demo`), the project's fake upstream (tests/fakes/README.md) and Debian's
// chromium through playwright-core. Every process started here is stopped by stopAll().

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.PROMPTMETER_BIN ?? path.join(ROOT, "target/debug/promptmeter");
export const FAKE_UPSTREAM = process.env.PROMPTMETER_FAKE_UPSTREAM ?? path.join(path.dirname(BIN), "fake-upstream");
export const OUT = path.join(process.env.PROMPTMETER_TEST_OUT ?? path.join(ROOT, "tests/out"), "dashboard");
export const CHROMIUM = process.env.PROMPTMETER_CHROMIUM ?? "/usr/bin/chromium";
/** Upper bound of every wait: a feature that never shows fails instead of hanging. */
export const WAIT_MS = Number(process.env.PROMPTMETER_WAIT_MS ?? 60000);

fs.mkdirSync(OUT, { recursive: true });
const children = [];

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
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm-dashboard-${name}-`));
}

/** An environment whose config and data dirs are `dir`'s: the user's own are never read. */
export function isolatedEnv(dir) {
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, "config"), XDG_DATA_HOME: path.join(dir, "data") };
  delete env.PROMPTMETER_LOG;
  fs.mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });
  fs.mkdirSync(env.XDG_DATA_HOME, { recursive: true });
  return env;
}

/** Starts a process whose output goes to OUT/<log> (truncated first); stopped by stopAll(). */
export function start(cmd, args, { env, cwd, log }) {
  const out = fs.openSync(path.join(OUT, log), "w");
  const child = spawn(cmd, args, { env, cwd, stdio: ["ignore", out, out], detached: true });
  child.exitedWith = null;
  child.exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      child.exitedWith = code ?? signal;
      resolve(child.exitedWith);
    }),
  );
  children.push(child);
  return child;
}

export async function stop(child) {
  if (child.exitedWith === null) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await child.exited;
  }
}

export async function stopAll() {
  for (const child of children.splice(0).reverse()) await stop(child);
}

/** Runs a command to completion; resolves with its stdout, rejects with its output on failure. */
export function run(cmd, args, { env, cwd, timeoutMs = WAIT_MS * 3 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/** Polls `probe` until it returns a truthy value; fails with `what` after WAIT_MS. */
export async function waitFor(what, probe, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`never happened: ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The project's fake upstream on a free port; resolves to its base URL. */
export async function startFakeUpstream() {
  const port = await freePort();
  start(FAKE_UPSTREAM, ["--port", String(port)], { env: process.env, log: "fake-upstream.log" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("fake upstream healthy", async () => (await fetch(`${url}/_fake/health`)).ok);
  return url;
}

/**
 * `promptmeter proxy` on `port` with config `toml` and ledger `dir`/ledger.sqlite, every
 * provider sent to `upstream`. Resolves to {url, child, ledger}.
 */
export async function startProxy({ dir, env, port, upstream, log = "proxy.log" }) {
  const ledger = path.join(dir, "ledger.sqlite");
  const child = start(
    BIN,
    ["proxy", "--listen", `127.0.0.1:${port}`, "--ledger", ledger, "--anthropic-upstream", upstream, "--openai-upstream", upstream, "--gemini-upstream", upstream],
    { env, cwd: dir, log },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("proxy healthy", async () => {
    if (child.exitedWith !== null) throw new Error(`proxy exited ${child.exitedWith} (see ${log})`);
    return (await fetch(`${url}/_promptmeter/health`)).ok;
  });
  return { url, child, ledger };
}

/** Debian's chromium, headless, with a fresh profile in `dir`: resolves to a browser context. */
export async function launchBrowser(dir, viewport = { width: 1280, height: 800 }) {
  return chromium.launchPersistentContext(path.join(dir, "chromium"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Every request the page makes must stay on the proxy's origin: collects the others. */
export function watchForeignRequests(page, origin) {
  const foreign = [];
  page.on("request", (req) => {
    const u = req.url();
    if (!u.startsWith(origin + "/") && !u.startsWith("data:")) foreign.push(u);
  });
  return foreign;
}

/** Exact decimal sum of decimal strings, as a normalized string ("0.0123"). */
export function decimalSum(values) {
  const SCALE = 10n ** 18n;
  let acc = 0n;
  for (const v of values) {
    if (v == null) continue;
    const [i, f = ""] = String(v).split(".");
    const neg = i.startsWith("-");
    const n = BigInt(i.replace("-", "") || "0") * SCALE + BigInt((f + "0".repeat(18)).slice(0, 18));
    acc += neg ? -n : n;
  }
  const int = acc / SCALE;
  const frac = (acc % SCALE).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${int}.${frac}` : `${int}`;
}

/** Normalize a decimal string ("1.2300" -> "1.23"). */
export function normDecimal(v) {
  return decimalSum([v]);
}
