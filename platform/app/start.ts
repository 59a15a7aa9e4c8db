// Starts the embedded platform on one port: listen first (port 0 allowed), then build components with the real URL.
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { parseConfig, type Config } from "../config/index.ts";
import { createLogger } from "../log.ts";
import { createTelemetry, telemetryOptions, type Telemetry } from "../telemetry/index.ts";
import { createEmbeddedPlatform, type EmbeddedPlatform } from "./embedded.ts";

export interface StartOptions {
  readonly env: Record<string, string | undefined>;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly quiet?: boolean;
  readonly now?: () => number;
}

export interface StartedPlatform {
  readonly url: string;
  readonly token: string | undefined;
  readonly tokenGenerated: boolean;
  readonly devMode: boolean;
  readonly dataDir: string;
  readonly config: Config;
  readonly platform: EmbeddedPlatform;
  stop(): Promise<void>;
}

export async function startEmbedded(o: StartOptions): Promise<StartedPlatform> {
  const config = parseConfig(o.env, { port: o.port, host: o.host, dataDir: o.dataDir });
  const log = createLogger(o.quiet && config.logLevel === "info" ? "warn" : config.logLevel, { service: "flywheel" });

  // Tracing only when an OTLP endpoint is configured (tests install their own in-memory provider instead).
  const telemetry: Telemetry | undefined = config.telemetry.otlpEndpoint ? await createTelemetry(telemetryOptions(config, "flywheel")) : undefined;

  let handler: ((req: Request, env: unknown) => Response | Promise<Response>) | undefined;
  const server = createAdaptorServer({
    // Requests that arrive while components are still being built get a 503, like a not-ready pod.
    // env carries the node request: the MLflow routes read raw paths and GET bodies from it.
    fetch: (req: Request, env: unknown) => (handler ? handler(req, env) : new Response(JSON.stringify({ error: "starting" }), { status: 503 })),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const loopback = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const selfUrl = `http://${loopback.includes(":") ? `[${loopback}]` : loopback}:${addr.port}`;

  let platform: EmbeddedPlatform;
  try {
    platform = await createEmbeddedPlatform({ config, selfUrl, log, now: o.now });
    handler = (req, env) => platform.app.fetch(req, env);
    await platform.start();
  } catch (e) {
    server.close();
    throw e;
  }
  let stopped = false;
  return {
    url: selfUrl,
    token: platform.auth.token,
    tokenGenerated: platform.auth.generated,
    devMode: platform.auth.devMode,
    dataDir: config.dataDir,
    config,
    platform,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open SSE log streams would hold close() forever.
        if ("closeAllConnections" in server && typeof server.closeAllConnections === "function") server.closeAllConnections();
      });
      await platform.stop();
      await telemetry?.shutdown();
    },
  };
}
