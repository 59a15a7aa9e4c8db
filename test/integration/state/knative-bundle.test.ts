// The image's entry, as the image runs it: `npm run build` writes dist/ (here into an image-shaped folder: dist,
// node_modules, package.json, triggers, pages/static), then `node dist/main.js` with FUNCTION_TARGET (the Dockerfile's
// CMD on distroless node). A state-using function (retrain-on-drift on a real PostgreSQL) answers the probes the
// rendered Knative Service uses, /metrics and a real event; /readyz follows the database down and back; SIGTERM
// drains: the request in flight finishes, new connections are refused, exit 0.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildEvent, eventType, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/index.ts";
import * as z from "zod";
import { functionObjects } from "../../../platform/manifests/functions.ts";
import { watchListening, type EventSink } from "../../support/function-process.ts";
import { ROOT } from "../../support/knative-process.ts";
import type { TestPostgres } from "../../support/postgres.ts";
import { seedChampion, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";

let bd: ReplicaBackdrop;
let tmp = "";
let app = "";
let pgc: TestPostgres;
let sink: EventSink;
let env: Record<string, string> = {};

beforeAll(async () => {
  bd = await startReplicaBackdrop("bundle");
  ({ tmp, pg: pgc, sink } = bd);
  app = path.join(tmp, "app");
  // The image's /app: the build stage's dist, production node_modules, package.json, triggers/, pages/static/.
  fs.mkdirSync(path.join(app, "pages"), { recursive: true });
  // node_modules first: the build's warm-up runs each bundle where it lies, requiring its externals from there.
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(app, "node_modules"));
  execFileSync("npm", ["run", "build", "--", "--out", path.join(app, "dist"), "--only", "retrainOnDrift"], { cwd: ROOT, stdio: "pipe" });
  // The runtime stage rewrites the V8 code caches with its own node (the Dockerfile's RUN dist/warm-up.js).
  execFileSync(process.execPath, ["dist/warm-up.js"], { cwd: app, stdio: "pipe" });
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(app, "package.json"));
  fs.cpSync(path.join(ROOT, "triggers"), path.join(app, "triggers"), { recursive: true });
  fs.cpSync(path.join(ROOT, "pages/static"), path.join(app, "pages/static"), { recursive: true });

  await seedChampion(bd.mlflow.url, "iris");
  env = {
    ...bd.env,
    K_SERVICE: "retrain-on-drift",
    K_REVISION: "retrain-on-drift-00001",
    FLYWHEEL_DRAIN_SECONDS: "20",
  };
}, 240_000);

afterAll(async () => {
  await bd?.close();
});

interface Image {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  readonly output: () => string;
}

/** `node dist/main.js` in /app, as distroless/nodejs runs the Dockerfile's CMD, with the Knative Service's env. */
async function startImage(target: string): Promise<Image> {
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: app,
    env: { PATH: process.env.PATH, NODE_ENV: "production", PORT: "0", HOST: "127.0.0.1", FLYWHEEL_DATA_DIR: path.join(tmp, "data"), FUNCTION_TARGET: target, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const watch = watchListening(child, target);
  const port = await watch.port;
  return { url: `http://127.0.0.1:${port}`, child, exit, output: watch.output };
}

const refused = (e: unknown): boolean => e instanceof Error && e.cause instanceof Error && "code" in e.cause && e.cause.code === "ECONNREFUSED";

let seq = 0;
const alert = (): AnyCloudEvent =>
  buildEvent(
    "alert.firing",
    { status: "firing", alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model: "iris" }, startsAt: new Date().toISOString(), fingerprint: `fp-${seq++}` },
    { source: "/flywheel/triggers/alertmanager" },
  );
const post = (url: string, ev: AnyCloudEvent): Promise<Response> => {
  const { headers, body } = toHttpBinary(ev);
  return fetch(url, { method: "POST", headers, body });
};
const readyz = async (url: string): Promise<{ status: number; body: string }> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.text() };
};
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The paths the rendered Knative Service probes (manifests), read from the generator rather than restated. */
const Probe = z.object({ httpGet: z.object({ path: z.string() }) });
const RenderedService = z.object({ spec: z.object({ template: z.object({ spec: z.object({ containers: z.array(z.object({ readinessProbe: Probe, livenessProbe: Probe })).min(1) }) }) }) });
function renderedProbes(): { readiness: string; liveness: string } {
  const svc = functionObjects().find((o) => o.kind === "Service" && o.apiVersion.startsWith("serving.knative.dev") && o.metadata.name === "retrain-on-drift");
  const c = RenderedService.parse(svc).spec.template.spec.containers[0];
  if (!c) throw new Error("no container");
  return { readiness: c.readinessProbe.httpGet.path, liveness: c.livenessProbe.httpGet.path };
}

it("serves the rendered Service's probes, /metrics and a real event from the bundle; /readyz follows the database", async () => {
  const img = await startImage("retrainOnDrift");
  // The build's code cache was accepted (a rejected, damaged or missing one is logged as a warning).
  expect(img.output()).not.toContain("code cache");
  try {
    const probes = renderedProbes();
    expect((await fetch(`${img.url}${probes.liveness}`)).status).toBe(200);
    const ready = await readyz(img.url);
    expect(probes.readiness).toBe("/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).components).toContainEqual({ name: "database", ok: true });

    const res = await post(img.url, alert());
    expect(res.status).toBeLessThan(300);
    await until("training.requested", async () => (sink.events.some((e) => e.type === eventType("training.requested")) ? true : undefined));
    const metrics = await (await fetch(`${img.url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_function_invocations_total\{[^}]*function="retrainOnDrift"[^}]*outcome="success"/);
    expect(metrics).toContain('service="retrain-on-drift"');

    await pgc.pause();
    const down = await until("/readyz to fail", async () => {
      const r = await readyz(img.url);
      return r.status === 503 ? r : undefined;
    });
    expect(JSON.parse(down.body).components).toContainEqual(expect.objectContaining({ name: "database", ok: false }));
    expect(down.body).not.toContain("postgresql://");
    // Liveness stays up: a database outage must not make the kubelet restart every pod.
    expect((await fetch(`${img.url}/healthz`)).status).toBe(200);
    await pgc.resume();
    await until("/readyz to recover", async () => ((await readyz(img.url)).status === 200 ? true : undefined));
  } finally {
    img.child.kill("SIGKILL");
    await img.exit;
  }
}, 120_000);

it("SIGTERM drains: the request in flight finishes, new connections are refused meanwhile, exit 0", async () => {
  const img = await startImage("retrainOnDrift");
  try {
    sink.hold = true; // the broker stalls: the alert's handler is in flight, waiting to emit
    const before = sink.events.length;
    const inFlight = post(img.url, alert());
    await until("the handler to reach the broker", async () => (sink.heldCount() > 0 ? true : undefined));
    img.child.kill("SIGTERM");
    await until("the listener to close", async () =>
      (await fetch(`${img.url}/healthz`).then(
        () => undefined,
        (e: unknown) => (refused(e) ? true : undefined),
      )),
    );
    expect(img.child.exitCode).toBeNull(); // still finishing the request in flight
    sink.release();
    const res = await inFlight;
    expect(res.status).toBeLessThan(300);
    expect(await img.exit).toBe(0);
    expect(sink.events.length).toBeGreaterThan(before);
  } finally {
    sink.hold = false;
    if (img.child.exitCode === null) img.child.kill("SIGKILL");
  }
}, 120_000);
