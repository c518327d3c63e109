// Dashboard performance with thousands of requests (BENCHMARKS.md, "Dashboard"). Not a test:
// it prints figures. Starts the real proxy (recent = 5000) and the fake upstream, pre-fills
// N requests, then opens the dashboard in headless chromium and measures the first load, and
// the frames while a burst of live requests arrives.
//   PROMPTMETER_BIN=target/release/promptmeter node tests/dashboard/bench.mjs [N] [BURST]
import * as fs from "node:fs";
import * as path from "node:path";
import * as h from "./harness.mjs";

const N = Number(process.argv[2] ?? 5000);
const BURST = Number(process.argv[3] ?? 1000);
const dir = h.tmpdir("bench");
const env = h.isolatedEnv(dir);
fs.mkdirSync(path.join(env.XDG_CONFIG_HOME, "promptmeter"), { recursive: true });
fs.writeFileSync(path.join(env.XDG_CONFIG_HOME, "promptmeter/config.toml"), `[proxy.feed]\nrecent = ${N}\n`);
const upstream = await h.startFakeUpstream();
const proxy = await h.startProxy({ dir, env, port: await h.freePort(), upstream });

const models = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"];
async function send(i) {
  const body = { model: models[i % 3], max_tokens: 64, system: "You are terse. ".repeat(20 + (i % 50)), messages: [{ role: "user", content: `request ${i} `.repeat(1 + (i % 30)) }] };
  const res = await fetch(`${proxy.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01", "x-fake-scenario": "cache" }, body: JSON.stringify(body) });
  await res.arrayBuffer();
}
async function sendMany(count, offset, concurrency = 16) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await send(offset + next++);
  }));
}

let t = Date.now();
await sendMany(N, 0);
console.log(`pre-filled ${N} requests in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const context = await h.launchBrowser(dir, { width: 1920, height: 1080 });
const page = await context.newPage();
t = Date.now();
await page.goto(`${proxy.url}/_promptmeter/`);
await page.waitForFunction((n) => window.__promptmeter?.store.records.length === n && document.querySelectorAll("#recent tbody tr").length > 0, N, { timeout: 120000 });
await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const load = Date.now() - t;
const first = await page.evaluate(() => ({ ...window.__promptmeter.perf, heap: performance.memory?.usedJSHeapSize, rows: document.querySelectorAll("#recent tbody tr").length, nodes: document.getElementsByTagName("*").length }));
console.log(`first load with ${N} requests: ${load} ms to a full page (navigation, summary, /requests?limit=${N}, render); longest render ${first.maxMs.toFixed(1)} ms; ${first.rows} table rows; ${first.nodes} DOM nodes; JS heap ${(first.heap / 2 ** 20).toFixed(1)} MiB`);

// Live burst: frame gaps measured by a requestAnimationFrame loop in the page.
await page.evaluate(() => {
  const p = window.__promptmeter.perf;
  p.renders = 0; p.totalMs = 0; p.maxMs = 0; p.events = 0;
  window.__frames = [];
  let last = performance.now();
  const loop = (now) => { window.__frames.push(now - last); last = now; if (!window.__stopFrames) requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
});
t = Date.now();
await sendMany(BURST, N);
await page.waitForFunction((n) => window.__promptmeter.perf.events >= n, BURST, { timeout: 120000 });
const burstMs = Date.now() - t;
const live = await page.evaluate(() => {
  window.__stopFrames = true;
  const f = window.__frames.slice(1).sort((a, b) => a - b);
  const q = (x) => f[Math.min(f.length - 1, Math.floor(x * f.length))];
  return { ...window.__promptmeter.perf, p50: q(0.5), p99: q(0.99), max: f[f.length - 1], heap: performance.memory?.usedJSHeapSize, records: window.__promptmeter.store.records.length, rows: document.querySelectorAll("#recent tbody tr").length };
});
console.log(`live burst of ${BURST} requests in ${(burstMs / 1000).toFixed(1)} s (${(BURST / (burstMs / 1000)).toFixed(0)}/s): ${live.events} events in ${live.renders} renders; render mean ${(live.totalMs / live.renders).toFixed(2)} ms, max ${live.maxMs.toFixed(1)} ms; frame interval p50 ${live.p50.toFixed(1)} ms, p99 ${live.p99.toFixed(1)} ms, max ${live.max.toFixed(1)} ms; ${live.records} records kept, ${live.rows} rows; JS heap ${(live.heap / 2 ** 20).toFixed(1)} MiB`);
console.log(`  render time by part (ms, total over the burst): ${Object.entries(live.parts).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
await context.close();
await h.stopAll();
