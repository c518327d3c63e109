// promptmeter's live dashboard. Reads the proxy's own namespace (same origin): the summary
// and recent requests once per connection (`hello`), then the feed's events. Every change
// marks a part dirty; one requestAnimationFrame renders the dirty parts, so a burst of
// thousands of events costs one render. The request list is bounded (model.js MAX_RECORDS)
// and the table keeps at most TABLE_ROWS rows, updated incrementally.

import { nested, squarify } from "./treemap.js";
import { CATEGORIES, Store, TOKEN_KINDS, fmtMs, fmtTokens, fmtUsd, linearForecast, modelOf, parseUsd, spendSeries, tokenKinds, usdNumber, usdString, windowStarts } from "./model.js";
import { drawSpend, gauge } from "./charts.js";

const NS = "/_promptmeter";
const TABLE_ROWS = 150;
const MAX_ALERTS = 5;

const $ = (id) => document.getElementById(id);
const store = new Store();
const state = {
  summary: null,
  totals: null,
  selectedId: null,
  alerts: [],
  /** Routing notes (`route` events): rules held back or not applicable, newest first. */
  routeNotes: [],
  conn: "connecting",
  pendingRows: [],
  tableReset: true,
  providers: new Map(),
};
window.__promptmeter = { store, state };

/** Element sizes by id, kept by a ResizeObserver. */
const sizes = new Map();
/** A request's cost as shown: its price; on a flat-rate upstream nothing, and its API price. */
function costText(r) {
  if (r.flatRate) return r.costKnown ? `$0.00 (flat rate; ${fmtUsd(r.costUsd)} at API prices)` : "$0.00 (flat rate)";
  return r.costKnown ? fmtUsd(r.costUsd) : "unpriced";
}

function sizeOf(el) {
  let s = sizes.get(el.id);
  if (!s) {
    s = { w: el.clientWidth, h: el.clientHeight };
    sizes.set(el.id, s);
  }
  return s;
}

const dirty = new Set();
let frame = 0;
function invalidate(...parts) {
  for (const p of parts) dirty.add(p);
  if (!frame) frame = requestAnimationFrame(render);
}

// Formatters are built once: a toLocale*String call builds one each time.
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const num = new Intl.NumberFormat();
const clock = (t) => timeFmt.format(new Date(t));

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function providerIndex(p) {
  if (!state.providers.has(p)) state.providers.set(p, state.providers.size % 6);
  return state.providers.get(p);
}

// ---------- data in ----------

function selected() {
  if (state.selectedId) {
    const r = store.get(state.selectedId);
    if (r) return r;
    state.selectedId = null;
  }
  return store.records[0] || null;
}

function onRecord(r) {
  perf.events++;
  if (!store.add(r)) return;
  providerIndex(r.provider || "unknown");
  state.pendingRows.push(r);
  invalidate("table", "routing", "models", "spend", "empty", "saved", ...(state.selectedId ? [] : ["ctx", "resp"]));
}

function setTotals(t) {
  state.totals = t;
  invalidate("totals", "spend", "models");
}

let summaryTimer = 0;
/** Budgets are only in the summary: re-read it (at most every 400 ms) after spend moves. */
function refreshSummarySoon() {
  if (summaryTimer) return;
  summaryTimer = setTimeout(async () => {
    summaryTimer = 0;
    try {
      const s = await getJson(`${NS}/summary`);
      state.summary = s;
      setTotals(s);
      invalidate("budgets");
    } catch {
      /* the feed's state shows the connection */
    }
  }, 400);
}

