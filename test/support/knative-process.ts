// Starts Flywheel functions the way a Knative pod does (the production entry, platform/knative/main.ts, one process
// per FUNCTION_TARGET, PORT=0), and a kubeconfig file for the fake API server, for live tests.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface FunctionProcess {
  readonly target: string;
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawn `target` with `env` (plus PORT=0, HOST, log level info so the port can be read from the "listening" line). */
export async function startFunction(target: string, env: Record<string, string>, timeoutMs = 60_000): Promise<FunctionProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "platform/knative/main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, FUNCTION_TARGET: target, PORT: "0", HOST: "127.0.0.1", FLYWHEEL_LOG_LEVEL: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target} did not start: ${err.slice(-2000)}`)), timeoutMs);
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"listening".*?"port":(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${target} exited ${code}: ${err.slice(-2000)}`));
    });
  });
  // Keep draining stderr so the child never blocks on a full pipe.
  child.stderr?.resume();
  return {
    target,
    url: `http://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A kubeconfig file for the fake API server (KUBECONFIG=...). */
export function writeKubeconfig(dir: string, yaml: string): string {
  const file = path.join(dir, "kubeconfig");
  fs.writeFileSync(file, yaml, { mode: 0o600 });
  return file;
}

/** POST a binary-mode CloudEvent. */
export async function postEvent(url: string, ev: { type: string; source: string; id: string; data: unknown; extensions?: Record<string, string> }): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-type": ev.type,
    "ce-source": ev.source,
    "ce-id": ev.id,
    "ce-time": new Date().toISOString(),
  };
  for (const [k, v] of Object.entries(ev.extensions ?? {})) headers[`ce-${k}`] = v;
  return fetch(url, { method: "POST", headers, body: JSON.stringify(ev.data) });
}

/** Metric names with at least one sample in a Prometheus text exposition. */
export function exposedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/**
 * A KServe InferenceService in the fake API server that stands in for a real one: Ready, with status.url at a V2
 * server (the embedded platform serving the same deployment name), so Knative-mode infer reaches it as it would KServe.
 */
export function standInInferenceService(kube: { create(o: Record<string, unknown>): unknown; setStatus(ref: { apiVersion: string; kind: string; namespace?: string; name: string }, status: Record<string, unknown>): unknown }, o: { name: string; namespace: string; model: string; version: string; url: string }): void {
  const ref = { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: o.namespace, name: o.name };
  kube.create({
    ...ref,
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { "app.kubernetes.io/managed-by": "flywheel" },
      annotations: {
        "flywheel.dev/model": o.model,
        "flywheel.dev/version": o.version,
        "flywheel.dev/revision": "standin",
        "flywheel.dev/spec": JSON.stringify({ kind: "model", name: o.name, model: o.model, version: o.version }),
      },
    },
    spec: { predictor: { model: { modelFormat: { name: "onnx" }, protocolVersion: "v2", storageUri: "s3://standin/model" } } },
  });
  kube.setStatus(ref, { url: o.url, observedGeneration: 1, conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }] });
}
