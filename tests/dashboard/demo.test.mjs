// `promptmeter demo --once`: the real binary replays its simulated agent session through its
// in-process proxy and exits; its feed must carry the requests, a budget alert and a reroute,
// and the dashboard must show them. Screenshot: $PROMPTMETER_TEST_OUT/dashboard/demo.png.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import * as h from "./harness.mjs";

let context;
after(async () => {
  await context?.close().catch(() => {});
  await h.stopAll();
});

/** Reads server-sent events from `url` until the stream ends; resolves to [{event, data}]. */
async function readFeed(url, onEvent) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const events = [];
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) {
          const ev = { event, data: JSON.parse(data) };
          events.push(ev);
          onEvent?.(ev);
        }
      }
    }
  } catch {
    // the demo exited: the stream ends abruptly
  }
  return events;
}

test("`promptmeter demo --once` replays a session with alerts and reroutes, no API key", async () => {
  const dir = h.tmpdir("demo");
  const env = h.isolatedEnv(dir);
  const port = await h.freePort();
  const log = path.join(h.OUT, "demo.log");
  const demo = h.start(h.BIN, ["demo", "--once", "--speed", "8", "--port", String(port)], { env, cwd: dir, log: "demo.log" });
  const url = `http://127.0.0.1:${port}`;
  await h.waitFor("demo proxy healthy", async () => {
    if (demo.exitedWith !== null) throw new Error(`demo exited ${demo.exitedWith}`);
    return (await fetch(`${url}/_promptmeter/health`)).ok;
  });
  // the demo starts its replay when a viewer subscribes: this reader and the dashboard
  context = await h.launchBrowser(dir);
  const page = await context.newPage();
  await page.goto(`${url}/_promptmeter/`);
  let shot = null;
  const feed = readFeed(`${url}/_promptmeter/feed`, (ev) => {
    // photograph the dashboard mid-session, once the budget has been crossed
    if (ev.event === "alert" && ev.data.pressure >= 1 && !shot) {
      shot = page
        .waitForFunction(() => document.querySelectorAll("#reroutes li[data-id]").length > 0, null, { timeout: h.WAIT_MS })
        .then(() => page.screenshot({ path: path.join(h.OUT, "demo.png"), fullPage: true }));
    }
  });
  const code = await demo.exited;
  const events = await feed;
  await shot;
  const output = fs.readFileSync(log, "utf8");
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`dashboard: +${url}/_promptmeter/`));
  assert.match(output, /promptmeter\.proxy\.url/);

  const requests = events.filter((e) => e.event === "request").map((e) => e.data);
  const alerts = events.filter((e) => e.event === "alert").map((e) => e.data);
  assert.equal(events[0].event, "hello");
  assert.ok(requests.length >= 15, `requests: ${requests.length}`);
  assert.ok(requests.every((r) => r.status === 200 && !r.incomplete && r.costKnown), "every request completed and priced");
  assert.deepEqual([...new Set(requests.map((r) => r.provider))].sort(), ["anthropic", "openai"]);
  assert.ok(new Set(requests.map((r) => r.modelServed)).size >= 3, "several models");
  assert.ok(requests.some((r) => r.usage.cacheRead > 0) && requests.some((r) => r.composition?.toolResults > 0), "cache reads and tool results");
  const main = requests.filter((r) => r.session === "agent-main-1" && r.modelRequested === "claude-opus-4-1").map((r) => r.composition);
  const size = (c) => c.system + c.tools + c.history + c.toolResults + c.currentTurn;
  assert.ok(main.length >= 10 && main.every((c, i) => i === 0 || size(c) > size(main[i - 1])), "the main context grows every turn");
  assert.ok(alerts.length >= 1, "a budget alert");
  assert.ok(alerts.some((a) => a.pressure >= 1), "the budget is crossed");
  const rerouted = requests.filter((r) => r.reroute);
  assert.ok(rerouted.some((r) => r.reroute.from === "claude-opus-4-1"), "budget pressure reroutes the main agent");
  assert.ok(rerouted.some((r) => r.reroute.rule.includes("heartbeat")), "the task rule reroutes heartbeats");
  const m = /demo round 1: (\d+) requests \(0 failed\), (\d+) budget alerts, (\d+) rerouted/.exec(output);
  assert.ok(m, output);
  assert.equal(Number(m[1]), requests.length);
  assert.equal(Number(m[2]), alerts.length);
  assert.equal(Number(m[3]), rerouted.length);
  assert.ok(shot, "the dashboard was photographed mid-session");
  assert.match(output, /rerouted from claude-opus-4-1 by pressure/);
  assert.match(output, /ALERT: Budget "demo-daily"/);
  // the temporary ledger is gone, and nothing was written to the (isolated) user dirs
  const tmp = /Temporary ledger: (\S+)/.exec(output)?.[1];
  assert.ok(tmp, output);
  assert.equal(fs.existsSync(tmp), false, `${tmp} removed`);
  assert.deepEqual(fs.readdirSync(env.XDG_DATA_HOME), []);
});

test("`promptmeter demo` (no --once) replays until interrupted, then cleans up", async () => {
  const dir = h.tmpdir("demo-loop");
  const env = h.isolatedEnv(dir);
  const port = await h.freePort();
  const demo = h.start(h.BIN, ["demo", "--speed", "20", "--port", String(port)], { env, cwd: dir, log: "demo-loop.log" });
  const url = `http://127.0.0.1:${port}`;
  // a second round starts on its own
  await h.waitFor("two replays", async () => {
    if (demo.exitedWith !== null) throw new Error(`demo exited ${demo.exitedWith}`);
    return /demo round 2:/.test(fs.readFileSync(path.join(h.OUT, "demo-loop.log"), "utf8"));
  }, h.WAIT_MS * 3);
  const summary = await (await fetch(`${url}/_promptmeter/summary`)).json();
  assert.ok(summary.requests >= 40, `requests today: ${summary.requests}`);
  process.kill(demo.pid, "SIGINT");
  assert.equal(await demo.exited, 0);
  const output = fs.readFileSync(path.join(h.OUT, "demo-loop.log"), "utf8");
  assert.match(output, /demo stopped/);
  const tmp = /Temporary ledger: (\S+)/.exec(output)?.[1];
  assert.equal(fs.existsSync(tmp), false, `${tmp} removed`);
});