async function getJson(url) {
  const res = await fetch(url, { cache: "no-store", credentials: "same-origin" });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

let loadSeq = 0;
async function onHello(summary) {
  const seq = ++loadSeq;
  state.summary = summary;
  store.reset();
  state.pendingRows = [];
  state.tableReset = true;
  setTotals(summary);
  invalidate("budgets", "ctx", "resp", "routing", "models", "table", "empty", "saved", "version");
  try {
    const list = await getJson(`${NS}/requests?limit=${store.max}`);
    if (seq !== loadSeq) return;
    for (let i = list.length - 1; i >= 0; i--) onRecord(list[i]);
    state.tableReset = true;
    invalidate("ctx", "resp", "table");
  } catch (e) {
    console.warn("promptmeter: loading recent requests", e);
  }
}

function onAlert(a) {
  // the latest crossing of each budget (and scope) replaces the one before it
  state.alerts = state.alerts.filter((b) => b.budget !== a.budget || b.scope !== a.scope);
  state.alerts.unshift({ ...a, at: Date.now() });
  state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
  invalidate("alerts");
  refreshSummarySoon();
}

let es = null;
let retry = 1000;
function setConn(s) {
  state.conn = s;
  invalidate("conn");
}
function connect() {
  setConn(state.conn === "connecting" ? "connecting" : "reconnecting");
  es = new EventSource(`${NS}/feed`);
  es.addEventListener("open", () => {
    retry = 1000;
  });
  es.addEventListener("hello", (e) => {
    setConn("live");
    onHello(JSON.parse(e.data));
  });
  es.addEventListener("request", (e) => onRecord(JSON.parse(e.data)));
  es.addEventListener("totals", (e) => {
    setTotals(JSON.parse(e.data));
    refreshSummarySoon();
  });
  es.addEventListener("alert", (e) => onAlert(JSON.parse(e.data)));
  es.addEventListener("route", (e) => {
    state.routeNotes.unshift({ ...JSON.parse(e.data), at: Date.now() });
    state.routeNotes.length = Math.min(state.routeNotes.length, 20);
    invalidate("routing");
  });
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED) {
      // the browser gave up (e.g. an error status while the proxy restarted): retry ourselves
      setConn("offline");
      es.close();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    } else {
      setConn("reconnecting");
    }
  });
}

// ---------- rendering ----------

/** Render timings, read by tests/dashboard/bench.mjs (BENCHMARKS.md). */
const perf = { renders: 0, totalMs: 0, maxMs: 0, events: 0, parts: {} };
function timed(part, fn) {
  const t = performance.now();
  fn();
  perf.parts[part] = (perf.parts[part] || 0) + performance.now() - t;
}
window.__promptmeter.perf = perf;

function render() {
  const t0 = performance.now();
  frame = 0;
  const d = new Set(dirty);
  dirty.clear();
  if (d.has("conn")) timed("conn", () => renderConn());
  if (d.has("totals")) timed("totals", () => renderTotals());
  if (d.has("saved")) timed("saved", () => renderSaved());
  if (d.has("version")) $("version").textContent = state.summary?.version ? `promptmeter ${state.summary.version}` : "";
  if (d.has("empty")) timed("empty", () => renderEmpty());
  if (d.has("alerts")) timed("alerts", () => renderAlerts());
  if (d.has("ctx")) timed("ctx", () => renderContext());
  if (d.has("resp")) timed("resp", () => renderResponse());
  if (d.has("models")) timed("models", () => renderModels());
  if (d.has("spend")) timed("spend", () => renderSpend());
  if (d.has("budgets")) timed("budgets", () => renderBudgets());
  if (d.has("routing")) timed("routing", () => renderRouting());
  if (d.has("table")) timed("table", () => renderTable());
  const ms = performance.now() - t0;
  perf.renders++;
  perf.totalMs += ms;
  perf.maxMs = Math.max(perf.maxMs, ms);
  document.body.dataset.rendered = String(perf.renders);
}

const CONN_TEXT = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", offline: "offline, retrying" };
function renderConn() {
  $("conn").dataset.state = state.conn;
  $("conn-text").textContent = CONN_TEXT[state.conn] || state.conn;
}

function setUsd(id, value) {
  const e = $(id);
  e.dataset.usd = value == null ? "" : String(value);
  e.textContent = value == null ? "–" : fmtUsd(value);
}

function renderTotals() {
  const t = state.totals;
  if (!t) return;
  setUsd("today", t.todayUsd);
  setUsd("week", t.weekUsd);
  setUsd("month", t.monthUsd);
  $("requests-count").textContent = String(t.requests ?? 0) + (t.unpricedRequests ? ` (${t.unpricedRequests} unpriced)` : "");
  $("session").textContent = t.session ? `${fmtUsd(t.session.usd)} · ${t.session.requests} req` : "–";
}

