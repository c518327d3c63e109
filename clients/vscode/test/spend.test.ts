import { strict as assert } from "node:assert";
import { test } from "node:test";
import { type Spend, formatUsd, lastResponseLine, statusView } from "../src/spend";

const connected: Spend = {
  connected: true,
  proxyUrl: "http://127.0.0.1:4747",
  todayUsd: "1.234",
  weekUsd: "4.56",
  budget: { name: "weekly", limitUsd: "50", spentUsd: "43", pressure: 0.86, level: "warning" },
  session: { id: "abc", usd: "0.5", requests: 12 },
  last: {
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    requestedModel: "claude-opus-4-8",
    inputTokens: 10,
    cachedTokens: 2000,
    outputTokens: 300,
    costUsd: "0.0123",
    latencyMs: 812.4,
    reroutedFrom: "claude-opus-4-8",
  },
  byProvider: { openai: "0.23", anthropic: "1.0" },
  alert: null,
};

test("before any notification the item shows no numbers", () => {
  const v = statusView(undefined);
  assert.equal(v.text, "$(pulse) promptmeter");
  assert.match(v.tooltip, /no spend/);
  assert.equal(v.background, undefined);
});

test("no proxy is said honestly, with no numbers", () => {
  const v = statusView({ connected: false, proxyUrl: "http://127.0.0.1:4747" });
  assert.equal(v.text, "$(debug-disconnect) promptmeter: no proxy");
  assert.match(v.tooltip, /no proxy at http:\/\/127\.0\.0\.1:4747/);
  assert.doesNotMatch(v.text, /\$\d/);
  assert.equal(v.background, undefined);
});

test("connected: today's spend and budget share, warning colour at 85%", () => {
  const v = statusView(connected);
  assert.equal(v.text, "$(pulse) $1.23 today · 86% weekly");
  assert.equal(v.background, "statusBarItem.warningBackground");
});

test("colour follows the budget level", () => {
  const at = (level: "ok" | "warning" | "error") =>
    statusView({ ...connected, budget: { ...connected.budget!, level } }).background;
  assert.equal(at("ok"), undefined);
  assert.equal(at("warning"), "statusBarItem.warningBackground");
  assert.equal(at("error"), "statusBarItem.errorBackground");
  assert.equal(statusView({ ...connected, budget: null }).background, undefined);
});

test("without a budget the text is today's spend alone", () => {
  assert.equal(statusView({ ...connected, budget: null }).text, "$(pulse) $1.23 today");
});

test("tooltip has the last response and providers, largest first", () => {
  const t = statusView(connected).tooltip;
  assert.match(t, /\*\*Last response:\*\* anthropic claude-sonnet-4-5 \(rerouted from claude-opus-4-8\): 10 in, 2\.0k cached, 300 out, \$0\.012, 812 ms/);
  assert.ok(t.indexOf("| anthropic | $1.00 |") < t.indexOf("| openai | $0.23 |"));
  assert.match(t, /\| weekly budget \| \$43\.00 of \$50\.00 \(86%\) \|/);
  assert.match(t, /\| this session \| \$0\.50 \(12 requests\) \|/);
});

test("tooltip before the first response", () => {
  const t = statusView({ ...connected, last: null, byProvider: {} }).tooltip;
  assert.match(t, /No response through the proxy yet/);
  assert.doesNotMatch(t, /\| provider \|/);
});

test("an alert shows in the tooltip", () => {
  const t = statusView({ ...connected, alert: { message: "Weekly budget at 86%" } }).tooltip;
  assert.match(t, /\$\(warning\) Weekly budget at 86%/);
});

test("budget share rounds down, like the server's alert messages", () => {
  const text = (pressure: number) => statusView({ ...connected, budget: { ...connected.budget!, pressure } }).text;
  assert.equal(text(0.945), "$(pulse) $1.23 today · 94% weekly");
  assert.equal(text(0.999), "$(pulse) $1.23 today · 99% weekly");
  assert.equal(text(1), "$(pulse) $1.23 today · 100% weekly");
  assert.match(statusView({ ...connected, session: { id: "s", usd: "0.1", requests: 1 } }).tooltip, /\(1 request\)/);
});

test("formatUsd", () => {
  assert.equal(formatUsd("0"), "$0.00");
  assert.equal(formatUsd("12.345"), "$12.35");
  assert.equal(formatUsd("0.0123"), "$0.012");
  assert.equal(formatUsd("0.000042"), "$0.000042");
  assert.equal(formatUsd(null), "?");
  assert.equal(formatUsd("nope"), "?");
});

test("a flat-rate response says so", () => {
  assert.match(lastResponseLine({ ...connected.last!, costUsd: "0", flatRate: true, reroutedFrom: null }), /300 out, \$0\.00 \(flat rate\), 812 ms$/);
});

test("an unpriced response says so", () => {
  assert.match(lastResponseLine({ ...connected.last!, costUsd: null, reroutedFrom: null }), /300 out, \?, 812 ms$/);
});
