// The live dashboard (GET /_promptmeter/) in Debian's headless chromium, against the real
// binary's proxy with the project's fake upstream and a temp ledger: a scripted agent session
// goes through the proxy and the page must show the right blocks and numbers, follow a proxy
// restart, and stay readable at common window sizes. Screenshots: $PROMPTMETER_TEST_OUT/dashboard/.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import * as h from "./harness.mjs";

const CATEGORIES = ["system", "tools", "history", "toolResults", "currentTurn"];
let dir, env, upstream, port, proxy, context, page, foreign;

async function shot(name, fullPage = true) {
  await page.screenshot({ path: path.join(h.OUT, `${name}.png`), fullPage });
}

const SYSTEM = "# Role\nYou are a careful coding agent working in a Rust repository.\n\n# Rules\n" + "- Run the tests before you claim a fix.\n".repeat(40);
const TOOLS = [
  { name: "bash", description: "Run a shell command and return its output. ".repeat(12), input_schema: { type: "object", properties: { cmd: { type: "string" } } } },
  { name: "read_file", description: "Read a file of the repository. ".repeat(10), input_schema: { type: "object", properties: { path: { type: "string" } } } },
];

/** The Anthropic body of turn `n` of a session: history and tool results grow every turn. */
function anthropicTurn(n, model) {
  const messages = [{ role: "user", content: "The parser drops the last line of a file without a trailing newline; fix it." }];
  for (let k = 0; k < n; k++) {
    messages.push({ role: "assistant", content: [{ type: "text", text: `Step ${k}: let me look.` }, { type: "tool_use", id: `toolu_${k}`, name: "bash", input: { cmd: `cargo test -p parser ${k}` } }] });
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${k}`, content: "test parser::lines ... FAILED\n".repeat(20 + 30 * k) }] });
  }
  messages.push({ role: "user", content: `Turn ${n}: keep going.` });
  return { model, max_tokens: 1024, stream: n % 2 === 1, system: SYSTEM, tools: TOOLS, messages };
}

async function send(pathname, body, headers) {
  const res = await fetch(`${proxy.url}${pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-fake-scenario": "cache", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

const anthropic = (n, model = "claude-sonnet-4-5") =>
  send("/v1/messages", anthropicTurn(n, model), { "x-api-key": "test", "anthropic-version": "2023-06-01", "x-promptmeter-session": "dash-e2e" });
const openai = () =>
  send(
    "/v1/chat/completions",
    { model: "gpt-5-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "system", content: "You write commit messages. ".repeat(30) }, { role: "user", content: "Summarize the diff." }] },
    { authorization: "Bearer test" },
  );

async function recent(limit = 1000) {
  return (await fetch(`${proxy.url}/_promptmeter/requests?limit=${limit}`)).json();
}

/** The ledger's own totals, read by `promptmeter report --json` (not through the proxy). */
async function ledgerTotal() {
  const { stdout } = await h.run(h.BIN, ["report", "--json", "--ledger", proxy.ledger], { env, cwd: dir });
  return JSON.parse(stdout).total;
}

const rows = () => page.$$eval("#recent tbody tr", (trs) => trs.map((tr) => ({ id: tr.dataset.id, usd: tr.querySelector("td[data-usd]")?.dataset.usd ?? "" })));
const connState = () => page.$eval("#conn", (e) => e.dataset.state);

async function waitRows(n) {
  await h.waitFor(`${n} rows in the table`, async () => (await rows()).length === n);
}

/** The context treemap's blocks with their share of the treemap's area. */
async function ctxBlocks() {
  return page.$eval("#ctx-treemap", (box) => {
    const b = box.getBoundingClientRect();
    return {
      request: box.dataset.request,
      total: Number(box.dataset.total),
      area: b.width * b.height,
      blocks: [...box.querySelectorAll(".block")].map((e) => {
        const r = e.getBoundingClientRect();
        return { key: e.dataset.key, tokens: Number(e.dataset.tokens), area: r.width * r.height, x: r.x - b.x, y: r.y - b.y, w: r.width, h: r.height };
      }),
    };
  });
}

/** The page's context treemap shows `record`'s composition, areas proportional to tokens. */
async function checkContext(record) {
  const c = record.composition;
  assert.ok(c, `request ${record.id} has a composition`);
  const total = CATEGORIES.reduce((s, k) => s + c[k], 0);
  // the blocks move with a CSS transition: wait until they have settled
  let last = null;
  const view = await h.waitFor(`context treemap of ${record.id} settled`, async () => {
    const v = await ctxBlocks();
    const key = JSON.stringify(v.blocks.map((b) => [b.key, Math.round(b.w), Math.round(b.h)]));
    const settled = v.request === record.id && key === last;
    last = key;
    return settled && v;
  });
  assert.equal(view.total, total);
  const shown = Object.fromEntries(view.blocks.map((b) => [b.key, b]));
  for (const k of CATEGORIES) {
    if (c[k] === 0) {
      assert.equal(shown[k], undefined, `no block for an empty ${k}`);
      continue;
    }
    assert.equal(shown[k]?.tokens, c[k], `${k} block carries its tokens`);
    const share = shown[k].area / view.area;
    assert.ok(Math.abs(share - c[k] / total) < 0.01, `${k}: area share ${share.toFixed(4)} vs token share ${(c[k] / total).toFixed(4)}`);
  }
  const tiled = view.blocks.reduce((s, b) => s + b.area, 0) / view.area;
  assert.ok(Math.abs(tiled - 1) < 0.01, `the blocks tile the treemap (${tiled})`);
  return view;
}

before(async () => {
  dir = h.tmpdir("e2e");
  env = h.isolatedEnv(dir);
  upstream = await h.startFakeUpstream();
  // A small daily budget that the session crosses, pressure routing without stickiness (so
  // the reroute happens within this short session), and a task rule that cannot apply (its
  // upstream speaks another wire format), which routing reports as a note.
  fs.mkdirSync(path.join(env.XDG_CONFIG_HOME, "promptmeter"), { recursive: true });
  fs.writeFileSync(
    path.join(env.XDG_CONFIG_HOME, "promptmeter/config.toml"),
    '[budgets.daily]\nwindow = "day"\nusd = "0.01"\n\n[routing]\nsticky = "off"\n\n' +
      `[proxy.named.local]\nurl = "${upstream}"\nkind = "openai"\n\n` +
      '[[routing.tasks]]\nname = "to-local"\ntask = "local"\nupstream = "local"\n',
  );
  port = await h.freePort();
  proxy = await h.startProxy({ dir, env, port, upstream });
  context = await h.launchBrowser(dir);
  page = await context.newPage();
  foreign = h.watchForeignRequests(page, proxy.url);
  const log = fs.createWriteStream(path.join(h.OUT, "browser-console.log"));
  page.on("console", (m) => log.write(`${m.type()}: ${m.text()}\n`));
  page.on("pageerror", (e) => log.write(`pageerror: ${e.message}\n`));
});

after(async () => {
  if (page) await shot("final").catch(() => {});
  await context?.close().catch(() => {});
  await h.stopAll();
});

test("the page is served with its security headers, and only on loopback names", async () => {
  const res = await fetch(`${proxy.url}/_promptmeter/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(res.headers.get("content-security-policy"), /default-src 'none'; script-src 'self'/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const js = await fetch(`${proxy.url}/_promptmeter/dashboard/app.js`, { headers: { "if-none-match": res.headers.get("etag") } });
  assert.match(js.headers.get("content-type"), /^text\/javascript/);
  const again = await fetch(`${proxy.url}/_promptmeter/dashboard/app.js`, { headers: { "if-none-match": js.headers.get("etag") } });
  assert.equal(again.status, 304);
  // DNS rebinding: a foreign Host name is refused (node's fetch lets us set it via a raw request)
  const raw = await new Promise((resolve, reject) => {
    import("node:http").then(({ request }) => {
      const req = request({ host: "127.0.0.1", port, path: "/_promptmeter/", headers: { host: "evil.example" } }, (r) => resolve(r.statusCode));
      req.on("error", reject);
      req.end();
    });
  });
  assert.equal(raw, 403);
});

test("empty state: connected, honest, no numbers invented", async () => {
  await page.goto(`${proxy.url}/_promptmeter/`);
  await h.waitFor("feed connected", async () => (await connState()) === "live");
  await page.locator("#empty").waitFor({ state: "visible" });
  assert.match(await page.textContent("#empty"), /No requests yet/);
  assert.match(await page.textContent("#empty-env"), new RegExp(`ANTHROPIC_BASE_URL=${proxy.url}`));
  assert.equal(await page.$eval("#today", (e) => e.dataset.usd), "0");
  assert.equal((await rows()).length, 0);
  assert.match(await page.textContent("#budgets"), /daily/);
  await shot("empty");
});

test("a scripted session: the context treemap follows every request, proportional to tokens", async () => {
  const shares = [];
  for (let n = 0; n < 4; n++) {
    await anthropic(n);
    await waitRows(n + 1);
    const [latest] = await recent(1);
    assert.equal(latest.modelServed, "claude-sonnet-4-5");
    await checkContext(latest);
    const c = latest.composition;
    shares.push((c.history + c.toolResults) / CATEGORIES.reduce((s, k) => s + c[k], 0));
    if (n === 0) await shot("context-first-turn");
  }
  // the proportions shift as the conversation grows
  for (let i = 1; i < shares.length; i++) assert.ok(shares[i] > shares[i - 1], `history grows: ${shares}`);
  assert.equal(await page.$eval("#empty", (e) => e.hidden), true);
  await shot("context-fourth-turn");
});

test("budget crossing and reroute: alerts, gauge, routing and savings", async () => {
  // the budget is used up by now: opus is capped at the cheapest model
  await anthropic(4, "claude-opus-4-1");
  await anthropic(5, "claude-opus-4-1");
  await openai();
  await waitRows(7);
  const list = await recent();
  const rerouted = list.filter((r) => r.reroute);
  assert.ok(rerouted.length >= 2, `reroutes in the ledger: ${rerouted.length}`);
  await h.waitFor("reroutes listed", async () => (await page.$$("#reroutes li[data-id]")).length === rerouted.length);
  assert.match(await page.textContent("#reroutes"), /claude-opus-4-1 → claude-haiku-4-5/);
  await h.waitFor("budget alert shown", async () => /Daily budget at \d+%/.test(await page.textContent("#alerts")));
  await h.waitFor("gauge at error level", async () => (await page.$eval('#budgets .gauge[data-name="daily"]', (e) => e.dataset.level)) === "error");
  const saved = h.decimalSum(rerouted.map((r) => h.decimalSum([r.reroute.counterfactualCostUsd, "-" + r.costUsd])));
  assert.equal(await page.$eval("#saved", (e) => e.dataset.usd), saved);
  await shot("budget-and-routing");
});

test("totals, rows and costs equal the ledger's", async () => {
  const total = await ledgerTotal();
  await h.waitFor("today equals the ledger", async () => (await page.$eval("#today", (e) => e.dataset.usd)) === h.normDecimal(total.costUsd));
  assert.equal(h.normDecimal(await page.$eval("#week", (e) => e.dataset.usd)), h.normDecimal(total.costUsd));
  assert.match(await page.textContent("#requests-count"), new RegExp(`^${total.requests}\\b`));
  const list = await recent();
  const shown = await rows();
  assert.deepEqual(shown.map((r) => r.id), list.map((r) => r.id), "rows newest first, one per request");
  assert.deepEqual(shown.map((r) => r.usd), list.map((r) => r.costUsd));
  assert.equal(h.decimalSum(shown.map((r) => r.usd)), h.normDecimal(total.costUsd));
  // the spend charts end at the same totals
  assert.equal(h.normDecimal(await page.$eval("#spend-day", (e) => e.dataset.usd)), h.normDecimal(total.costUsd));
  // the response treemap of the latest (OpenAI, with cached and reasoning tokens)
  const latest = list[0];
  assert.equal(latest.provider, "openai");
  const resp = await page.$$eval("#resp-treemap .block", (bs) => Object.fromEntries(bs.map((b) => [b.dataset.key, Number(b.dataset.tokens)])));
  const u = latest.usage;
  assert.equal(resp.cacheRead, u.cacheRead);
  assert.equal(resp.input, u.input);
  assert.equal(resp.reasoning, u.reasoning);
  assert.equal(resp.output, u.output - u.reasoning);
  assert.equal(await page.$eval('#resp-stats dd[data-stat="cost"]', (e) => e.dataset.usd), latest.costUsd);
  // aggregated per model: one treemap block and one table row per model
  const models = [...new Set(list.map((r) => r.modelServed))].sort();
  const blocks = await page.$$eval("#model-treemap .block", (bs) => bs.map((b) => b.dataset.key.split("/")[1]).sort());
  assert.deepEqual(blocks, models);
  const tableModels = await page.$$eval("#model-table tbody tr.model-row", (trs) => trs.map((t) => t.dataset.model).sort());
  assert.deepEqual(tableModels, models);
  // and per provider: one row each, with its request count
  const providers = await page.$$eval("#model-table tbody tr.prov-row", (trs) => trs.map((t) => [t.dataset.provider, Number(t.cells[1].textContent)]));
  assert.deepEqual(
    providers.sort(),
    ["anthropic", "openai"].map((p) => [p, list.filter((r) => r.provider === p).length]),
  );
});

test("clicking a row shows that request; 'follow latest' goes back", async () => {
  const list = await recent();
  const oldest = list[list.length - 1];
  await page.click(`#recent tbody tr[data-id="${oldest.id}"]`);
  await checkContext(oldest);
  assert.equal(await page.$eval("#follow", (e) => e.getAttribute("aria-pressed")), "false");
  assert.equal(await page.$eval(`#recent tbody tr[data-id="${oldest.id}"]`, (e) => e.getAttribute("aria-selected")), "true");
  // a new request does not steal the selection
  await anthropic(6);
  await waitRows(list.length + 1);
  await checkContext(oldest);
  await shot("selected-row");
  await page.click("#follow");
  const [latest] = await recent(1);
  await checkContext(latest);
});

test("reconnects after a proxy restart, with the same totals", async () => {
  const before = (await rows()).length;
  await h.stop(proxy.child);
  await h.waitFor("connection lost shown", async () => (await connState()) !== "live");
  await shot("disconnected", false);
  proxy = await h.startProxy({ dir, env, port, upstream, log: "proxy-restarted.log" });
  await h.waitFor("reconnected", async () => (await connState()) === "live");
  await anthropic(7);
  await waitRows(before + 1);
  const total = await ledgerTotal();
  assert.equal(total.requests, before + 1);
  await h.waitFor("totals after restart equal the ledger", async () => (await page.$eval("#today", (e) => e.dataset.usd)) === h.normDecimal(total.costUsd));
  const [latest] = await recent(1);
  await checkContext(latest);
});

for (const [width, height] of [
  [1280, 800],
  [1920, 1080],
  [768, 1024],
  [390, 844],
]) {
  test(`readable at ${width}x${height}: no horizontal overflow, key parts visible`, async () => {
    await page.setViewportSize({ width, height });
    const [latest] = await recent(1);
    await checkContext(latest);
    assert.deepEqual(await page.$$eval('#recent tbody tr[aria-selected="true"]', (trs) => trs.map((t) => t.dataset.id)), [latest.id], "the shown request is marked in the table");
    const overflow = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(overflow.scroll <= overflow.client, `page scrolls sideways: ${overflow.scroll} > ${overflow.client}`);
    for (const sel of ["#conn", "#today", "#week", "#ctx-treemap", "#ctx-legend", "#resp-treemap", "#model-treemap", "#spend-day", "#spend-week", "#budgets .gauge", "#reroutes", ".recent .table-wrap"]) {
      const box = await page.locator(sel).first().boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, `${sel} visible`);
      assert.ok(box.x >= 0 && box.x + box.width <= width + 0.5, `${sel} inside the window width (${box.x}+${box.width} > ${width})`);
    }
    // text is not squeezed out: the totals and the treemap labels can be read
    assert.ok((await page.locator("#today").innerText()).startsWith("$"));
    const big = await page.$$eval("#ctx-treemap .block:not(.tiny) .name", (es) => es.filter((e) => e.scrollWidth > 0 && e.textContent).length);
    assert.ok(big >= 1, "at least one labelled context block");
    await shot(`size-${width}x${height}`);
  });
}

test("stays bounded under hundreds of requests: the table keeps its newest rows", async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const before = await page.evaluate(() => window.__promptmeter.store.records.length);
  const N = 240;
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < N) await anthropic(next++ % 5);
  }));
  await h.waitFor("every request reached the page", async () => (await page.evaluate(() => window.__promptmeter.store.records.length)) === before + N);
  const shown = await rows();
  assert.equal(shown.length, 150, "at most 150 rows in the DOM");
  // With 8 requests in flight, arrival and completion order differ by a few places: the rows
  // are the newest (each id once), give or take the requests that overlapped at the boundary.
  const ids = shown.map((r) => r.id);
  assert.equal(new Set(ids).size, 150, "each request once");
  const newest = (await recent(200)).map((r) => r.id);
  for (const id of ids) assert.ok(newest.slice(0, 150 + 8).includes(id), `${id} is among the newest`);
  for (const id of newest.slice(0, 150 - 8)) assert.ok(ids.includes(id), `${id} is shown`);
  const total = await ledgerTotal();
  await h.waitFor("today equals the ledger", async () => (await page.$eval("#today", (e) => e.dataset.usd)) === h.normDecimal(total.costUsd));
});