function renderSaved() {
  const e = $("saved");
  e.dataset.usd = usdString(store.savingsP);
  e.textContent = store.reroutes.length ? fmtUsd(store.savingsP) : "–";
}

function renderEmpty() {
  const empty = store.records.length === 0;
  $("empty").hidden = !empty;
  $("ctx-treemap").hidden = empty;
  $("ctx-legend").hidden = empty;
  document.body.dataset.empty = String(empty);
  $("empty-env").textContent = `ANTHROPIC_BASE_URL=${location.origin}\nOPENAI_BASE_URL=${location.origin}/v1`;
}

function renderAlerts() {
  const box = $("alerts");
  box.replaceChildren();
  for (const a of state.alerts) {
    const div = h("div", `alert ${a.level === "error" || a.pressure >= 1 ? "error" : ""}`);
    div.setAttribute("role", "alert");
    const t = h("time", "", clock(a.at));
    const msg = h("span", "msg", a.message || `${a.budget} budget at ${Math.round((a.pressure || 0) * 100)}%`);
    const x = h("button", "", "×");
    x.setAttribute("aria-label", "dismiss");
    x.addEventListener("click", () => {
      state.alerts = state.alerts.filter((b) => b !== a);
      invalidate("alerts");
    });
    div.append(t, msg, x);
    box.append(div);
  }
}

/** Draw `items` ({key, value, cls, name, label, title}) as blocks in `box`, reusing nodes by key. */
function drawBlocks(box, items, layout) {
  const { w, h: height } = sizeOf(box);
  const rect = { x: 0, y: 0, w, h: height };
  const rects = layout ? layout(rect) : squarify(items, rect);
  const old = new Map([...box.querySelectorAll(":scope > .block")].map((b) => [b.dataset.key, b]));
  for (const r of rects) {
    const it = r.item;
    let b = old.get(it.key);
    if (b) old.delete(it.key);
    else {
      b = h("div", "");
      b.append(h("div", "name"), h("div", "val"));
      box.append(b);
    }
    b.className = `block ${it.cls}${r.w < 46 || r.h < 30 ? " tiny" : ""}`;
    b.dataset.key = it.key;
    b.dataset.value = String(it.value);
    if (it.tokens !== undefined) b.dataset.tokens = String(it.tokens);
    b.title = it.title;
    b.style.left = `${r.x}px`;
    b.style.top = `${r.y}px`;
    b.style.width = `${r.w}px`;
    b.style.height = `${r.h}px`;
    b.firstChild.textContent = it.name;
    b.lastChild.textContent = it.label;
  }
  for (const b of old.values()) b.remove();
  return rects;
}

function legend(ul, items, total) {
  ul.replaceChildren();
  for (const it of items) {
    const li = h("li");
    li.dataset.key = it.key;
    const sw = h("span", `sw ${it.cls}`);
    li.append(sw, h("span", "", `${it.name} ${fmtTokens(it.value)} (${total ? ((100 * it.value) / total).toFixed(1) : 0}%)`));
    ul.append(li);
  }
}

function renderContext() {
  const r = selected();
  const box = $("ctx-treemap");
  const follow = $("follow");
  follow.setAttribute("aria-pressed", String(!state.selectedId));
  follow.textContent = state.selectedId ? "follow latest" : "following latest";
  markSelectedRow();
  if (!r) {
    box.replaceChildren();
    $("ctx-legend").replaceChildren();
    $("ctx-caption").textContent = "";
    return;
  }
  const c = r.composition;
  const when = clock(r.tsMs || r.ts);
  if (!c) {
    box.replaceChildren(h("p", "empty", "This request carried no context to break down (not a metered message endpoint)."));
    $("ctx-legend").replaceChildren();
    $("ctx-caption").textContent = `${modelOf(r)} · ${when}`;
    return;
  }
  box.querySelector(":scope > p")?.remove();
  const total = CATEGORIES.reduce((s, k) => s + (c[k.key] || 0), 0);
  const items = CATEGORIES.map((k) => ({
    key: k.key,
    value: c[k.key] || 0,
    tokens: c[k.key] || 0,
    cls: `cat-${k.key}`,
    name: k.label,
    label: `${fmtTokens(c[k.key] || 0)} · ${total ? ((100 * (c[k.key] || 0)) / total).toFixed(1) : 0}%`,
    title: `${k.label}: ${num.format(c[k.key] || 0)} tokens`,
  }));
  drawBlocks(box, items);
  box.dataset.total = String(total);
  box.dataset.request = r.id;
  legend($("ctx-legend"), items, total);
  $("ctx-caption").textContent = `${num.format(total)} tokens · ${modelOf(r)} · ${when}`;
}

