// Starts the real embedded platform (which mounts the web UI at "/") on port 0 with a temp data dir and a known token.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbedded } from "../../../platform/app/start.ts";
import type { StartedPlatform } from "../../../platform/app/start.ts";

export interface UiPlatform extends StartedPlatform {
  readonly token: string;
}

export const ADMIN_TOKEN = "e2e-admin-token-0123456789";

export async function startUiPlatform(): Promise<UiPlatform> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-e2e-"));
  const started = await startEmbedded({
    env: { FLYWHEEL_LOG_LEVEL: "error", FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN, PATH: process.env.PATH, HOME: process.env.HOME },
    port: 0,
    host: "127.0.0.1",
    dataDir,
    quiet: true,
  });
  return Object.assign(started, { token: ADMIN_TOKEN });
}
