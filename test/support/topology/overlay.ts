// The topology's test overlay: EVERY difference from the shipped manifests is listed in TEST_OVERLAY below (one file),
// and rendered as a kustomize overlay on top of manifests/overlays/<base> with the project's own renderer.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { kustomizeBuild, type K8sObject } from "../../../platform/manifests/index.ts";
import { MANIFESTS_DIR } from "../../../platform/manifests/generate.ts";
import { policiesPatches, READS_POLICIES } from "../../../platform/manifests/policies.ts";
import { TARGETS } from "../../../platform/knative/targets.ts";
import { DEFAULT_RULE_OPTIONS, ruleGroups, type RuleOptions } from "../../../platform/telemetry/rules.ts";

export interface TestOverlay {
  /** Shipped overlay it builds on: kserve (InferenceService serving, PyTorchJob training, CloudNativePG). */
  readonly base: "kserve" | "seldon" | "dev";
  /** Rule options for the PrometheusRule (the same generator as the shipped one): short windows and `for:`. */
  readonly rules: Partial<RuleOptions>;
  /** DeliverySpec.backoffDelay of the Broker and of every Trigger (policy and retry count stay as shipped). */
  readonly backoffDelay: string;
  /** AlertmanagerConfig route timings. */
  readonly alertmanager: { readonly groupWait: string; readonly groupInterval: string; readonly repeatInterval: string };
  /** ServiceMonitor endpoint interval and timeout. */
  readonly scrape: { readonly interval: string; readonly timeout: string };
  /** PingSource schedules (croner accepts a seconds field; Knative's PingSource would not: test only). */
  readonly pingSchedules: Readonly<Record<string, string>>;
  /** ConfigMap flywheel-config entries. */
  readonly config: Readonly<Record<string, string>>;
  /**
   * ConfigMap flywheel-policies' file, replaced as ansible/deploy.yml's flywheel_policies_file replaces it (the same
   * patches: the file and its digest on every reading Service). Only the model `iris` differs from the shipped one.
   */
  readonly policies: string;
}

export const TEST_OVERLAY: TestOverlay = {
  base: "kserve",
  rules: {
    driftWindow: "1m",
    driftFor: "2s",
    driftMinSamples: 60,
    outlierWindow: "1m",
    outlierFor: "5s",
    platformWindow: "1m",
    platformFor: "10s",
    accuracyFor: "5s",
  },
  // Shipped PT0.5S exponential x5 (1+2+4+8+16 s); PT0.2S x5 still spans 12.4 s, more than a 5 s PostgreSQL restart.
  backoffDelay: "PT0.2S",
  alertmanager: { groupWait: "1s", groupInterval: "1s", repeatInterval: "1m" },
  scrape: { interval: "1s", timeout: "1s" },
  // The canary controller's tick: every 2 s instead of every minute.
  pingSchedules: { "deploy-model-canary-check": "*/2 * * * * *" },
  config: { FLYWHEEL_LOG_LEVEL: "info" },
  // The shipped defaults, and for iris the loop's canary: half the traffic, decided after 20 requests to the new
  // version or 2 minutes; a latency ratio of 10 because one loaded CI machine serves both revisions. The gate is the
  // shipped fair gate plus a required improvement of 0.05 (as `flywheel demo --drift`): the retrain must really win.
  policies: `defaults:
  gate: {metric: accuracy, direction: maximize, minImprovement: 0, floors: {accuracy: 0.8}}
  rollout: {strategy: canary, canaryPercent: 10, decideAfterRequests: 200, decideAfterMinutes: 30, maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5}
  retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3, requireNewData: true, windowDays: 7}
  feedback: {rollbackOnAccuracyDrop: false, minSamples: 20, margin: 0.02}
models:
  iris:
    gate: {minImprovement: 0.05}
    rollout: {canaryPercent: 50, decideAfterRequests: 20, decideAfterMinutes: 2, maxErrorRateIncrease: 0.05, maxLatencyRatio: 10}
`,
};

const op = (path: string, value: unknown): { op: string; path: string; value: unknown } => ({ op: "replace", path, value });

/** The overlay as kustomize patches (what the rendered output differs by). */
function patches(o: TestOverlay): { patch: string; target?: Record<string, string> }[] {
  const json = (ops: unknown[]): string => YAML.stringify(ops, { lineWidth: 0 });
  return [
    { target: { kind: "Broker", name: "default" }, patch: json([op("/spec/delivery/backoffDelay", o.backoffDelay)]) },
    { target: { kind: "Trigger" }, patch: json([op("/spec/delivery/backoffDelay", o.backoffDelay)]) },
    { target: { kind: "PrometheusRule" }, patch: json([op("/spec/groups", ruleGroups({ ...DEFAULT_RULE_OPTIONS, ...o.rules }))]) },
    {
      target: { kind: "AlertmanagerConfig" },
      patch: json([op("/spec/route/groupWait", o.alertmanager.groupWait), op("/spec/route/groupInterval", o.alertmanager.groupInterval), op("/spec/route/repeatInterval", o.alertmanager.repeatInterval)]),
    },
    { target: { kind: "ServiceMonitor" }, patch: json([op("/spec/endpoints/0/interval", o.scrape.interval), op("/spec/endpoints/0/scrapeTimeout", o.scrape.timeout)]) },
    ...Object.entries(o.pingSchedules).map(([name, schedule]) => ({ target: { kind: "PingSource", name }, patch: json([op("/spec/schedule", schedule)]) })),
    { patch: YAML.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "flywheel-config", namespace: "flywheel" }, data: o.config }) },
    ...policiesPatches(o.policies, [...READS_POLICIES].map((t) => TARGETS[t].service)),
  ];
}

/** Write the overlay as a kustomization under `dir` (kept for inspection) and render it. */
export function renderTestManifests(dir: string, o: TestOverlay = TEST_OVERLAY): K8sObject[] {
  fs.mkdirSync(dir, { recursive: true });
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [path.join(MANIFESTS_DIR, "overlays", o.base)],
    patches: patches(o),
  };
  fs.writeFileSync(path.join(dir, "kustomization.yaml"), YAML.stringify(kustomization, { lineWidth: 0 }));
  return kustomizeBuild(dir);
}