function renderResponse() {
  const r = selected();
  const box = $("resp-treemap");
  const stats = $("resp-stats");
  if (!r) {
    box.replaceChildren();
    stats.replaceChildren();
    $("resp-caption").textContent = "";
    return;
  }
  const k = tokenKinds(r);
  const items = TOKEN_KINDS.map((t) => ({
    key: t.key,
    value: k[t.key],
    tokens: k[t.key],
    cls: `kind-${t.key}`,
    name: t.label,
    label: fmtTokens(k[t.key]),
    title: `${t.label}: ${num.format(k[t.key])} tokens`,
  }));
  drawBlocks(box, items);
  box.dataset.request = r.id;
  $("resp-caption").textContent = `${r.provider} · ${clock(r.tsMs || r.ts)}`;
  const served = modelOf(r);
  const rows = [
    ["Model", r.modelRequested && r.modelRequested !== served ? `${served} (asked ${r.modelRequested})` : served],
    ["Cost", costText(r)],
    ["Latency", fmtMs(r.latencyMs)],
    ["First token", r.ttftMs == null ? "–" : fmtMs(r.ttftMs)],
    ["Input", fmtTokens(k.input)],
    ["Cached", `${fmtTokens(k.cacheRead)} read · ${fmtTokens(k.cacheWrite)} written`],
    ["Output", fmtTokens(k.output + k.reasoning) + (k.reasoning ? ` (${fmtTokens(k.reasoning)} reasoning)` : "")],
    ["Status", r.incomplete ? `${r.status} cut` : String(r.status)],
  ];
  stats.replaceChildren();
  for (const [dt, dd] of rows) {
    const d = h("dd", "", dd);
    d.dataset.stat = dt.toLowerCase().replace(/\s+/g, "-");
    if (dt === "Cost") d.dataset.usd = r.costUsd ?? "";
    const pair = h("div");
    pair.append(h("dt", "", dt), d);
    stats.append(pair);
  }
}

function renderModels() {
  const box = $("model-treemap");
  const byModel = state.totals?.byModel || {};
  // provider of each model, from the requests seen
  const providerOf = new Map();
  for (const a of store.byModel.values()) providerOf.set(a.key, a.provider);
  const groups = new Map();
  for (const [model, usd] of Object.entries(byModel)) {
    const p = providerOf.get(model) || "other";
    if (!groups.has(p)) groups.set(p, { name: p, key: p, children: [] });
    const v = usdNumber(parseUsd(usd));
    groups.get(p).children.push({
      key: `${p}/${model}`,
      value: v,
      cls: `prov-${providerIndex(p)}`,
      name: model,
      label: `${p} · ${fmtUsd(usd)}`,
      title: `${p} · ${model}: ${fmtUsd(usd)} today`,
    });
  }
  const list = [...groups.values()];
  let out = { groups: [] };
  drawBlocks(box, [], (rect) => {
    out = nested(list, rect, 0);
    return out.leaves;
  });
  box.querySelectorAll(".group-outline").forEach((e) => e.remove());
  for (const g of out.groups) {
    const o = h("div", "group-outline");
    o.dataset.provider = g.item.name;
    o.style.left = `${g.x}px`;
    o.style.top = `${g.y}px`;
    o.style.width = `${g.w}px`;
    o.style.height = `${g.h}px`;
    box.append(o);
  }
  if (!out.groups.length) box.replaceChildren(h("p", "empty", "No priced spend today yet."));
  else box.querySelector(":scope > p")?.remove();

  const tbody = $("model-table").tBodies[0];
  tbody.replaceChildren();
  const byCost = (a, b) => (b.costP > a.costP ? 1 : b.costP < a.costP ? -1 : 0);
  const line = (a, label, cls) => {
    const tr = h("tr", cls);
    const t = a.tokens;
    for (const [v, c] of [
      [label, ""],
      [String(a.requests), "num"],
      [fmtTokens(t.input + t.cacheWrite), "num"],
      [fmtTokens(t.cacheRead), "num hide-narrow"],
      [fmtTokens(t.output + t.reasoning), "num"],
      [fmtUsd(a.costP), "num"],
      [fmtMs(a.latencySum / a.requests), "num hide-narrow"],
    ]) {
      tr.append(h("td", c, v));
    }
    tr.firstChild.title = label;
    tbody.append(tr);
    return tr;
  };
  // per provider, then its models
  const models = [...store.byModel.values()].sort(byCost);
  for (const p of [...store.byProvider.values()].sort(byCost)) {
    line(p, p.key, "prov-row").dataset.provider = p.key;
    for (const m of models.filter((m) => m.provider === p.key).slice(0, 8)) {
      line(m, m.key, "model-row").dataset.model = m.key;
    }
  }
}

