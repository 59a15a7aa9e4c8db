// Starts, kills and restarts the broker process; its triggers come from the RENDERED Trigger objects (filters, delivery
// spec, dead-letter sink), with every ref resolved to a local URL (addresses.ts), never from triggers/triggers.yaml.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { K8sObject } from "../../../platform/manifests/index.ts";
import { destinationUrl, type LocalAddresses } from "./addresses.ts";

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "broker-main.ts");

/** The rendered Broker and Triggers as the trigger-file document the broker process parses (parseTriggerFile). */
export function triggerDocument(objects: readonly K8sObject[], addresses: LocalAddresses): { broker: string; delivery?: unknown; triggers: unknown[] } {
  const broker = objects.find((o) => o.kind === "Broker");
  if (!broker) throw new Error("topology: the rendered manifests have no Broker");
  const name = broker.metadata.name;
  const resolveDelivery = (d: unknown): unknown => {
    if (typeof d !== "object" || d === null) return undefined;
    const spec = Object.fromEntries(Object.entries(d));
    if (spec.deadLetterSink !== undefined) spec.deadLetterSink = { uri: destinationUrl(addresses, spec.deadLetterSink) };
    return spec;
  };
  const brokerSpec = obj(broker.spec);
  const triggers = objects
    .filter((o) => o.kind === "Trigger" && obj(o.spec).broker === name)
    .map((t) => {
      const spec = obj(t.spec);
      return {
        name: t.metadata.name,
        broker: name,
        ...(spec.filter !== undefined ? { filter: spec.filter } : {}),
        ...(spec.filters !== undefined ? { filters: spec.filters } : {}),
        subscriber: { uri: destinationUrl(addresses, spec.subscriber) },
        ...(spec.delivery !== undefined ? { delivery: resolveDelivery(spec.delivery) } : {}),
      };
    });
  return { broker: name, ...(brokerSpec.delivery !== undefined ? { delivery: resolveDelivery(brokerSpec.delivery) } : {}), triggers };
}

export class BrokerProcess {
  #child: ChildProcess | undefined;
  readonly #configFile: string;
  readonly #logFile: string;
  readonly ingressUrl: string;
  readonly url: string;

  constructor(o: { dir: string; port: number; namespace: string; broker: string; triggerDoc: unknown; logDir: string }) {
    fs.mkdirSync(o.dir, { recursive: true });
    this.#configFile = path.join(o.dir, "broker.json");
    this.#logFile = path.join(o.logDir, "broker.log");
    const ingressPath = `/${o.namespace}/${o.broker}`;
    this.url = `http://127.0.0.1:${o.port}`;
    this.ingressUrl = `${this.url}${ingressPath}`;
    fs.writeFileSync(this.#configFile, JSON.stringify({ port: o.port, dbPath: path.join(o.dir, "broker.sqlite"), path: ingressPath, namespace: o.namespace, triggerDoc: o.triggerDoc }));
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start (or restart after a kill): the same port and SQLite file, so the queue left behind is delivered. */
  async start(timeoutMs = 30_000): Promise<void> {
    const log = fs.openSync(this.#logFile, "a");
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, this.#configFile], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.#child = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`broker exited ${child.exitCode}: ${fs.readFileSync(this.#logFile, "utf8").slice(-2000)}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`broker not ready in ${timeoutMs} ms: ${fs.readFileSync(this.#logFile, "utf8").slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Signal the broker process and wait for it to exit. SIGKILL leaves in-flight deliveries for the restart to recover. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill("SIGKILL");
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
  }
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {};
}
