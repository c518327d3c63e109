// clients/vscode end to end: the packaged .vsix installed in real VS Code (code-server),
// driven in Debian's headless chromium, against the real promptmeter binary (language server
// and proxy, with a fake upstream). Screenshots go to $PROMPTMETER_TEST_OUT/vscode.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import * as h from "./harness.mjs";
import { restartProxy, sendAnthropicRequest, startProxyWithFakeUpstream, stopProxy } from "./proxy.mjs";

const skip = new Set((process.env.PROMPTMETER_E2E_SKIP ?? "").split(",").filter(Boolean));
/** A test that needs a server feature the stage script found missing (it says which). */
const needs = (...features) => {
  const absent = features.filter((f) => skip.has(f));
  return absent.length > 0 ? `server feature missing: ${absent.join(", ")}` : false;
};

let browser;
let page;
let proxy;
let ws;

async function shot(name) {
  await page.screenshot({ path: path.join(h.OUT, `${name}.png`) });
}

const statusItem = () => page.locator('[id="promptmeter.promptmeter.promptmeter.spend"]');

async function statusText() {
  return ((await statusItem().textContent()) ?? "").trim();
}

async function runCommand(title) {
  await page.keyboard.press("Control+Shift+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: h.WAIT_MS });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ timeout: h.WAIT_MS });
  await page.keyboard.press("Enter");
}

async function openFile(name) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: h.WAIT_MS });
  await input.fill(name);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first().waitFor({ timeout: h.WAIT_MS });
  await page.keyboard.press("Enter");
  await page.locator(".tab.active", { hasText: name }).waitFor({ timeout: h.WAIT_MS });
}

before(async () => {
  const tmp = h.tmpdir("e2e");
  const home = path.join(tmp, "home");
  ws = path.join(tmp, "workspace");
  h.write(path.join(ws, "CLAUDE.md"), fs.readFileSync(path.join(h.ROOT, "tests/data/corpus/claude_md/astral-sh__ruff/CLAUDE.md"), "utf8"));
  h.write(path.join(ws, ".cursor/rules/style.mdc"), "---\ndescription: style\nalwaysApply: true\n---\n\nUse two spaces.\n");
  h.write(path.join(ws, ".claude/rules/testing.md"), "# Testing\n\nEvery change comes with a test that fails without it.\n");
  fs.mkdirSync(path.join(ws, ".git"), { recursive: true });

  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local/share"),
    XDG_STATE_HOME: path.join(home, ".local/state"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
  };
  // The extension must find the binary bundled in the .vsix: no env var, no setting, not on PATH.
  delete env.PROMPTMETER_SERVER_PATH;
  env.PATH = env.PATH.split(":").filter((d) => !fs.existsSync(path.join(d, "promptmeter"))).join(":");

  // One response of the fake's "cache" scenario on claude-sonnet-4-5 costs about $0.0028: 95% of
  // this budget, past its 85% threshold (warning level, an alert).
  proxy = await startProxyWithFakeUpstream({
    env,
    extraToml: '[budgets]\nalert_at = [50, 85, 100]\n\n[budgets.weekly]\nwindow = "week"\nusd = "0.003"\n',
  });

  // code-server: its own user data and extensions, trust off, the .vsix installed by its CLI.
  const userData = path.join(tmp, "user-data");
  const extensions = path.join(tmp, "extensions");
  h.write(
    path.join(userData, "User/settings.json"),
    JSON.stringify(
      {
        "security.workspace.trust.enabled": false,
        "workbench.startupEditor": "none",
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": true,
        "telemetry.telemetryLevel": "off",
        "extensions.autoUpdate": false,
        "editor.inlayHints.enabled": "on",
        "promptmeter.proxy.url": proxy.url,
      },
      null,
      2,
    ),
  );
  const csArgs = ["--user-data-dir", userData, "--extensions-dir", extensions, "--config", path.join(tmp, "code-server.yaml")];
  h.write(path.join(tmp, "code-server.yaml"), "auth: none\ncert: false\n");
  const installed = await h.run(process.execPath, [h.CODE_SERVER, ...csArgs, "--install-extension", h.VSIX], { env });
  assert.match(installed, /successfully installed/);
  const port = await h.freePort();
  h.start(
    process.execPath,
    [h.CODE_SERVER, ...csArgs, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry",
      "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", ws],
    { env, log: "code-server.log" },
  );
  await h.waitHttp(`http://127.0.0.1:${port}/healthz`, "code-server listening");

  // A fresh profile of its own (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(path.join(tmp, "chromium"), {
    executablePath: h.CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  const console = fs.createWriteStream(path.join(h.OUT, "browser-console.log"));
  page.on("console", (m) => console.write(`${m.type()}: ${m.text()}\n`));
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: h.WAIT_MS });
});