function budgetsFor(windowName) {
  return (state.summary?.budgets || []).filter((b) => (b.window || "").startsWith(windowName));
}

function renderSpend() {
  const t = state.totals;
  if (!t) return;
  const now = Date.now();
  const w = windowStarts(now);
  // the server's windows (its offset and week start) when a budget tells them
  for (const [win, from, to] of [["day", "day", "nextDay"], ["week", "week", "nextWeek"]]) {
    const b = budgetsFor(win).find((b) => b.windowStart && b.resetsAt);
    if (b) {
      w[from] = Date.parse(b.windowStart);
      w[to] = Date.parse(b.resetsAt);
    }
  }
  const pad = (n) => String(n).padStart(2, "0");
  const draw = (svg, start, end, total, windowName, ticks) => {
    const points = spendSeries(store.records, start, now, total);
    const spent = usdNumber(parseUsd(total));
    const limits = budgetsFor(windowName).map((b) => ({ name: b.name, usd: usdNumber(parseUsd(b.limitUsd)) }));
    let forecast = null;
    const global = budgetsFor(windowName).find((b) => b.scope === "global" && b.forecastExhaustedAt);
    if (global) {
      forecast = [
        [now, spent],
        [Date.parse(global.forecastExhaustedAt), usdNumber(parseUsd(global.limitUsd))],
      ];
    } else if (spent > 0) {
      forecast = [
        [now, spent],
        [end, linearForecast(spent, start, now, end)],
      ];
    }
    svg.dataset.usd = String(total);
    drawSpend(svg, { start, end, now, points, limits, forecast, ticks, size: sizeOf(svg) });
  };
  const dayTicks = [];
  for (let hr = 0; hr < 24; hr += 3) dayTicks.push([w.day + hr * 3600e3, `${pad(hr % 24)}:00`]);
  const weekTicks = [];
  for (let i = 0; i < 7; i++) {
    const d = new Date(w.week);
    d.setDate(d.getDate() + i);
    weekTicks.push([d.getTime() + 12 * 3600e3, weekday.format(d)]);
  }
  draw($("spend-day"), w.day, w.nextDay, t.todayUsd, "day", dayTicks);
  draw($("spend-week"), w.week, w.nextWeek, t.weekUsd, "week", weekTicks);
}

function renderBudgets() {
  const box = $("budgets");
  const list = state.summary?.budgets || [];
  box.replaceChildren();
  if (!list.length) {
    const p = h("p", "empty");
    p.append("No budgets configured. Add one to your config, e.g. ");
    p.append(h("code", "", "[budgets.weekly] window = \"week\", usd = 50"));
    box.append(p);
    return;
  }
  for (const b of list) box.append(gauge(b, fmtUsd));
}

