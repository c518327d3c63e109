// The dashboard's data, without the DOM: bounded request history, aggregates per model and
// provider, routing savings, spend series. Money arrives as decimal strings and is summed as
// BigInt pico-dollars (never as binary floats); floats are only used for pixels.

export const MAX_RECORDS = 5000;
const SCALE = 10n ** 12n;

/** A decimal string ("0.0123", "-1.5", "12") as pico-dollars; null/garbage is 0. */
export function parseUsd(s) {
  if (s === null || s === undefined) return 0n;
  const m = /^\s*(-)?(\d*)(?:\.(\d*))?\s*$/.exec(String(s));
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return 0n;
  const frac = (m[3] ?? "").padEnd(12, "0").slice(0, 12);
  const v = BigInt(m[2] || "0") * SCALE + BigInt(frac || "0");
  return m[1] ? -v : v;
}

/** Pico-dollars as a plain decimal string without trailing zeros ("0.0123"). */
export function usdString(p) {
  const neg = p < 0n;
  const a = neg ? -p : p;
  const int = a / SCALE;
  let frac = (a % SCALE).toString().padStart(12, "0").replace(/0+$/, "");
  return (neg ? "-" : "") + int.toString() + (frac ? "." + frac : "");
}

/** Pico-dollars to a number of dollars (for drawing only). */
export function usdNumber(p) {
  return Number(p) / 1e12;
}

/** "$1.23", "$0.0042", "$0.00": cents from a dollar up, four significant digits below. */
export function fmtUsd(p) {
  const n = usdNumber(typeof p === "bigint" ? p : parseUsd(p));
  const a = Math.abs(n);
  if (a === 0) return "$0.00";
  if (a >= 1000) return (n < 0 ? "-$" : "$") + a.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (a >= 1) return (n < 0 ? "-$" : "$") + a.toFixed(2);
  if (a >= 0.01) return (n < 0 ? "-$" : "$") + a.toFixed(3);
  return (n < 0 ? "-$" : "$") + a.toPrecision(2);
}

export function fmtTokens(n) {
  if (!Number.isFinite(n)) return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
  if (n >= 1e4) return Math.round(n / 1e3) + "k";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return "–";
  return ms >= 10000 ? (ms / 1000).toFixed(0) + " s" : ms >= 1000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms) + " ms";
}

/** The context-window categories, in display order. */
export const CATEGORIES = [
  { key: "system", label: "System prompt" },
  { key: "tools", label: "Tool definitions" },
  { key: "history", label: "History" },
  { key: "toolResults", label: "Tool results" },
  { key: "currentTurn", label: "Current turn" },
];

/** The token kinds of a response. */
export const TOKEN_KINDS = [
  { key: "input", label: "Input" },
  { key: "cacheRead", label: "Cache read" },
  { key: "cacheWrite", label: "Cache write" },
  { key: "output", label: "Output" },
  { key: "reasoning", label: "Reasoning" },
];

export function modelOf(r) {
  return r.modelServed || r.modelRequested || "unknown";
}

/** A response's tokens by kind (reasoning is part of output on every wire: shown apart). */
export function tokenKinds(r) {
  const u = r.usage || {};
  const reasoning = u.reasoning || 0;
  return {
    input: u.input || 0,
    cacheRead: u.cacheRead || 0,
    cacheWrite: (u.cacheWrite5m || 0) + (u.cacheWrite1h || 0),
    output: Math.max(0, (u.output || 0) - reasoning),
    reasoning,
  };
}

export function totalTokens(r) {
  const k = tokenKinds(r);
  return k.input + k.cacheRead + k.cacheWrite + k.output + k.reasoning;
}

/**
 * What a request cost the user, pico-dollars: its price, or nothing on a flat-rate upstream
 * (whose `costUsd` is the API-equivalent price). Every spend total sums this.
 */
export function spendOf(r) {
  return r.flatRate ? 0n : parseUsd(r.costUsd);
}

/** Dollars saved by a reroute (counterfactual minus actual), pico-dollars; 0 when unknown. */
export function savingOf(r) {
  if (!r.reroute || r.reroute.counterfactualCostUsd == null) return 0n;
  if (r.costUsd == null && !r.flatRate) return 0n;
  return parseUsd(r.reroute.counterfactualCostUsd) - spendOf(r);
}

function emptyAgg(key, provider) {
  return { key, provider, requests: 0, costP: 0n, latencySum: 0, tokens: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 } };
}

