// The embedded registry served over real HTTP on an ephemeral port: a plain Hono app mounting it at /api/2.0.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH, type RegistryServer } from "../../../platform/registry/index.ts";

export interface HttpRegistry {
  readonly url: string;
  readonly port: number;
  readonly registry: RegistryServer;
  close(): Promise<void>;
}

export async function startHttpRegistry(opts: { extraArtifactRoots?: readonly string[] } = {}): Promise<HttpRegistry> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-http-registry-"));
  const registry = createRegistryServer({ dataDir, log: createLogger("silent"), extraArtifactRoots: opts.extraArtifactRoots });
  const app = new Hono().route(REGISTRY_MOUNT_PATH, registry.routes);
  let port = 0;
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      port = info.port;
      resolve(s);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    registry,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      registry.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
