// The `promptmeter.*` settings the server needs, as an overlay in the shape of its TOML config
// (docs/protocol.md, Language server: Configuration). Sent as initializationOptions; empty
// settings are left out so that the config files decide.

export interface ClientSettings {
  proxyUrl?: string;
  model?: string;
}

export function serverSettings(s: ClientSettings): Record<string, Record<string, string>> {
  const overlay: Record<string, Record<string, string>> = {};
  const proxyUrl = s.proxyUrl?.trim();
  if (proxyUrl) {
    overlay.lsp = { feed_url: `${proxyUrl.replace(/\/+$/, "")}/_promptmeter/feed` };
  }
  const model = s.model?.trim();
  if (model) {
    overlay.models = { active: model };
  }
  return overlay;
}