test("routing notes (a rule that could not apply) show in the routing card", async () => {
  await send("/v1/messages", anthropicTurn(1, "claude-sonnet-4-5"), { "x-api-key": "test", "anthropic-version": "2023-06-01", "x-promptmeter-session": "dash-notes", "x-promptmeter-task": "local" });
  await h.waitFor("a routing note", async () => /upstream local speaks/.test((await page.$$eval("#reroutes li.note", (ls) => ls.map((l) => l.textContent))).join(" ")));
});

test("works inside a frame on another loopback origin (as in VS Code's webview)", async () => {
  const { createServer } = await import("node:http");
  const host = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><iframe id="f" src="${proxy.url}/_promptmeter/" width="1200" height="800"></iframe>`);
  });
  await new Promise((r) => host.listen(0, "127.0.0.1", r));
  const framing = await context.newPage();
  try {
    await framing.goto(`http://127.0.0.1:${host.address().port}/`);
    const frame = await h.waitFor("the dashboard frame", async () => framing.frames().find((f) => f.url().startsWith(proxy.url)));
    await h.waitFor("framed dashboard live with rows", async () =>
      frame.evaluate(() => document.getElementById("conn")?.dataset.state === "live" && document.querySelectorAll("#recent tbody tr").length > 0),
    );
  } finally {
    await framing.close();
    host.close();
  }
});

test("the page made no request off the proxy", () => {
  assert.deepEqual(foreign, []);
});
