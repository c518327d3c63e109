// The real `promptmeter proxy` in front of the project's fake upstream (tests/fakes/README.md:
// `fake-upstream`, exact provider wire formats), for the e2e tests.

import * as path from "node:path";
import * as h from "./harness.mjs";

/** The fake's "cache" scenario: 10 uncached input, 2,000 cache reads, 100 + 200 cache writes, 42 output. */
export const SCENARIO = "cache";

/**
 * Starts the fake upstream and `promptmeter proxy` on a free port with its own config and
 * ledger (in the test's XDG dirs). `extraToml` is appended to the config (budgets).
 */
export async function startProxyWithFakeUpstream({ env, extraToml = "" }) {
  const fakePort = await h.freePort();
  h.start(h.FAKE_UPSTREAM, ["--port", String(fakePort)], { env, log: "fake-upstream.log" });
  const upstream = `http://127.0.0.1:${fakePort}`;
  await h.waitHttp(`${upstream}/_fake/health`, "fake upstream healthy");
  const port = await h.freePort();
  const url = `http://127.0.0.1:${port}`;
  h.write(
    path.join(env.XDG_CONFIG_HOME, "promptmeter/config.toml"),
    `[proxy]\nlisten = "127.0.0.1:${port}"\nledger = "${path.join(env.XDG_DATA_HOME, "ledger.sqlite")}"\n\n` +
      `[proxy.upstreams]\nanthropic = "${upstream}"\n\n[lsp]\nfeed_url = "${url}/_promptmeter/feed"\n${extraToml}`,
  );
  const proxy = { url, upstream, port, env, child: null };
  await restartProxy(proxy);
  return proxy;
}

/** Stops the proxy (SIGTERM) and waits until it has exited. */
export async function stopProxy(proxy) {
  const child = proxy.child;
  if (child.exitedWith === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, "SIGTERM");
    await exited;
  }
}

/** (Re)starts the proxy on its port with the same config and ledger. */
export async function restartProxy(proxy) {
  proxy.child = h.start(h.BIN, ["proxy", "--listen", `127.0.0.1:${proxy.port}`], { env: proxy.env, log: "proxy.log", append: true });
  await h.waitHttp(`${proxy.url}/_promptmeter/health`, "promptmeter proxy healthy");
}

/** One Anthropic Messages request through the proxy; returns what was asked. */
export async function sendAnthropicRequest(proxy, model = "claude-sonnet-4-5") {
  const res = await fetch(`${proxy.url}/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": "test-key",
      "anthropic-version": "2023-06-01",
      "x-fake-scenario": SCENARIO,
    },
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: "user", content: "hello" }] }),
  });
  if (!res.ok) {
    throw new Error(`proxy answered ${res.status}: ${await res.text()}`);
  }
  await res.json();
  return { model };
}
