// The topology's registry: the embedded MLflow-compatible server as a standalone process (what MLFLOW_TRACKING_URI
// points at in a cluster; an in-cluster MLflow has no auth in front of it here either).
// Run: node --import tsx registry-main.ts <dataDir>   (prints a "listening" log line with the port)
import { createAdaptorServer } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer } from "../../../platform/registry/index.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: registry-main.ts <dataDir>");
const log = createLogger("info", { service: "registry" });
const registry = createRegistryServer({ dataDir, log });
const server = createAdaptorServer({ fetch: registry.app.fetch });
server.listen(0, "127.0.0.1", () => log.info("listening", { port: (server.address() as AddressInfo).port }));
const shutdown = (): void => {
  server.close();
  registry.close();
  process.exit(0);
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