after(async () => {
  if (page) {
    await shot("final").catch(() => {});
  }
  await browser?.close().catch(() => {});
  await h.stopAll();
});

test("the extension activates and the status bar is connected to the proxy", { skip: needs("spend") }, async () => {
  await statusItem().waitFor({ timeout: h.WAIT_MS });
  await h.waitFor("status bar shows today's spend", async () => /today/.test(await statusText()));
  assert.match(await statusText(), /^\$0\.00 today/);
  await shot("status-bar-connected");
});

test("opening CLAUDE.md shows inlay hints from the server", { skip: needs("inlay-hints") }, async () => {
  await openFile("CLAUDE.md");
  const hints = page.locator(".monaco-editor .view-lines [class*='dyn-rule']", { hasText: /\d/ });
  await hints.first().waitFor({ timeout: h.WAIT_MS });
  const labels = await hints.allTextContents();
  assert.ok(labels.some((l) => /\d/.test(l)), `inlay hints: ${JSON.stringify(labels)}`);
  fs.writeFileSync(path.join(h.OUT, "inlay-hints.txt"), labels.join("\n") + "\n");
  await shot("inlay-hints");
});

test("a request through the proxy changes the status bar text", { skip: needs("spend") }, async () => {
  const before = await statusText();
  const sent = await sendAnthropicRequest(proxy);
  await h.waitFor("status bar text changes after a request", async () => (await statusText()) !== before);
  const after = await statusText();
  assert.match(after, /^\$\d+\.\d+ today/);
  assert.notEqual(after, before);
  // the tooltip has the last response
  await statusItem().hover();
  const tooltip = page.locator(".monaco-hover, .workbench-hover", { hasText: "Last response" });
  await tooltip.first().waitFor({ timeout: h.WAIT_MS });
  assert.match((await tooltip.first().textContent()) ?? "", new RegExp(sent.model.replace(/[.]/g, "\\.")));
  await shot("status-bar-after-request");
  await page.mouse.move(700, 400);
});

test("budget pressure colours the status bar and the alert shows as a notification", { skip: needs("spend", "budgets") }, async () => {
  await h.waitFor("status bar shows the budget share", async () => /· \d+% weekly$/.test(await statusText()));
  const pressure = Number(/(\d+)% weekly$/.exec(await statusText())[1]);
  assert.ok(pressure >= 85 && pressure < 100, `pressure ${pressure}%`);
  const colours = await page.evaluate(() => {
    const item = document.getElementById("promptmeter.promptmeter.promptmeter.spend");
    const probe = document.createElement("div");
    probe.style.backgroundColor = "var(--vscode-statusBarItem-warningBackground)";
    // theme colours are CSS variables on the workbench element
    document.querySelector(".monaco-workbench").appendChild(probe);
    const warning = getComputedStyle(probe).backgroundColor;
    probe.remove();
    return { item: getComputedStyle(item).backgroundColor, warning };
  });
  assert.equal(colours.item, colours.warning, "the status bar item has the theme's warning background");
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: /weekly/i });
  await toast.first().waitFor({ timeout: h.WAIT_MS });
  await shot("budget-alert");
});

