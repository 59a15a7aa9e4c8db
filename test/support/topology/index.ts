/**
 * The Knative topology on one machine (issue 14), built from the RENDERED manifests (test overlay: overlay.ts):
 *
 *   const t = await startTopology();          // everything below, ~all in parallel; t.timings says where time went
 *   t.urls.ui / t.urls.functions["infer"]     // fronts (activator role) of each Knative Service
 *   await t.kill("retrain-on-drift", 1, "SIGKILL");  await t.restartReplica("retrain-on-drift", 1);
 *   await t.scaleToZero("infer");             // next request to its front cold-starts it (t.fn("infer").coldStarts)
 *   await t.broker.kill("SIGKILL"); await t.broker.start();   // the queue in its SQLite file is delivered after
 *   await t.restartPostgres(3000);            // stop, 3 s down, start on the same data
 *   console.log(t.report());  await t.stop();
 *
 * Pieces: each function of the manifests as N replicas of `node dist/main.js` (the production bundle) with the env of
 * its Knative Service (addresses.ts maps in-cluster URLs to local ones); the broker process with triggers converted from
 * the rendered Trigger objects; real PostgreSQL; Prometheus (file_sd over every live replica) and Alertmanager from the
 * rendered monitoring objects; the registry process; the fake Kubernetes API server (kubeconfig for functions whose
 * pods mount a service-account token) with the rendered Knative Services in it; PingSources; and the process kubelet
 * (test/support/topology/kubelet) when it is available.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { K8sObject } from "../../../platform/manifests/index.ts";
import { freePort, type Server } from "../../e2e/drift/servers.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../fake-kube/index.ts";
import { ROOT, writeKubeconfig } from "../knative-process.ts";
import { startPostgres } from "../postgres.ts";
import { containerEnv, destinationUrl, localEnv, urlMapping, type LocalAddresses } from "./addresses.ts";
import { BrokerProcess, triggerDocument } from "./broker.ts";
import { productionBundle } from "./build.ts";
import { FunctionFront } from "./front.ts";
import { FUNCTIONS_MONITOR, QUEUE_PROXY_MONITOR } from "../../../platform/manifests/observability.ts";
import { startTopologyAlertmanager, startTopologyPrometheus, targetsFileOf, writeTargets } from "./observability.ts";
import { TEST_OVERLAY, renderTestManifests, type TestOverlay } from "./overlay.ts";
import { startPingSources, type PingSources } from "./ping.ts";
import { startKubelet, type Kubelet } from "./kubelet/index.ts";
import { startRegistryProcess } from "./registry.ts";
import { Timings } from "./timing.ts";

export { TEST_OVERLAY, type TestOverlay } from "./overlay.ts";
export type { FunctionFront, ColdStart } from "./front.ts";

export const NAMESPACE = "flywheel";

export interface TopologyOptions {
  /** Run directory (logs under <dir>/logs); default a fresh temp dir, removed by stop() unless `keep`. */
  readonly dir?: string;
  readonly keep?: boolean;
  /** Replicas per function (default 2, the activator needs at least 2 to round-robin). */
  readonly replicas?: number;
  readonly replicasOf?: Readonly<Record<string, number>>;
  readonly overlay?: TestOverlay;
  /** Start the process kubelet (default true). */
  readonly kubelet?: boolean;
}

/** Per-run secrets the rendered manifests reference (generated here, never committed or logged). */
export interface TopologySecrets {
  readonly adminToken: string;
  readonly alertmanagerToken: string;
  readonly sessionKey: string;
  /** Signs infer's request ids (feedback verifies them on any replica). */
  readonly requestIdKey: string;
  readonly databaseUrl: string;
}

export interface Topology {
  readonly dir: string;
  readonly objects: readonly K8sObject[];
  /** Rendered objects the fake API server did not take (unknown kind), with the reason. */
  readonly unapplied: readonly string[];
  readonly secrets: TopologySecrets;
  readonly urls: {
    readonly ui: string;
    readonly functions: Readonly<Record<string, string>>;
    readonly brokerIngress: string;
    readonly broker: string;
    readonly prometheus: string;
    readonly alertmanager: string;
    readonly registry: string;
    readonly kube: string;
  };
  readonly kube: FakeKube;
  readonly kubeconfigFile: string;
  readonly broker: BrokerProcess;
  /** The process kubelet (Jobs, PyTorchJobs, InferenceServices/Models, ApiServerSource), unless `kubelet: false`. */
  readonly kubelet: Kubelet | undefined;
  readonly pings: PingSources;
  readonly timings: Timings;
  /** The front of one Knative Service (replicas, served counts, cold starts). */
  fn(name: string): FunctionFront;
  kill(fn: string, replicaIndex: number, signal?: NodeJS.Signals): Promise<void>;
  restartReplica(fn: string, replicaIndex: number): Promise<void>;
  scaleToZero(fn: string): Promise<void>;
  /** Stop PostgreSQL (fast shutdown), stay down `downMs` (≤ 5 s in the tests), start it on the same data. */
  restartPostgres(downMs?: number): Promise<{ downMs: number }>;
  /** Where the time went: startup phases, and every cold start so far. */
  report(): string;
  stop(): Promise<void>;
}

