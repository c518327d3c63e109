// The status bar item, driven only by `promptmeter/spend` notifications (no polling), and the
// details quick pick that a click on it opens.

import * as vscode from "vscode";
import { type Spend, formatPercent, formatUsd, lastResponseLine, plural, statusView } from "./spend";

export class SpendStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private spend: Spend | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem("promptmeter.spend", vscode.StatusBarAlignment.Left, 10);
    this.item.name = "promptmeter spend";
    this.item.command = "promptmeter.showSpend";
    this.update(undefined);
    this.item.show();
  }

  get current(): Spend | undefined {
    return this.spend;
  }

  update(spend: Spend | undefined): void {
    this.spend = spend;
    const view = statusView(spend);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
    this.item.accessibilityInformation = { label: view.text.replace(/\$\([^)]*\)\s*/g, "") };
  }

  /** Server stopped or failed: say so instead of showing stale numbers. */
  stopped(reason: string): void {
    this.spend = undefined;
    this.item.text = "$(error) promptmeter";
    this.item.tooltip = new vscode.MarkdownString(`promptmeter: ${reason}`);
    this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
  }

  dispose(): void {
    this.item.dispose();
  }
}

interface DetailItem extends vscode.QuickPickItem {
  run?: () => Thenable<unknown>;
}

/** The details a click on the status bar opens: numbers, then actions. */
export async function showSpendDetails(spend: Spend | undefined): Promise<void> {
  const items: DetailItem[] = [];
  if (spend?.connected) {
    items.push({ label: `$(calendar) Today ${formatUsd(spend.todayUsd ?? "0")}`, detail: `This week ${formatUsd(spend.weekUsd ?? "0")}` });
    if (spend.budget) {
      const b = spend.budget;
      items.push({
        label: `$(dashboard) ${b.name} budget ${formatPercent(b.pressure)}`,
        detail: `${formatUsd(b.spentUsd)} of ${formatUsd(b.limitUsd)} (${b.level})`,
      });
    }
    if (spend.session) {
      items.push({ label: `$(history) Session ${formatUsd(spend.session.usd)}`, detail: plural(spend.session.requests, "request") });
    }
    if (spend.last) {
      items.push({ label: "$(arrow-right) Last response", detail: lastResponseLine(spend.last) });
    }
    for (const [provider, usd] of Object.entries(spend.byProvider ?? {})) {
      items.push({ label: `$(cloud) ${provider} ${formatUsd(usd)}`, description: "today" });
    }
    if (spend.alert) {
      items.push({ label: `$(warning) ${spend.alert.message}` });
    }
  } else {
    items.push({
      label: "$(debug-disconnect) No proxy connected",
      detail: `Start \`promptmeter proxy\` and point your agent at ${spend?.proxyUrl ?? "http://127.0.0.1:4747"}`,
    });
  }
  items.push({ label: "", kind: vscode.QuickPickItemKind.Separator });
  items.push({
    label: "$(graph) Show context-window composition",
    run: () => vscode.commands.executeCommand("promptmeter.showComposition"),
  });
  items.push({ label: "$(symbol-class) Pick active model", run: () => vscode.commands.executeCommand("promptmeter.pickModel") });
  items.push({ label: "$(dashboard) Open dashboard", run: () => vscode.commands.executeCommand("promptmeter.openDashboard") });
  items.push({ label: "$(output) Show log", run: () => vscode.commands.executeCommand("promptmeter.showLog") });
  const picked = await vscode.window.showQuickPick(items, { title: "promptmeter", matchOnDetail: true });
  await picked?.run?.();
}
