// The topology's broker process: Knative MT-broker semantics from the embedded broker (platform/local/broker), on a
// durable SQLite file, delivering over HTTP to the URLs converted from the rendered Trigger objects.
// Run: node --import tsx broker-main.ts <config.json>   (written by test/support/topology/broker.ts)
import fs from "node:fs";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { parseTriggerFile } from "../../../platform/eventing/triggers.ts";
import { createDeliver, EmbeddedBroker } from "../../../platform/local/broker/index.ts";
import { createLogger } from "../../../platform/log.ts";

interface BrokerProcessConfig {
  readonly port: number;
  readonly dbPath: string;
  /** Ingress path, as the MT broker's: /<namespace>/<broker>. */
  readonly path: string;
  readonly namespace: string;
  /** The rendered Broker and Triggers as a trigger document (broker.ts triggerDocument): parsed and validated here. */
  readonly triggerDoc: unknown;
}

const file = process.argv[2];
if (!file) throw new Error("usage: broker-main.ts <config.json>");
const raw: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
const cfg = raw as BrokerProcessConfig; // written by broker.ts from typed values, never by a user
const log = createLogger("info", { service: "broker" });
const metrics = new Registry();
const { triggers } = parseTriggerFile(cfg.triggerDoc);
const broker = new EmbeddedBroker({ dbPath: cfg.dbPath, triggers, deliver: createDeliver({}), log, metrics, namespace: cfg.namespace });
const app = new Hono();
app.get("/healthz", (c) => c.text("ok"));
app.get("/readyz", (c) => (broker.ready() ? c.text("ok") : c.text("not ready", 503)));
app.get("/metrics", async (c) => c.text(await metrics.metrics(), 200, { "content-type": metrics.contentType }));
// Read-only view for tests: the stored events with each delivery's state (what was lost, what was duplicated).
app.get("/debug/events", (c) => c.json({ events: broker.recentEvents({ limit: Number(c.req.query("limit") ?? 1000), type: c.req.query("type") }) }));
app.route(cfg.path, broker.routes());

await broker.start();
const server = createAdaptorServer({ fetch: app.fetch });
server.listen(cfg.port, "127.0.0.1", () => log.info("listening", { port: cfg.port }));
const shutdown = (): void => {
  server.close();
  void broker.stop().then(() => process.exit(0));
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
