// promptmeter for VS Code: starts `promptmeter lsp`, shows live spend in the status bar, the
// context-window composition as a treemap, and lets the user pick the active model.
// The restart command is the one way the server starts (activation runs it too).

import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import { CompositionView } from "./compositionView";
import { openDashboard } from "./dashboard";
import { findServer } from "./serverPath";
import { serverSettings } from "./serverSettings";
import type { Spend } from "./spend";
import { SpendStatusBar, showSpendDetails } from "./statusBar";
import type { Composition } from "./treemap";

/** Files sent to the server; it decides from its own globs which ones it measures. */
const DOCUMENTS: LanguageClientOptions["documentSelector"] = [
  "**/*.md",
  "**/*.mdc",
  "**/*.prompty",
  "**/.cursorrules",
  "**/.mcp.json",
  "**/.claude/settings*.json",
  "**/.continue/config.{yaml,json}",
  "**/.continue/rules/*.yaml",
  "**/promptfooconfig.{yaml,yml,json}",
  "**/.codex/config.toml",
  "**/prompts/**",
].map((pattern) => ({ scheme: "file", pattern }));

/** Settings whose change needs a new server process. */
const RESTART_ON = ["promptmeter.server.path", "promptmeter.proxy.url"];

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("promptmeter", { log: true });
  const statusBar = new SpendStatusBar();
  const composition = new CompositionView(() => requestComposition(), log);
  context.subscriptions.push(log, statusBar, composition);

  const reg = (id: string, fn: () => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };

  reg("promptmeter.restart", async () => {
    if (client) {
      const old = client;
      client = undefined;
      try {
        await old.dispose(5000);
      } catch (err) {
        log.warn(`stopping the old server: ${String(err)}`);
      }
    }
    statusBar.update(undefined);
    try {
      client = createClient(context, log, statusBar);
      await client.start();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error(message);
      statusBar.stopped(message);
      void vscode.window.showErrorMessage(message, "Open Settings").then((pick) => {
        if (pick) {
          void vscode.commands.executeCommand("workbench.action.openSettings", "promptmeter.server.path");
        }
      });
    }
  });
  reg("promptmeter.showSpend", () => showSpendDetails(statusBar.current));
  reg("promptmeter.showComposition", () => composition.show());
  reg("promptmeter.openDashboard", () => openDashboard(statusBar.current?.proxyUrl));
  reg("promptmeter.pickModel", () => pickModel());
  reg("promptmeter.showLog", () => { log.show(); });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      const model = vscode.workspace.getConfiguration("promptmeter").get<string>("model");
      const modelChanged = e.affectsConfiguration("promptmeter.model");
      // A cleared model goes back to the config files' choice: only a new server forgets it.
      if (RESTART_ON.some((s) => e.affectsConfiguration(s)) || (modelChanged && !model)) {
        await vscode.commands.executeCommand("promptmeter.restart");
      } else if (modelChanged) {
        await sendModel();
        await composition.refresh();
      }
    }),
  );

  await vscode.commands.executeCommand("promptmeter.restart");
}

export async function deactivate(): Promise<void> {
  await client?.dispose(2000);
  client = undefined;
}

function createClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  statusBar: SpendStatusBar,
): LanguageClient {
  const config = vscode.workspace.getConfiguration("promptmeter");
  const server = findServer({
    env: process.env,
    setting: config.get<string>("server.path"),
    extensionDir: context.extensionPath,
  });
  log.info(`using ${server.path} (from ${server.source})`);

  const run = { command: server.path, args: ["lsp"], options: { env: { ...process.env } } };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENTS,
    outputChannel: log,
    // Editor settings in the shape of the TOML config; they override the config files.
    initializationOptions: serverSettings({ proxyUrl: config.get<string>("proxy.url"), model: config.get<string>("model") }),
  };
  const lc = new LanguageClient("promptmeter", "promptmeter", serverOptions, clientOptions);
  lc.onNotification("promptmeter/spend", (spend: Spend) => { statusBar.update(spend); });
  lc.onDidChangeState((e) => {
    if (e.newState === State.Stopped && client === lc) {
      statusBar.stopped("the language server stopped (see the log; run promptmeter: Restart Server)");
    }
  });
  return lc;
}

async function executeServerCommand<T>(command: string, args: unknown[]): Promise<T> {
  if (!client?.isRunning()) {
    throw new Error("promptmeter: the language server is not running.");
  }
  return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as T;
}

async function requestComposition(): Promise<Composition> {
  if (!client?.isRunning()) {
    throw new Error("promptmeter: the language server is not running.");
  }
  const model = vscode.workspace.getConfiguration("promptmeter").get<string>("model") || null;
  return client.sendRequest<Composition>("promptmeter/composition", { model });
}

async function sendModel(): Promise<void> {
  const model = vscode.workspace.getConfiguration("promptmeter").get<string>("model");
  if (model && client?.isRunning()) {
    await executeServerCommand("promptmeter.setModel", [model]);
  }
}

async function pickModel(): Promise<void> {
  const config = vscode.workspace.getConfiguration("promptmeter");
  const current = config.get<string>("model") ?? "";
  const models = [...new Set([current, ...(config.get<string[]>("models") ?? [])].filter((m) => m))];
  const picked = await vscode.window.showQuickPick(
    models.map((m) => ({ label: m, description: m === current ? "active" : undefined })),
    { title: "promptmeter: active model", placeHolder: "Model for token counts, prices and composition" },
  );
  if (picked) {
    // The configuration listener sends promptmeter.setModel to the server.
    await config.update("model", picked.label, vscode.ConfigurationTarget.Global);
  }
}
