// Starts the real embedded platform with the web UI mounted (port 0, temp data dir) for the browser tests.
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createAdaptorServer } from "@hono/node-server";
import { createEmbeddedPlatform } from "../../../platform/app/embedded.ts";
import type { EmbeddedPlatform } from "../../../platform/app/embedded.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { httpV2Client } from "../../../functions/infer/client.ts";
import { uiDepsFrom } from "../../../pages/adapters.ts";
import { createUi } from "../../../pages/index.tsx";

export interface UiPlatform {
  readonly url: string;
  readonly token: string;
  readonly platform: EmbeddedPlatform;
  stop(): Promise<void>;
}

export const ADMIN_TOKEN = "e2e-admin-token-0123456789";

export async function startUiPlatform(): Promise<UiPlatform> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-e2e-"));
  const config = parseConfig({ FLYWHEEL_LOG_LEVEL: "error", FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN, PATH: process.env.PATH, HOME: process.env.HOME }, { port: 0, host: "127.0.0.1", dataDir });
  const log = createLogger("error", { service: "flywheel" });
  const live: { handler?: (req: Request) => Response | Promise<Response> } = {};
  const server = createAdaptorServer({ fetch: (req: Request) => (live.handler ? live.handler(req) : new Response("starting", { status: 503 })) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr: AddressInfo | string | null = server.address();
  const url = `http://127.0.0.1:${addr && typeof addr === "object" ? addr.port : 0}`;
  const platform = await createEmbeddedPlatform({ config, selfUrl: url, log });
  // Mounted before the first request (hono builds its router then); a no-op duplicate if the platform already has it.
  const inProcess = (u: string, init: RequestInit): Promise<Response> | Response => platform.app.fetch(new Request(u, init));
  platform.app.route(
    "/",
    createUi(
      uiDepsFrom({
        auth: platform.auth,
        broker: platform.broker,
        training: platform.training,
        mlflow: platform.mlflow,
        registry: platform.registry,
        serving: platform.serving,
        v2: httpV2Client(inProcess),
        drift: platform.drift,
        checks: platform.checks,
        config,
        log,
      }),
    ),
  );
  live.handler = (req) => platform.app.fetch(req);
  await platform.start();
  return {
    url,
    token: ADMIN_TOKEN,
    platform,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open SSE log streams would hold close() forever.
        if ("closeAllConnections" in server && typeof server.closeAllConnections === "function") server.closeAllConnections();
      });
      await platform.stop();
    },
  };
}
