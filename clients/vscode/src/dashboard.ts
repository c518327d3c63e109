// "promptmeter: Open dashboard": the proxy's live dashboard (GET /_promptmeter/) in a webview.
// The page itself is served by the proxy and talks only to it; the webview is a frame around
// it (the dashboard's Content-Security-Policy lets VS Code webviews frame it).

import * as vscode from "vscode";

/** Where the editors look for the proxy when nothing says otherwise. */
export const DEFAULT_PROXY_URL = "http://127.0.0.1:4747";

/** The dashboard's URL: the `promptmeter.proxy.url` setting, else the proxy the language
 * server is connected to, else the default. */
export function dashboardUrl(setting: string | undefined, connectedProxyUrl: string | undefined): string {
  const base = (setting?.trim() || connectedProxyUrl?.trim() || DEFAULT_PROXY_URL).replace(/\/+$/, "");
  return `${base}/_promptmeter/`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The webview's page: one full-size frame on the dashboard, nothing else allowed. */
export function dashboardHtml(frameUrl: string, cspSource: string): string {
  const origin = new URL(frameUrl).origin;
  const csp = `default-src 'none'; frame-src ${origin}; style-src ${cspSource} 'unsafe-inline';`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<style>html,body,iframe{margin:0;padding:0;border:0;width:100%;height:100%;overflow:hidden}body{height:100vh}</style>
</head><body><iframe src="${escapeAttr(frameUrl)}" title="promptmeter dashboard"></iframe></body></html>`;
}

let panel: vscode.WebviewPanel | undefined;

/** Opens (or reveals) the dashboard panel. */
export async function openDashboard(connectedProxyUrl: string | undefined): Promise<void> {
  const setting = vscode.workspace.getConfiguration("promptmeter").get<string>("proxy.url");
  const url = dashboardUrl(setting, connectedProxyUrl);
  // Remote windows (SSH, code-server) forward the local port to where the webview runs.
  const external = (await vscode.env.asExternalUri(vscode.Uri.parse(url))).toString(true);
  if (!panel) {
    panel = vscode.window.createWebviewPanel("promptmeter.dashboard", "promptmeter dashboard", vscode.ViewColumn.Active, {
      enableScripts: false,
      retainContextWhenHidden: true,
    });
    panel.onDidDispose(() => {
      panel = undefined;
    });
  } else {
    panel.reveal();
  }
  panel.webview.html = dashboardHtml(external, panel.webview.cspSource);
}
