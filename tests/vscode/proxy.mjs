// The real `promptmeter proxy` in front of a fake Anthropic upstream, for the e2e tests.

import * as path from "node:path";
import { startFakeAnthropic } from "./fake-anthropic.mjs";
import * as h from "./harness.mjs";

/**
 * Starts the fake upstream and `promptmeter proxy` on a free port with its own config and
 * ledger (in the test's XDG dirs). `extraToml` is appended to the config (budgets).
 */
export async function startProxyWithFakeUpstream({ env, extraToml = "" }) {
  const fake = await startFakeAnthropic();
  const upstream = `http://127.0.0.1:${fake.address().port}`;
  const port = await h.freePort();
  const url = `http://127.0.0.1:${port}`;
  h.write(
    path.join(env.XDG_CONFIG_HOME, "promptmeter/config.toml"),
    `[proxy]\nlisten = "127.0.0.1:${port}"\nledger = "${path.join(env.XDG_DATA_HOME, "ledger.sqlite")}"\n\n` +
      `[proxy.upstreams]\nanthropic = "${upstream}"\n\n[lsp]\nfeed_url = "${url}/_promptmeter/feed"\n${extraToml}`,
  );
  h.start(h.BIN, ["proxy", "--listen", `127.0.0.1:${port}`], { env, log: "proxy.log" });
  await h.waitHttp(`${url}/_promptmeter/health`, "promptmeter proxy healthy");
  return { url, upstream, fake };
}

/** One Anthropic Messages request through the proxy; returns what was asked. */
export async function sendAnthropicRequest(proxy, model = "claude-sonnet-4-5") {
  const res = await fetch(`${proxy.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "test-key", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: "user", content: "hello" }] }),
  });
  if (!res.ok) {
    throw new Error(`proxy answered ${res.status}: ${await res.text()}`);
  }
  await res.json();
  return { model };
}
