// Starts a real embedded platform (port 0, temp data dir) for integration tests, and small polling helpers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbedded, type StartedPlatform } from "../../platform/app/start.ts";
import { ApiClient } from "../../platform/cli/client.ts";

export interface TestPlatform extends StartedPlatform {
  readonly api: ApiClient;
}

export async function startTestPlatform(env: Record<string, string> = {}, dataDir?: string): Promise<TestPlatform> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-it-"));
  const started = await startEmbedded({
    env: { FLYWHEEL_LOG_LEVEL: "error", PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    port: 0,
    host: "127.0.0.1",
    dataDir: dir,
    quiet: true,
  });
  return Object.assign(started, { api: new ApiClient({ url: started.url, token: started.token }) });
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
