#!/usr/bin/env node
// A fake Anthropic Messages upstream on 127.0.0.1 for the editor clients' end-to-end tests,
// speaking the real wire format: JSON for `stream: false`, server-sent events (message_start
// with input and cache counts, message_delta with the billed output) for `stream: true`.
// Usage: node fake-anthropic.mjs [port]   (0 or none: any free port; prints "listening PORT").
// Also importable: startFakeAnthropic(port) resolves to the http.Server.

import * as http from "node:http";
import { fileURLToPath } from "node:url";

/** The usage reported for every response. */
export const FAKE_USAGE = { input_tokens: 1200, cache_creation_input_tokens: 0, cache_read_input_tokens: 5000, output_tokens: 340 };

function handle(req, res) {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.method !== "POST" || !req.url.startsWith("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: req.url } }));
      return;
    }
    let request = {};
    try {
      request = JSON.parse(body);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "bad JSON" } }));
      return;
    }
    const model = request.model ?? "claude-sonnet-4-5";
    const id = `msg_fake_${Date.now()}`;
    if (!request.stream) {
      res.writeHead(200, { "content-type": "application/json", "request-id": id });
      res.end(
        JSON.stringify({
          id,
          type: "message",
          role: "assistant",
          model,
          content: [{ type: "text", text: "ok" }],
          stop_reason: "end_turn",
          stop_sequence: null,
          usage: FAKE_USAGE,
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": id });
    const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...FAKE_USAGE, output_tokens: 1 },
      },
    });
    send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } });
    send("content_block_stop", { type: "content_block_stop", index: 0 });
    send("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: FAKE_USAGE.output_tokens },
    });
    send("message_stop", { type: "message_stop" });
    res.end();
  });
}

export function startFakeAnthropic(port = 0) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handle);
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startFakeAnthropic(Number(process.argv[2] ?? 0));
  console.log(`listening ${server.address().port}`);
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