/**
 * The dashboard's state. `records` is newest first and bounded; aggregates cover every record
 * seen since the last reset (not only the bounded list), so they stay O(models) in memory.
 */
export class Store {
  constructor(max = MAX_RECORDS) {
    this.max = max;
    this.reset();
  }

  reset() {
    this.records = [];
    this.ids = new Set();
    this.byModel = new Map();
    this.byProvider = new Map();
    this.reroutes = [];
    this.savingsP = 0n;
    this.seen = 0;
  }

  /** Add a record (ignores one already seen); returns true when it was new. */
  add(r) {
    if (!r || !r.id || this.ids.has(r.id)) return false;
    this.ids.add(r.id);
    this.seen++;
    // keep newest first, also when a re-fetch delivers older records after newer ones
    if (this.records.length === 0 || (r.tsMs ?? 0) >= (this.records[0].tsMs ?? 0)) {
      this.records.unshift(r);
    } else {
      let i = this.records.findIndex((x) => (x.tsMs ?? 0) <= (r.tsMs ?? 0));
      if (i < 0) i = this.records.length;
      this.records.splice(i, 0, r);
    }
    while (this.records.length > this.max) {
      const old = this.records.pop();
      this.ids.delete(old.id);
    }
    const model = modelOf(r);
    const cost = spendOf(r);
    const k = tokenKinds(r);
    for (const [map, key] of [
      [this.byModel, model],
      [this.byProvider, r.provider || "unknown"],
    ]) {
      let a = map.get(key);
      if (!a) map.set(key, (a = emptyAgg(key, r.provider || "unknown")));
      a.requests++;
      a.costP += cost;
      a.latencySum += r.latencyMs || 0;
      for (const kind of Object.keys(a.tokens)) a.tokens[kind] += k[kind];
    }
    if (r.reroute) {
      const saved = savingOf(r);
      this.savingsP += saved;
      this.reroutes.unshift({ id: r.id, ts: r.ts, tsMs: r.tsMs, from: r.reroute.from, to: modelOf(r), rule: r.reroute.rule, provider: r.provider, savedP: saved, costP: cost });
      if (this.reroutes.length > 200) this.reroutes.pop();
    }
    return true;
  }

  get(id) {
    return this.records.find((r) => r.id === id) || null;
  }
}

/**
 * Cumulative spend over a window, for the chart: the points `[ms, usd]` of the records
 * inside `[start, now]`, offset so that the line ends at `totalUsd` (the server's total for
 * the window: records before the earliest loaded one are in it, not in `records`).
 */
export function spendSeries(records, start, now, totalUsd) {
  // `records` is newest first (Store order): walk it backwards, oldest first. The points are
  // for drawing (floats); the line ends exactly at the server's decimal total.
  const inside = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (r.tsMs >= start && r.tsMs <= now) inside.push(r);
  }
  if (inside.some((r, i) => i > 0 && r.tsMs < inside[i - 1].tsMs)) inside.sort((a, b) => a.tsMs - b.tsMs);
  const total = usdNumber(parseUsd(totalUsd));
  let loaded = 0;
  for (const r of inside) loaded += usdNumber(spendOf(r));
  let acc = Math.max(0, total - loaded);
  const firstT = inside.length ? inside[0].tsMs : now;
  const points = [[start, 0]];
  if (acc > 1e-12) points.push([firstT, acc]);
  for (const r of inside) {
    acc += usdNumber(spendOf(r));
    points.push([r.tsMs, acc]);
  }
  points.push([now, total]);
  return points;
}

/** Local midnight and Monday 00:00 (weeks start on Monday, as `[budgets] week_starts`). */
export function windowStarts(nowMs, weekStartsOn = 1) {
  const d = new Date(nowMs);
  const day = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const back = (d.getDay() - weekStartsOn + 7) % 7;
  const wk = new Date(d.getFullYear(), d.getMonth(), d.getDate() - back);
  const nextDay = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  const nextWeek = new Date(wk.getFullYear(), wk.getMonth(), wk.getDate() + 7).getTime();
  return { day, nextDay, week: wk.getTime(), nextWeek };
}

/** The straight-line forecast of a window's spend at its end, at the rate so far. */
export function linearForecast(spent, start, now, end) {
  const elapsed = now - start;
  if (elapsed <= 0) return spent;
  return (spent * (end - start)) / elapsed;
}
