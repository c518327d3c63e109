// The context-window composition as a treemap in a webview. The layout is computed here
// (treemap.ts); the webview only draws absolutely positioned blocks and posts clicks back.

import * as vscode from "vscode";
import { type Block, type Composition, CATEGORIES, layoutComposition } from "./treemap";
import { formatTokens } from "./spend";

const WIDTH = 1000;
const HEIGHT = 600;

/** Theme chart colours per category, so the view follows the user's theme. */
const COLOURS: Record<string, string> = {
  memory: "var(--vscode-charts-blue)",
  rules: "var(--vscode-charts-purple)",
  agents: "var(--vscode-charts-green)",
  commands: "var(--vscode-charts-yellow)",
  skills: "var(--vscode-charts-orange)",
  tools: "var(--vscode-charts-red)",
  system: "var(--vscode-charts-foreground)",
};

export type CompositionSource = () => Promise<Composition>;

export class CompositionView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly fetch: CompositionSource,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // Proportions shift as prompt files change: refresh after edits settle and on save.
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme === "file") {
          this.scheduleRefresh(400);
        }
      }),
      vscode.workspace.onDidSaveTextDocument(() => { this.scheduleRefresh(0); }),
    );
    // Files changed outside the editor (an agent editing its own memory, a git checkout).
    const watcher = vscode.workspace.createFileSystemWatcher("**/{*.md,*.mdc,.mcp.json,.claude/**,.codex/**}");
    for (const event of [watcher.onDidChange, watcher.onDidCreate, watcher.onDidDelete]) {
      this.disposables.push(event(() => { this.scheduleRefresh(200); }));
    }
    this.disposables.push(watcher);
  }

  async show(): Promise<void> {
    if (this.panel) {
      this.panel.reveal();
    } else {
      this.panel = vscode.window.createWebviewPanel(
        "promptmeter.composition",
        "Context window",
        vscode.ViewColumn.Beside,
        { enableScripts: true, retainContextWhenHidden: false },
      );
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.webview.onDidReceiveMessage((msg: { open?: string; refresh?: boolean }) => {
        if (msg.open) {
          void vscode.window.showTextDocument(vscode.Uri.parse(msg.open));
        } else if (msg.refresh) {
          void this.refresh();
        }
      });
      this.panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible) {
          void this.refresh();
        }
      });
    }
    await this.refresh();
  }

  private scheduleRefresh(delayMs: number): void {
    if (!this.panel?.visible) {
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }

  async refresh(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const nonce = String(Math.random()).slice(2);
    try {
      const composition = await this.fetch();
      panel.webview.html = renderHtml(composition, nonce, panel.webview.cspSource);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`composition: ${message}`);
      panel.webview.html = page(nonce, panel.webview.cspSource, `<p class="error">${escape(message)}</p>`);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.panel?.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function pct(v: number, of: number): string {
  return `${((v / of) * 100).toFixed(3)}%`;
}

function blockHtml(b: Block, total: number): string {
  const share = total > 0 ? `${((b.tokens / total) * 100).toFixed(1)}%` : "";
  const label = `${b.name}: ${formatTokens(b.tokens)} tokens (${share})`;
  const style =
    `left:${pct(b.rect.x, WIDTH)};top:${pct(b.rect.y, HEIGHT)};` +
    `width:${pct(b.rect.w, WIDTH)};height:${pct(b.rect.h, HEIGHT)};` +
    (b.depth === 0 ? `background:${COLOURS[b.category] ?? "var(--vscode-charts-lines)"};` : "");
  const uri = b.uri ? ` data-uri="${escape(b.uri)}"` : "";
  return (
    `<div class="block d${b.depth}" data-category="${escape(b.category)}" data-tokens="${b.tokens}"` +
    `${uri} style="${style}" title="${escape(label)}"><span>${escape(b.name)} ${formatTokens(b.tokens)}</span></div>`
  );
}

export function renderHtml(c: Composition, nonce: string, cspSource: string): string {
  const blocks = layoutComposition(c, { x: 0, y: 0, w: WIDTH, h: HEIGHT });
  const used = c.contextWindow > 0 ? Math.min(1, c.totalTokens / c.contextWindow) : 0;
  const legend = CATEGORIES.filter((k) => k !== "free")
    .map((k) => `<span class="key"><i style="background:${COLOURS[k]}"></i>${k}</span>`)
    .join("");
  const body =
    `<header><h2>${escape(c.model)}</h2>` +
    `<span>${c.exact ? "" : "≈"}${formatTokens(c.totalTokens)} of ${formatTokens(c.contextWindow)} tokens ` +
    `(${(used * 100).toFixed(1)}%), ${formatTokens(c.freeTokens)} free</span>` +
    `<button id="refresh">Refresh</button></header>` +
    `<div class="bar"><div style="width:${(used * 100).toFixed(3)}%"></div></div>` +
    `<div class="legend">${legend}</div>` +
    (blocks.length === 0
      ? `<p>No prompt files or agent configs found in this workspace.</p>`
      : `<div id="map">${blocks.map((b) => blockHtml(b, c.totalTokens)).join("")}</div>`);
  return page(nonce, cspSource, body);
}

function page(nonce: string, cspSource: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:8px}
header{display:flex;gap:1em;align-items:baseline}
h2{margin:0}
.error{color:var(--vscode-errorForeground)}
.bar{height:6px;background:var(--vscode-editorWidget-background);margin:8px 0}
.bar div{height:100%;background:var(--vscode-progressBar-background)}
.legend{display:flex;gap:1em;margin-bottom:8px;font-size:90%}
.key i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}
#map{position:relative;width:100%;aspect-ratio:${WIDTH}/${HEIGHT}}
.block{position:absolute;box-sizing:border-box;overflow:hidden}
.d0{opacity:.85}
.d1{border:1px solid var(--vscode-editor-background);cursor:pointer;font-size:12px;padding:2px;color:var(--vscode-editor-background)}
.d1:hover{outline:2px solid var(--vscode-focusBorder)}
</style></head><body>${body}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.getElementById('refresh')?.addEventListener('click', () => vscode.postMessage({refresh: true}));
for (const el of document.querySelectorAll('[data-uri]')) {
  el.addEventListener('click', () => vscode.postMessage({open: el.dataset.uri}));
}
</script></body></html>`;
}