const KSVC = "serving.knative.dev/v1";

export async function startTopology(o: TopologyOptions = {}): Promise<Topology> {
  const timings = new Timings();
  const t0 = performance.now();
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-topology-"));
  const logDir = path.join(dir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    if (!o.keep && !o.dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const objects = timings.addSync("render manifests (test overlay)", () => renderTestManifests(path.join(dir, "overlay"), o.overlay ?? TEST_OVERLAY));
    const ksvcs = objects.filter((x) => x.apiVersion === KSVC && x.kind === "Service");
    const [bundle, pg, registry, kube] = await Promise.all([
      timings.time("production bundle (npm run build)", () => productionBundle()),
      timings.time("postgresql", () => startPostgres()),
      timings.time("registry process", () => startRegistryProcess(path.join(dir, "registry"), logDir)),
      timings.time("fake kube api", () => startFakeKube({ validate: crdValidator, namespace: NAMESPACE, token: randomBytes(16).toString("hex") })),
    ]);
    // Picked now, seconds before the broker binds it: picked before the bundle build (minutes on a loaded machine),
    // another process on the host took it once (EADDRINUSE, the smoke suite failed to start).
    const brokerPort = await freePort();
    cleanups.push(() => pg.stop(), () => registry.stop(), () => kube.close());
    const secrets: TopologySecrets = {
      adminToken: randomBytes(24).toString("base64url"),
      alertmanagerToken: randomBytes(24).toString("base64url"),
      sessionKey: randomBytes(32).toString("base64url"),
      requestIdKey: randomBytes(32).toString("base64url"),
      databaseUrl: await pg.createDatabase("topology"),
    };
    const secretData: Record<string, Record<string, string>> = {
      "flywheel-auth": { token: secrets.adminToken },
      "flywheel-alertmanager-token": { token: secrets.alertmanagerToken },
      "flywheel-session": { key: secrets.sessionKey },
      "flywheel-request-id": { key: secrets.requestIdKey },
      // CloudNativePG's <cluster>-app Secret carries the DSN under `uri`.
      "flywheel-db-app": { uri: secrets.databaseUrl },
    };
    const kubeconfigFile = writeKubeconfig(dir, kube.kubeconfigYaml);
    // file_sd per ServiceMonitor: the function replicas, and the serving revisions' queue-proxies (kubelet).
    const targetsDir = path.join(dir, "file_sd");
    fs.mkdirSync(targetsDir, { recursive: true });
    const targetsFile = targetsFileOf(targetsDir, FUNCTIONS_MONITOR);
    writeTargets(targetsFile, []);

    // Fronts first: their URLs are the addresses everything else is configured with.
    const fronts = new Map<string, FunctionFront>();
    const refreshTargets = (): void =>
      writeTargets(
        targetsFile,
        [...fronts.values()].flatMap((f) => f.replicas.map((r) => ({ address: new URL(r.url).host, labels: { function: f.name, pod: `${f.name}-${r.index}` } }))),
      );
    const broker0 = objects.find((x) => x.kind === "Broker");
    const brokerUrl = `http://127.0.0.1:${brokerPort}`;
    const addresses: { -readonly [K in keyof LocalAddresses]: LocalAddresses[K] } = {
      brokerIngress: `${brokerUrl}/${NAMESPACE}/${broker0?.metadata.name ?? "default"}`,
      registry: registry.url,
      prometheus: "",
      alertmanager: "",
      functions: {},
    };
    const frontUrls: Record<string, string> = {};
    for (const k of ksvcs) {
      const f = new FunctionFront({
        name: k.metadata.name,
        mainJs: bundle.mainJs,
        cwd: ROOT,
        env: {},
        emptyDirMounts: [],
        workDir: path.join(dir, "pods"),
        replicas: o.replicasOf?.[k.metadata.name] ?? o.replicas ?? 2,
        onTargets: () => refreshTargets(),
        logDir,
      });
      await f.listen();
      fronts.set(f.name, f);
      frontUrls[f.name] = f.url;
      cleanups.push(() => f.close());
    }
    addresses.functions = frontUrls;

    const am = await timings.time("alertmanager", () => startTopologyAlertmanager(path.join(dir, "alertmanager"), objects, { mapping: urlMapping(addresses), secrets: secretData }));
    cleanups.push(() => am.stop());
    addresses.alertmanager = am.url;
    const promP = timings.time("prometheus", () => startTopologyPrometheus(path.join(dir, "prometheus"), objects, { targetsDir, alertmanager: `127.0.0.1:${am.port}` }));
    const broker = new BrokerProcess({ dir: path.join(dir, "broker"), port: brokerPort, namespace: NAMESPACE, broker: broker0?.metadata.name ?? "default", triggerDoc: triggerDocument(objects, addresses), logDir });
    cleanups.push(() => broker.stop());
    const brokerP = timings.time("broker process", () => broker.start());
    const prom: Server = await promP;
    cleanups.push(() => prom.stop());
    addresses.prometheus = prom.url;
    await brokerP;

    // The rendered objects exist in the API server (the PVC the training pods mount, the ConfigMap, RBAC, sources...);
    // kinds the fake API server does not serve are listed, not hidden.
    const unapplied: string[] = [];
    for (const x of objects) {
      if (x.apiVersion === KSVC && x.kind === "Service") continue;
      try {
        kube.create(x);
      } catch (e) {
        unapplied.push(`${x.kind}/${x.metadata.name}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
      }
    }
    // The Knative Services, Ready at their fronts (the UI reads the Ready condition through client-node).
    for (const k of ksvcs) {
      kube.create({ apiVersion: KSVC, kind: "Service", metadata: { name: k.metadata.name, namespace: NAMESPACE, labels: k.metadata.labels ?? {} }, spec: k.spec });
      kube.setStatus({ apiVersion: KSVC, kind: "Service", namespace: NAMESPACE, name: k.metadata.name }, { url: frontUrls[k.metadata.name], conditions: [{ type: "Ready", status: "True" }] });
    }
    const mapping = urlMapping(addresses);
    // The kubelet's convention (kubelet/index.ts pvcDir): <workDir>/pvc/<claim>.
    const kubeletDir = path.join(dir, "kubelet");
    const pvcDir = (claim: string): string => path.join(kubeletDir, "pvc", claim);
    const tf = performance.now();
    await Promise.all(
      ksvcs.map(async (k) => {
        const c = containerEnv(k, objects, secretData);
        const env = localEnv(c.env, mapping);
        const f = fronts.get(k.metadata.name);
        if (!f) return;
        // The pod's service-account token stands for this kubeconfig, only where the manifests mount one.
        // A PVC is the kubelet's directory for that claim (what the training pods write to).
        const shared = c.pvcMounts.map((m) => ({ mountPath: m.mountPath, hostDir: pvcDir(m.claim) }));
        for (const m of shared) fs.mkdirSync(m.hostDir, { recursive: true });
        // A ConfigMap volume is its keys as files (read-only, as the kubelet projects it), one copy per function.
        for (const m of c.configMapMounts) {
          const hostDir = path.join(dir, "configmaps", k.metadata.name, m.mountPath.replaceAll("/", "_"));
          fs.mkdirSync(hostDir, { recursive: true });
          for (const [key, content] of Object.entries(m.files)) fs.writeFileSync(path.join(hostDir, key), content, { mode: 0o444 });
          shared.push({ mountPath: m.mountPath, hostDir });
        }
        f.configure(env, c.emptyDirMounts, c.automountToken ? { KUBECONFIG: kubeconfigFile } : {}, shared);
        timings.add(`start ${f.name} x${f.replicaCount}`, await f.start());
      }),
    );
    timings.add("all functions (parallel)", performance.now() - tf);
    let kubelet: Kubelet | undefined;
    if (o.kubelet !== false) {
      const sources = objects.filter((x) => x.kind === "ApiServerSource").map((source) => ({ source, sinkUrl: destinationUrl(addresses, obj(source.spec).sink) }));
      kubelet = await timings.time("kubelet", () =>
        startKubelet({
          kube,
          namespace: NAMESPACE,
          workDir: kubeletDir,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
          serviceUrls: Object.fromEntries(mapping),
          sources,
          mlflow: { trackingUri: registry.url },
          onServingTargets: (targets) => writeTargets(targetsFileOf(targetsDir, QUEUE_PROXY_MONITOR), targets),
        }),
      );
      cleanups.push(() => kubelet?.close());
    }
    const pings = startPingSources(objects, addresses);
    cleanups.push(() => pings.stop());
    timings.add("topology startup total", performance.now() - t0);

    const front = (name: string): FunctionFront => {
      const f = fronts.get(name);
      if (!f) throw new Error(`topology: no function ${name}; functions: ${[...fronts.keys()].join(", ")}`);
      return f;
    };
    return {
      dir,
      objects,
      unapplied,
      secrets,
      urls: { ui: front("ui").url, functions: frontUrls, brokerIngress: broker.ingressUrl, broker: broker.url, prometheus: prom.url, alertmanager: am.url, registry: registry.url, kube: kube.url },
      kube,
      kubeconfigFile,
      broker,
      kubelet,
      pings,
      timings,
      fn: front,
      kill: (fn, i, signal = "SIGKILL") => front(fn).kill(i, signal),
      restartReplica: (fn, i) => front(fn).restart(i),
      scaleToZero: (fn) => front(fn).scaleToZero(),
      async restartPostgres(downMs = 0) {
        const s = performance.now();
        await pg.restart(downMs);
        const ms = performance.now() - s;
        timings.add("postgres restart (down)", ms);
        return { downMs: ms };
      },
      report() {
        const cold = [...fronts.values()].flatMap((f) => f.coldStarts).map((c) => `  cold start ${c.fn}: ${(c.ms / 1000).toFixed(2)} s`);
        return [timings.report(), ...cold].join("\n");
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {};
}
