// Where the `promptmeter` binary comes from, in order: the environment variable
// PROMPTMETER_SERVER_PATH, the setting `promptmeter.server.path`, a binary bundled in the
// extension (server/promptmeter), then PATH. Pure apart from the file check, which is passed in.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ServerSource = "environment" | "setting" | "bundled" | "PATH";

export interface FoundServer {
  path: string;
  source: ServerSource;
}

export interface DiscoveryInput {
  env: Record<string, string | undefined>;
  /** Value of `promptmeter.server.path` (empty: unset). */
  setting: string | undefined;
  /** The extension's install directory. */
  extensionDir: string;
  platform?: NodeJS.Platform;
  isExecutable?: (file: string) => boolean;
}

export class ServerNotFoundError extends Error {}

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

export function findServer(input: DiscoveryInput): FoundServer {
  const isExecutable = input.isExecutable ?? isExecutableFile;
  const exe = (input.platform ?? process.platform) === "win32" ? "promptmeter.exe" : "promptmeter";

  // An explicit choice that is wrong is an error, never silently skipped.
  const explicit: [ServerSource, string | undefined, string][] = [
    ["environment", input.env.PROMPTMETER_SERVER_PATH, "the environment variable PROMPTMETER_SERVER_PATH"],
    ["setting", input.setting, "the setting promptmeter.server.path"],
  ];
  for (const [source, value, what] of explicit) {
    if (value !== undefined && value.trim() !== "") {
      const file = expandHome(value.trim());
      if (!isExecutable(file)) {
        throw new ServerNotFoundError(
          `promptmeter: ${file} (from ${what}) is not an executable file.`,
        );
      }
      return { path: file, source };
    }
  }

  const bundled = path.join(input.extensionDir, "server", exe);
  if (isExecutable(bundled)) {
    return { path: bundled, source: "bundled" };
  }

  const pathVar = input.env.PATH ?? input.env.Path ?? "";
  const sep = (input.platform ?? process.platform) === "win32" ? ";" : ":";
  for (const dir of pathVar.split(sep)) {
    if (dir === "") {
      continue;
    }
    const candidate = path.join(dir, exe);
    if (isExecutable(candidate)) {
      return { path: candidate, source: "PATH" };
    }
  }

  throw new ServerNotFoundError(
    "promptmeter: the `promptmeter` binary was not found. Install it (`cargo install --path server` " +
      "in the promptmeter repository) and put it on PATH, or set `promptmeter.server.path` " +
      "or PROMPTMETER_SERVER_PATH.",
  );
}
