// The dashboard's data model (server/proxy/assets/dashboard/model.js): money, bounded history,
// aggregates, savings, spend series.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Store, fmtUsd, parseUsd, spendSeries, tokenKinds, usdString, windowStarts } from "../../server/proxy/assets/dashboard/model.js";

test("money is exact decimal arithmetic", () => {
  const sum = ["0.1", "0.2", "0.0000012345", "12", "-0.3"].map(parseUsd).reduce((a, b) => a + b, 0n);
  assert.equal(usdString(sum), "12.0000012345");
  assert.equal(usdString(parseUsd("0.000000000001")), "0.000000000001");
  assert.equal(parseUsd(null), 0n);
  assert.equal(parseUsd("abc"), 0n);
  assert.equal(fmtUsd("1.234"), "$1.23");
  assert.equal(fmtUsd("0.0123"), "$0.012");
  assert.equal(fmtUsd("0.00042"), "$0.00042");
  assert.equal(fmtUsd("0"), "$0.00");
});

function rec(i, extra = {}) {
  return {
    id: `r${i}`,
    tsMs: 1_000_000 + i * 1000,
    ts: new Date(1_000_000 + i * 1000).toISOString(),
    provider: i % 2 ? "openai" : "anthropic",
    modelServed: i % 2 ? "gpt-5-mini" : "claude-sonnet-4-5",
    usage: { input: 10, cacheRead: 100, cacheWrite5m: 1, cacheWrite1h: 2, output: 30, reasoning: 5 },
    costUsd: "0.01",
    costKnown: true,
    latencyMs: 100,
    ...extra,
  };
}

test("the history is bounded and newest first; aggregates count everything seen", () => {
  const s = new Store(100);
  for (let i = 0; i < 1000; i++) s.add(rec(i));
  assert.equal(s.records.length, 100);
  assert.equal(s.records[0].id, "r999");
  assert.equal(s.records[99].id, "r900");
  assert.equal(s.seen, 1000);
  assert.equal(s.byModel.get("claude-sonnet-4-5").requests, 500);
  assert.equal(usdString(s.byProvider.get("openai").costP), "5");
  assert.equal(s.add(rec(999)), false, "duplicates are ignored");
  // an older record arriving late goes in its place
  const t = new Store(10);
  t.add(rec(5));
  t.add(rec(7));
  t.add(rec(6));
  assert.deepEqual(t.records.map((r) => r.id), ["r7", "r6", "r5"]);
});

test("token kinds split reasoning out of output and sum cache writes", () => {
  assert.deepEqual(tokenKinds(rec(1)), { input: 10, cacheRead: 100, cacheWrite: 3, output: 25, reasoning: 5 });
});

test("savings: counterfactual minus actual, summed exactly", () => {
  const s = new Store();
  s.add(rec(1, { costUsd: "0.003", modelRequested: "claude-opus-4-1", reroute: { from: "claude-opus-4-1", rule: "pressure", counterfactualCostUsd: "0.015" } }));
  s.add(rec(2, { costUsd: "0.001", reroute: { from: "x", rule: "task", counterfactualCostUsd: null } }));
  assert.equal(usdString(s.savingsP), "0.012");
  assert.equal(s.reroutes.length, 2);
  assert.equal(s.reroutes[1].from, "claude-opus-4-1");
});

test("the spend series ends at the server's total, counting what was spent before the loaded records", () => {
  const records = [rec(1), rec(2), rec(3)];
  const pts = spendSeries(records, 0, 2_000_000, "1.03");
  assert.deepEqual(pts[0], [0, 0]);
  assert.equal(pts[1][1], 1.0); // spent before the first loaded record
  assert.equal(pts.at(-1)[1], 1.03);
  assert.ok(pts.every((p, i) => i === 0 || p[0] >= pts[i - 1][0] && p[1] >= pts[i - 1][1]), "ascending");
});

test("flat-rate requests cost nothing in spend, savings and the series", () => {
  const s = new Store();
  const local = rec(1, { provider: "local", flatRate: true, costUsd: "0.40", reroute: { from: "gpt-5", rule: "task:cron", counterfactualCostUsd: "0.50" } });
  s.add(local);
  s.add(rec(2, { costUsd: "0.02" }));
  assert.equal(usdString(s.byProvider.get("local").costP), "0");
  assert.equal(usdString(s.savingsP), "0.5", "the reroute saved everything it would have cost");
  const pts = spendSeries([rec(2, { costUsd: "0.02" }), local], 0, 2_000_000, "0.02");
  assert.equal(pts.at(-1)[1], 0.02);
  assert.ok(pts.every((p) => p[1] <= 0.02 + 1e-12), "the flat-rate request adds nothing");
});

test("windows start at local midnight and on Monday", () => {
  const now = new Date(2026, 11, 3, 17, 30).getTime(); // Thursday
  const w = windowStarts(now);
  assert.equal(w.day, new Date(2026, 11, 3).getTime());
  assert.equal(w.nextDay, new Date(2026, 11, 4).getTime());
  assert.equal(w.week, new Date(2026, 10, 30).getTime());
  assert.equal(new Date(w.week).getDay(), 1);
  assert.equal(w.nextWeek, new Date(2026, 11, 7).getTime());
});