test("a click on the status bar opens the spend details", { skip: needs("spend") }, async () => {
  await statusItem().click();
  const rows = page.locator(".quick-input-list .monaco-list-row");
  await rows.filter({ hasText: "Last response" }).first().waitFor({ timeout: h.WAIT_MS });
  const texts = await rows.allTextContents();
  assert.ok(texts.some((t) => /Today \$0\.0028/.test(t)), JSON.stringify(texts));
  assert.ok(texts.some((t) => /anthropic claude-sonnet-4-5: 10 in, 2\.0k cached, 42 out/.test(t)), JSON.stringify(texts));
  await shot("spend-details");
  await page.keyboard.press("Escape");
});

test("the composition treemap shows category blocks; a picked model reprices hints and treemap", { skip: needs("composition") }, async () => {
  await runCommand("promptmeter: Show Context-Window Composition");
  const frame = page.frameLocator("iframe.webview").frameLocator("iframe#active-frame");
  const memory = frame.locator('.block.d0[data-category="memory"]');
  await memory.waitFor({ timeout: h.WAIT_MS });
  const blocks = await frame.locator(".block.d0").evaluateAll((els) =>
    els.map((e) => ({ category: e.dataset.category, tokens: Number(e.dataset.tokens), area: e.offsetWidth * e.offsetHeight })),
  );
  assert.ok(blocks.length >= 2, JSON.stringify(blocks));
  // proportions follow the tokens: area per token is the same for every block (within pixels)
  const total = blocks.reduce((s, b) => s + b.tokens, 0);
  const totalArea = blocks.reduce((s, b) => s + b.area, 0);
  for (const b of blocks) {
    assert.ok(Math.abs(b.area / totalArea - b.tokens / total) < 0.02, JSON.stringify(blocks));
  }
  assert.match((await frame.locator("h2").textContent()) ?? "", /claude-sonnet-4-5/);
  await shot("composition");

  // a rule file grows on disk (as when an agent edits it): the treemap follows
  const rulesTokens = async () =>
    Number((await frame.locator('.block.d0[data-category="rules"]').getAttribute("data-tokens").catch(() => null)) ?? 0);
  const rulesBefore = await rulesTokens();
  assert.ok(rulesBefore > 0, "a rules block");
  fs.appendFileSync(path.join(ws, ".claude/rules/testing.md"), "\nNever skip a failing test: fix it, or delete it and say why.\n".repeat(20));
  await h.waitFor("the rules block grows after its file changes on disk", async () => (await rulesTokens()) > rulesBefore);
  await shot("composition-after-edit");

  const hintsNow = async () =>
    (await page.locator(".monaco-editor .view-lines [class*='dyn-rule']", { hasText: /\d/ }).allTextContents()).join("|");
  const hintsBefore = await hintsNow();
  assert.match(hintsBefore, /\$/, "hints carry a price");
  await runCommand("promptmeter: Pick Active Model");
  await page.locator(".quick-input-list .monaco-list-row", { hasText: "claude-haiku-4-5" }).first().click();
  await h.waitFor("treemap header shows the new model", async () =>
    /claude-haiku-4-5/.test((await frame.locator("h2").textContent().catch(() => "")) ?? ""),
  );
  // the hints are priced again for the new model (the server asks the client to refresh them)
  await h.waitFor("inlay hints repriced for claude-haiku-4-5", async () => (await hintsNow()) !== hintsBefore);
  await shot("composition-haiku");
});

test("the status bar says so when the proxy stops, and reconnects when it is back", { skip: needs("spend") }, async () => {
  await stopProxy(proxy);
  await h.waitFor("status bar says no proxy", async () => /no proxy/.test(await statusText()));
  assert.equal(await statusText(), "promptmeter: no proxy");
  await shot("status-bar-no-proxy");
  await restartProxy(proxy);
  // the ledger keeps the day's spend: it comes back as it was
  await h.waitFor("status bar reconnected", async () => /today/.test(await statusText()));
  assert.match(await statusText(), /^\$0\.0028 today/);
});