function renderRouting() {
  const ol = $("reroutes");
  ol.replaceChildren();
  $("routing-caption").textContent = store.reroutes.length
    ? `${store.reroutes.length} rerouted · saved ${fmtUsd(store.savingsP)} vs. the models asked for`
    : "";
  for (const n of state.routeNotes.slice(0, 5)) {
    const li = h("li", "note");
    li.append(h("span", "muted", clock(n.at) + " "), h("span", "", `${n.modelRequested || "?"} kept: ${n.note}`));
    ol.append(li);
  }
  if (!store.reroutes.length) {
    ol.append(h("li", "muted", "No request rerouted yet. Budget pressure and task rules ([routing]) reroute here."));
    return;
  }
  for (const rr of store.reroutes.slice(0, 60)) {
    const li = h("li");
    li.dataset.id = rr.id;
    li.append(
      h("span", "muted", clock(rr.tsMs || rr.ts) + " "),
      h("span", "rr", `${rr.from} → ${rr.to}`),
      h("span", "", ` · ${rr.rule} · `),
      h("span", "save", rr.savedP > 0n ? `saved ${fmtUsd(rr.savedP)}` : "saved –"),
    );
    ol.append(li);
  }
}

function row(r) {
  const tr = h("tr");
  tr.dataset.id = r.id;
  const k = tokenKinds(r);
  const served = modelOf(r);
  const model = h("td", "model-cell");
  if (r.reroute) {
    model.append(h("span", "rr", "↪ "), `${served}`);
    model.title = `asked ${r.reroute.from}, rerouted by ${r.reroute.rule}`;
  } else {
    model.textContent = served;
    model.title = served;
  }
  const status = h("td", r.status >= 400 || r.incomplete ? "bad" : "", r.incomplete ? `${r.status} cut` : String(r.status));
  const cost = h("td", "num", r.flatRate ? "flat rate" : costText(r));
  if (r.flatRate) cost.title = costText(r);
  cost.dataset.usd = r.costUsd ?? "";
  tr.append(
    h("td", "", clock(r.tsMs || r.ts)),
    h("td", "hide-narrow", r.provider),
    model,
    h("td", "num", fmtTokens(k.input + k.cacheWrite)),
    h("td", "num hide-narrow", fmtTokens(k.cacheRead)),
    h("td", "num", fmtTokens(k.output + k.reasoning)),
    cost,
    h("td", "num hide-narrow", fmtMs(r.latencyMs)),
    status,
  );
  return tr;
}

function renderTable() {
  const tbody = $("recent").tBodies[0];
  if (state.tableReset) {
    state.tableReset = false;
    state.pendingRows = [];
    tbody.replaceChildren(...store.records.slice(0, TABLE_ROWS).map(row));
  } else if (state.pendingRows.length) {
    // newest first; only the ones that would be visible
    const fresh = state.pendingRows.slice(-TABLE_ROWS).reverse();
    state.pendingRows = [];
    const frag = document.createDocumentFragment();
    for (const r of fresh) {
      const tr = row(r);
      tr.classList.add("new");
      frag.append(tr);
    }
    tbody.prepend(frag);
    while (tbody.rows.length > TABLE_ROWS) tbody.lastElementChild.remove();
  }
  $("recent-caption").textContent = store.records.length
    ? `latest ${Math.min(TABLE_ROWS, store.records.length)} of ${store.records.length} loaded · click a row to inspect it`
    : "";
  markSelectedRow();
}

function markSelectedRow() {
  const id = selected()?.id;
  for (const tr of $("recent").tBodies[0].querySelectorAll("tr[aria-selected=true]")) tr.setAttribute("aria-selected", "false");
  if (!id) return;
  const tr = $("recent").tBodies[0].querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  if (tr) tr.setAttribute("aria-selected", "true");
}

// ---------- interaction ----------

$("recent").tBodies[0].addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-id]");
  if (!tr) return;
  state.selectedId = tr.dataset.id;
  invalidate("ctx", "resp");
});
$("follow").addEventListener("click", () => {
  state.selectedId = null;
  invalidate("ctx", "resp");
});

// Sizes come from the observer, so rendering never forces a synchronous layout.
const ro = new ResizeObserver((entries) => {
  for (const e of entries) sizes.set(e.target.id, { w: e.contentRect.width, h: e.contentRect.height });
  invalidate("ctx", "resp", "models", "spend");
});
for (const id of ["ctx-treemap", "resp-treemap", "model-treemap", "spend-day", "spend-week"]) ro.observe($(id));
// the "now" line and the forecast move with the clock
setInterval(() => invalidate("spend"), 30000);

invalidate("empty", "conn");
connect();
