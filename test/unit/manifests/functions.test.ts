// Knative Services (interfaces.md §2): one per FUNCTION_TARGET, scale to zero, limits, probes, hardened containers,
// cluster-local except the UI and the Alertmanager trigger; NetworkPolicies default-deny with per-function allows.
import { describe, expect, it } from "vitest";
import { FUNCTION_TARGETS, TARGETS } from "../../../platform/knative/targets.ts";
import { OVERLAYS, renderObjects, type K8sObject } from "../../../platform/manifests/index.ts";

interface Container {
  env: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}
interface Template {
  metadata: { annotations: Record<string, string>; labels: Record<string, string> };
  spec: { containers: Container[]; timeoutSeconds: number; serviceAccountName: string; securityContext: Record<string, unknown> };
}
const template = (o: K8sObject): Template => (o.spec as { template: Template }).template;

describe.each(OVERLAYS)("functions in overlay %s", (overlay) => {
  const objs = renderObjects(overlay);
  const ksvcs = objs.filter((o) => o.apiVersion === "serving.knative.dev/v1" && o.kind === "Service");

  it("has one Knative Service per FUNCTION_TARGET, selecting it by env", () => {
    expect(ksvcs.map((k) => k.metadata.name).sort()).toEqual(FUNCTION_TARGETS.map((t) => TARGETS[t].service).sort());
    for (const t of FUNCTION_TARGETS) {
      const k = ksvcs.find((x) => x.metadata.name === TARGETS[t].service)!;
      expect(template(k).spec.containers[0]!.env).toContainEqual({ name: "FUNCTION_TARGET", value: t });
      expect(template(k).spec.serviceAccountName).toBe(TARGETS[t].service);
    }
  });

  it("scales to zero with a max scale, a concurrency target and a timeout under Knative's 600 s cap", () => {
    for (const k of ksvcs) {
      const a = template(k).metadata.annotations;
      expect(a["autoscaling.knative.dev/min-scale"], k.metadata.name).toBe("0");
      expect(Number(a["autoscaling.knative.dev/max-scale"])).toBeGreaterThan(0);
      expect(Number(a["autoscaling.knative.dev/target"])).toBeGreaterThan(0);
      expect(template(k).spec.timeoutSeconds).toBeGreaterThan(0);
      expect(template(k).spec.timeoutSeconds).toBeLessThanOrEqual(600);
    }
  });

  it("runs non-root with a read-only root filesystem, resources and probes", () => {
    for (const k of ksvcs) {
      const c = template(k).spec.containers[0]!;
      expect(c.securityContext, k.metadata.name).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
      expect(template(k).spec.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(Object.keys(c.resources.requests).sort()).toEqual(["cpu", "memory"]);
      expect(Object.keys(c.resources.limits).sort()).toEqual(["cpu", "memory"]);
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
    }
  });

  it("gives the database DSN (by reference) to exactly the functions that keep state in it, deploy-model included", () => {
    const withDsn = ksvcs.filter((k) => template(k).spec.containers[0]!.env.some((e) => e.name === "FLYWHEEL_DATABASE_URL")).map((k) => k.metadata.name);
    expect(withDsn.sort()).toEqual(["dead-letter", "deploy-model", "event-log", "log-model", "retrain-on-drift", "ui"]);
    for (const k of ksvcs) {
      const env = template(k).spec.containers[0]!.env;
      const dsn = env.find((e) => e.name === "FLYWHEEL_DATABASE_URL");
      if (dsn) expect(dsn).toEqual({ name: "FLYWHEEL_DATABASE_URL", valueFrom: { secretKeyRef: { name: "flywheel-db-app", key: "uri" } } });
      // The drain deadline stays under the pod's grace period (Knative: the revision's timeoutSeconds).
      const drain = Number(env.find((e) => e.name === "FLYWHEEL_DRAIN_SECONDS")?.value);
      expect(drain, k.metadata.name).toBeGreaterThan(0);
      expect(drain, k.metadata.name).toBeLessThan(template(k).spec.timeoutSeconds);
    }
  });

  it("mounts the inference log on a shared ReadWriteMany volume in every infer replica", () => {
    const infer = template(ksvcs.find((k) => k.metadata.name === "infer")!);
    const c = infer.spec.containers[0]! as Container & { volumeMounts: { name: string; mountPath: string }[] };
    const dir = c.env.find((e) => e.name === "FLYWHEEL_INFERENCE_LOG_DIR")?.value;
    expect(c.volumeMounts).toContainEqual({ name: "inference-log", mountPath: dir });
    expect((infer.spec as unknown as { volumes: unknown[] }).volumes).toContainEqual({ name: "inference-log", persistentVolumeClaim: { claimName: "flywheel-inference-log" } });
    const pvc = objs.find((o) => o.kind === "PersistentVolumeClaim" && o.metadata.name === "flywheel-inference-log");
    expect((pvc?.spec as { accessModes?: string[] } | undefined)?.accessModes).toEqual(["ReadWriteMany"]);
  });

  it("mounts the inference log read-only where it is only read, and gives launch-training the jobs' artifacts PVC", () => {
    const podOf = (name: string) => template(ksvcs.find((k) => k.metadata.name === name)!).spec as unknown as { volumes: unknown[]; containers: (Container & { volumeMounts: unknown[] })[] };
    const inferDir = podOf("infer").containers[0]!.env.find((e) => e.name === "FLYWHEEL_INFERENCE_LOG_DIR")?.value;
    for (const name of ["launch-training", "retrain-on-drift"]) {
      const pod = podOf(name);
      expect(pod.containers[0]!.env, name).toContainEqual({ name: "FLYWHEEL_INFERENCE_LOG_DIR", value: inferDir });
      expect(pod.containers[0]!.volumeMounts, name).toContainEqual({ name: "inference-log", mountPath: inferDir, readOnly: true });
      expect(pod.volumes, name).toContainEqual({ name: "inference-log", persistentVolumeClaim: { claimName: "flywheel-inference-log", readOnly: true } });
    }
    // Window datasets go under the path where training jobs mount the same PVC, so their file:// URIs hold in the job.
    const lt = podOf("launch-training");
    expect(lt.containers[0]!.env).toContainEqual({ name: "FLYWHEEL_WINDOW_DATASETS_DIR", value: "/artifacts/datasets" });
    expect(lt.containers[0]!.volumeMounts).toContainEqual({ name: "artifacts", mountPath: "/artifacts" });
    expect(lt.volumes).toContainEqual({ name: "artifacts", persistentVolumeClaim: { claimName: "flywheel-artifacts" } });
  });

  it("is cluster-local except the UI and the Alertmanager trigger", () => {
    const publicOnes = ksvcs.filter((k) => k.metadata.labels?.["networking.knative.dev/visibility"] !== "cluster-local").map((k) => k.metadata.name);
    expect(publicOnes.sort()).toEqual(["alertmanager-trigger", "ui"]);
  });

  it("takes secrets by reference only (Alertmanager token, admin token)", () => {
    const envOf = (name: string) => template(ksvcs.find((k) => k.metadata.name === name)!).spec.containers[0]!.env;
    expect(envOf("alertmanager-trigger")).toContainEqual({ name: "FLYWHEEL_ALERTMANAGER_TOKEN", valueFrom: { secretKeyRef: { name: "flywheel-alertmanager-token", key: "token" } } });
    for (const k of ksvcs) for (const e of template(k).spec.containers[0]!.env) if (/TOKEN|SECRET|PASSWORD/.test(e.name)) expect(e.value, e.name).toBeUndefined();
    // One request-id key for every infer replica (ids issued by one verify on another), from the install's Secret.
    expect(envOf("infer")).toContainEqual({ name: "FLYWHEEL_REQUEST_ID_SECRET", valueFrom: { secretKeyRef: { name: "flywheel-request-id", key: "key" } } });
    expect(envOf("ui")).toContainEqual({ name: "FLYWHEEL_SESSION_KEY", valueFrom: { secretKeyRef: { name: "flywheel-session", key: "key" } } });
    if (overlay === "prod") {
      expect(envOf("ui").map((e) => e.name)).toContain("FLYWHEEL_OIDC_CLIENT_SECRET");
      for (const n of ["ui", "alertmanager-trigger"]) {
        expect(ksvcs.find((k) => k.metadata.name === n)!.metadata.annotations?.["networking.knative.dev/http-protocol"]).toBe("redirected");
      }
    }
  });

  it("denies ingress by default and lets each function in only from the Knative data plane and Prometheus", () => {
    const pols = objs.filter((o) => o.kind === "NetworkPolicy");
    const deny = pols.find((p) => p.metadata.name === "default-deny-ingress")!;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    for (const k of ksvcs) {
      const p = pols.find((x) => x.metadata.name === `allow-${k.metadata.name}`);
      expect(p, k.metadata.name).toBeDefined();
      const spec = p!.spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[] };
      expect(spec.podSelector.matchLabels).toEqual({ "flywheel.dev/function": k.metadata.name });
      expect(template(k).metadata.labels["flywheel.dev/function"]).toBe(k.metadata.name);
      const nss = spec.ingress.flatMap((i) => i.from.map((f) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]));
      const expected = ["knative-serving", "kourier-system"];
      if (!["ui", "alertmanager-trigger"].includes(k.metadata.name)) expected.push("knative-eventing");
      expect(nss.sort()).toEqual(expected.sort());
    }
  });

  it("issues certificates through a CA chain and distributes the CA with trust-manager", () => {
    const issuers = objs.filter((o) => o.kind === "ClusterIssuer");
    expect(issuers.map((i) => Object.keys(i.spec as object)[0]).sort()).toEqual(["ca", "selfSigned"]);
    const ca = objs.find((o) => o.kind === "Certificate" && (o.spec as { isCA?: boolean }).isCA)!;
    expect(ca.spec).toMatchObject({ issuerRef: { kind: "ClusterIssuer", name: "flywheel-selfsigned" }, privateKey: { algorithm: "ECDSA" } });
    const caIssuer = issuers.find((i) => "ca" in (i.spec as object))!;
    expect((caIssuer.spec as { ca: { secretName: string } }).ca.secretName).toBe((ca.spec as { secretName: string }).secretName);
    const leafs = objs.filter((o) => o.kind === "Certificate" && !(o.spec as { isCA?: boolean }).isCA);
    expect(leafs).toHaveLength(ksvcs.length);
    for (const l of leafs) expect((l.spec as { issuerRef: { name: string } }).issuerRef.name).toBe(caIssuer.metadata.name);
    const bundle = objs.find((o) => o.kind === "Bundle")!;
    expect((bundle.spec as { sources: unknown[] }).sources).toContainEqual({ secret: { name: "flywheel-ca", key: "ca.crt" } });
  });
});
