// What the status bar shows for a `promptmeter/spend` notification (docs/protocol.md).
// Pure: no `vscode` import, so the unit tests run in plain Node.

export type Level = "ok" | "warning" | "error";

export interface SpendBudget {
  name: string;
  limitUsd: string;
  spentUsd: string;
  pressure: number;
  level: Level;
}

export interface SpendLast {
  provider: string;
  model: string;
  requestedModel?: string | null;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: string | null;
  latencyMs: number;
  reroutedFrom?: string | null;
  /** Served by a flat-rate upstream: `costUsd` is "0". */
  flatRate?: boolean;
}

export interface SpendAlert {
  budget?: string;
  threshold?: number;
  pressure?: number;
  message: string;
}

export interface Spend {
  connected: boolean;
  proxyUrl?: string;
  todayUsd?: string;
  weekUsd?: string;
  budget?: SpendBudget | null;
  session?: { id: string; usd: string; requests: number } | null;
  last?: SpendLast | null;
  byProvider?: Record<string, string>;
  alert?: SpendAlert | null;
}

/** Theme colour ids of the status bar item's background, by budget level. */
export type Background = "statusBarItem.warningBackground" | "statusBarItem.errorBackground";

export interface StatusView {
  /** Status bar text; `$(name)` are codicons. */
  text: string;
  /** Markdown for the tooltip. */
  tooltip: string;
  background: Background | undefined;
}

/** A decimal string as dollars for display; tiny amounts keep their significant digits. */
export function formatUsd(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") {
    return "?";
  }
  const n = Number(value);
  if (!Number.isFinite(n)) {
    return "?";
  }
  if (n !== 0 && Math.abs(n) < 0.1) {
    return `$${Number(n.toPrecision(2)).toString()}`;
  }
  return `$${n.toFixed(2)}`;
}

/** Budget share, rounded down (as the server's alert messages do): 100% means used up. */
export function formatPercent(pressure: number): string {
  return `${Math.floor(pressure * 100 + 1e-9)}%`;
}

export function formatTokens(n: number): string {
  if (n >= 1_000_000) {
    return `${(n / 1_000_000).toFixed(1)}M`;
  }
  if (n >= 10_000) {
    return `${Math.round(n / 1000)}k`;
  }
  if (n >= 1000) {
    return `${(n / 1000).toFixed(1)}k`;
  }
  return String(n);
}

export function backgroundFor(level: Level | undefined): Background | undefined {
  switch (level) {
    case "warning":
      return "statusBarItem.warningBackground";
    case "error":
      return "statusBarItem.errorBackground";
    default:
      return undefined;
  }
}

/** The status bar for a spend state; `undefined` means no notification has arrived yet. */
export function statusView(spend: Spend | undefined): StatusView {
  if (spend === undefined) {
    return {
      text: "$(pulse) promptmeter",
      tooltip: "promptmeter: no spend from the language server yet",
      background: undefined,
    };
  }
  if (!spend.connected) {
    const where = spend.proxyUrl ? ` at ${spend.proxyUrl}` : "";
    return {
      text: "$(debug-disconnect) promptmeter: no proxy",
      tooltip:
        `**promptmeter: no proxy${where}.**\n\n` +
        "Spend appears here once `promptmeter proxy` runs and your agent's base URL points at it " +
        "(for Claude Code: `ANTHROPIC_BASE_URL=http://127.0.0.1:4747`).\n\n" +
        "Token counts in prompt files work without it.",
      background: undefined,
    };
  }
  let text = `$(pulse) ${formatUsd(spend.todayUsd ?? "0")} today`;
  if (spend.budget) {
    text += ` · ${formatPercent(spend.budget.pressure)} ${spend.budget.name}`;
  }
  return { text, tooltip: tooltipMarkdown(spend), background: backgroundFor(spend.budget?.level) };
}

function tooltipMarkdown(spend: Spend): string {
  const lines: string[] = [];
  lines.push(`**promptmeter** · proxy ${spend.proxyUrl ?? ""}`.trimEnd(), "");
  lines.push("| | |", "|---|---:|");
  lines.push(`| today | ${formatUsd(spend.todayUsd ?? "0")} |`);
  lines.push(`| this week | ${formatUsd(spend.weekUsd ?? "0")} |`);
  if (spend.session) {
    lines.push(
      `| this session | ${formatUsd(spend.session.usd)} (${plural(spend.session.requests, "request")}) |`,
    );
  }
  if (spend.budget) {
    const b = spend.budget;
    lines.push(
      `| ${b.name} budget | ${formatUsd(b.spentUsd)} of ${formatUsd(b.limitUsd)} (${formatPercent(b.pressure)}) |`,
    );
  }
  lines.push("");
  if (spend.last) {
    lines.push(`**Last response:** ${lastResponseLine(spend.last)}`, "");
  } else {
    lines.push("No response through the proxy yet.", "");
  }
  const providers = Object.entries(spend.byProvider ?? {});
  if (providers.length > 0) {
    lines.push("| provider | today |", "|---|---:|");
    for (const [name, usd] of providers.sort((a, b) => Number(b[1]) - Number(a[1]))) {
      lines.push(`| ${name} | ${formatUsd(usd)} |`);
    }
    lines.push("");
  }
  if (spend.alert) {
    lines.push(`$(warning) ${spend.alert.message}`, "");
  }
  lines.push("Click for details.");
  return lines.join("\n");
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** One line describing a response: model, tokens, cost, latency, rerouting. */
export function lastResponseLine(last: SpendLast): string {
  const rerouted = last.reroutedFrom ? ` (rerouted from ${last.reroutedFrom})` : "";
  const tokens =
    `${formatTokens(last.inputTokens)} in, ${formatTokens(last.cachedTokens)} cached, ` +
    `${formatTokens(last.outputTokens)} out`;
  return (
    `${last.provider} ${last.model}${rerouted}: ${tokens}, ${formatUsd(last.costUsd)}` +
    `${last.flatRate ? " (flat rate)" : ""}, ` +
    `${Math.round(last.latencyMs)} ms`
  );
}
