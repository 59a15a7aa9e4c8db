// The per-model policies file in a cluster: ConfigMap flywheel-policies, mounted read-only into every function that
// reads it (FLYWHEEL_POLICIES_FILE), and the kustomize patches that replace it (Ansible's and the test overlay's).
import crypto from "node:crypto";
import type { FunctionTarget } from "../knative/targets.ts";
import { parsePolicies } from "../policies/index.ts";
import { meta, type K8sObject } from "./object.ts";
import { NAMESPACE } from "./settings.ts";

export const POLICIES_CONFIG_MAP = "flywheel-policies";
export const POLICIES_KEY = "policies.yaml";
/** A directory mount, never subPath: the kubelet updates a ConfigMap volume in place only without subPath. */
export const POLICIES_MOUNT = "/etc/flywheel/policies";
export const POLICIES_FILE = `${POLICIES_MOUNT}/${POLICIES_KEY}`;
/**
 * The file's digest on each reading function's pod template: functions read the file once at start, so a new digest
 * (a changed file, applied by ansible/deploy.yml) makes Knative roll a new revision and every replica reads the new
 * policies, instead of old pods keeping the old ones until they happen to be replaced.
 */
export const POLICIES_DIGEST_ANNOTATION = "flywheel.dev/policies-sha256";

/**
 * Who reads which section: log-model the gate, deploy-model the rollout (canary), retrain-on-drift the retrain guards,
 * infer the feedback rollback and inference logging. The other functions never load policies.
 */
export const READS_POLICIES: ReadonlySet<FunctionTarget> = new Set(["logModel", "deployModel", "retrainOnDrift", "infer"]);

/**
 * Production defaults: the embedded defaults (platform/policies DEFAULT_POLICIES_YAML) except the rollout, a canary,
 * because a cluster has what a canary needs (KServe's canaryTrafficPercent or a Seldon Experiment, and Prometheus).
 */
export const CLUSTER_POLICIES_YAML = `# Flywheel's per-model policies (manifests/README.md, "Policies"). Replace this file with ansible/deploy.yml's
# flywheel_policies_file; functions read it at start, and a changed file rolls their revisions.
defaults:
  # log-model: promote a candidate only with accuracy >= 0.8 and at least the champion's, both scored on the
  # same holdout (the candidate's recent labelled data, when its training had a data window).
  gate: {metric: accuracy, direction: maximize, minImprovement: 0, floors: {accuracy: 0.8}}
  # deploy-model: 10% of traffic to the new version; decide after 200 requests to it or 30 minutes; roll back on
  # +1% errors or 1.5x the p95 latency of the stable version (numbers from Prometheus).
  rollout: {strategy: canary, canaryPercent: 10, decideAfterRequests: 200, decideAfterMinutes: 30, maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5}
  # retrain-on-drift: one retrain in flight, an hour between retrains, 3 a day, only after new labelled feedback.
  retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3, requireNewData: true, windowDays: 7}
  # infer: live accuracy from feedback only alerts (ModelAccuracyDropped); set true to roll back at once.
  feedback: {rollbackOnAccuracyDrop: false, minSamples: 20, margin: 0.02}
models: {}
`;

export const policiesDigest = (yamlText: string): string => crypto.createHash("sha256").update(yamlText).digest("hex");

export function policiesConfigMap(yamlText = CLUSTER_POLICIES_YAML): K8sObject {
  // A file that would not parse would stop every reading function at start: refuse to render it.
  parsePolicies(yamlText);
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(POLICIES_CONFIG_MAP, NAMESPACE, "config"), data: { [POLICIES_KEY]: yamlText } };
}

/** Volume, mount and env of a reading function (none for the others). */
export function policiesWiring(target: FunctionTarget): { volumes: unknown[]; mounts: unknown[]; env: unknown[]; annotations: Record<string, string> } {
  if (!READS_POLICIES.has(target)) return { volumes: [], mounts: [], env: [], annotations: {} };
  return {
    volumes: [{ name: "policies", configMap: { name: POLICIES_CONFIG_MAP } }],
    mounts: [{ name: "policies", mountPath: POLICIES_MOUNT, readOnly: true }],
    env: [{ name: "FLYWHEEL_POLICIES_FILE", value: POLICIES_FILE }],
    annotations: { [POLICIES_DIGEST_ANNOTATION]: policiesDigest(CLUSTER_POLICIES_YAML) },
  };
}

/**
 * Kustomize patches that install another policies file: the ConfigMap's content and the digest on every reading
 * Service (ansible/tasks/flywheel.yml builds the same patches in Jinja; the topology's test overlay uses this).
 */
export function policiesPatches(yamlText: string, services: readonly string[]): { patch: string; target?: Record<string, string> }[] {
  parsePolicies(yamlText);
  const escaped = POLICIES_DIGEST_ANNOTATION.replaceAll("~", "~0").replaceAll("/", "~1");
  const digest = [{ op: "replace", path: `/spec/template/metadata/annotations/${escaped}`, value: policiesDigest(yamlText) }];
  return [
    { patch: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: POLICIES_CONFIG_MAP, namespace: NAMESPACE }, data: { [POLICIES_KEY]: yamlText } }) },
    ...services.map((name) => ({ target: { group: "serving.knative.dev", version: "v1", kind: "Service", name }, patch: JSON.stringify(digest) })),
  ];
}
