import { strict as assert } from "node:assert";
import { test } from "node:test";
import { serverSettings } from "../src/serverSettings";

test("unset or blank settings leave the config files in charge", () => {
  assert.deepEqual(serverSettings({}), {});
  assert.deepEqual(serverSettings({ proxyUrl: " ", model: "" }), {});
});

test("the proxy URL becomes the feed URL, the model the active one", () => {
  assert.deepEqual(serverSettings({ proxyUrl: "http://127.0.0.1:4747/", model: " gpt-5 " }), {
    lsp: { feed_url: "http://127.0.0.1:4747/_promptmeter/feed" },
    models: { active: "gpt-5" },
  });
});
