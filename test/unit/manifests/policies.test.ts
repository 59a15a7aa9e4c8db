// The policies file in a cluster: ConfigMap flywheel-policies (production defaults that parse), mounted read-only as a
// directory into exactly the functions that read policies, FLYWHEEL_POLICIES_FILE pointing into it, and the file's
// digest on their pod templates so a changed file rolls their revisions; the patches Ansible and the topology use.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../../../platform/knative/targets.ts";
import { kustomizeBuild, OVERLAYS, renderObjects, type K8sObject } from "../../../platform/manifests/index.ts";
import { MANIFESTS_DIR } from "../../../platform/manifests/generate.ts";
import { POLICIES_DIGEST_ANNOTATION, policiesDigest, policiesPatches, READS_POLICIES } from "../../../platform/manifests/policies.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";

interface Pod {
  volumes: { name: string; configMap?: { name: string } }[];
  containers: { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[] }[];
}
const tpl = (o: K8sObject): { metadata: { annotations: Record<string, string> }; spec: Pod } => (o.spec as { template: { metadata: { annotations: Record<string, string> }; spec: Pod } }).template;
const ksvcsOf = (objs: K8sObject[]): K8sObject[] => objs.filter((o) => o.apiVersion === "serving.knative.dev/v1" && o.kind === "Service");
const policiesText = (objs: K8sObject[]): string => {
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "flywheel-policies");
  return String((cm?.data as Record<string, string> | undefined)?.["policies.yaml"]);
};
const readers = [...READS_POLICIES].map((t) => TARGETS[t].service).sort();

describe.each(OVERLAYS)("policies in overlay %s", (overlay) => {
  const objs = renderObjects(overlay);

  it("ship a policies file with production defaults: the fair gate's floor, a canary rollout, retrain guards", () => {
    const p = parsePolicies(policiesText(objs)).forModel("any-model");
    expect(p.gate).toMatchObject({ metric: "accuracy", floors: { accuracy: 0.8 } });
    expect(p.rollout).toMatchObject({ strategy: "canary", canaryPercent: 10, decideAfterRequests: 200 });
    expect(p.retrain).toMatchObject({ maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3, requireNewData: true });
    expect(p.feedback.rollbackOnAccuracyDrop).toBe(false);
  });

  it("mount it read-only (a directory, so updates reach the pod) into exactly the functions that read policies", () => {
    expect(readers).toEqual(["deploy-model", "infer", "log-model", "retrain-on-drift"]);
    const digest = policiesDigest(policiesText(objs));
    for (const k of ksvcsOf(objs)) {
      const t = tpl(k);
      const c = t.spec.containers[0]!;
      const file = c.env.find((e) => e.name === "FLYWHEEL_POLICIES_FILE")?.value;
      const vol = t.spec.volumes.find((v) => v.configMap?.name === "flywheel-policies");
      if (!readers.includes(k.metadata.name)) {
        expect([file, vol], k.metadata.name).toEqual([undefined, undefined]);
        continue;
      }
      const mount = c.volumeMounts.find((m) => m.name === vol?.name);
      expect(mount, k.metadata.name).toMatchObject({ readOnly: true });
      expect(mount?.subPath).toBeUndefined();
      expect(file).toBe(`${mount?.mountPath}/policies.yaml`);
      expect(t.metadata.annotations[POLICIES_DIGEST_ANNOTATION], k.metadata.name).toBe(digest);
    }
  });
});

describe("policiesPatches (ansible/tasks/flywheel.yml builds the same)", () => {
  it("replace the file and the digest on every reading Service, and refuse a file that would not parse", () => {
    const mine = "defaults:\n  rollout: {strategy: replace}\nmodels:\n  iris:\n    gate: {minImprovement: 0.05}\n";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policies-overlay-"));
    try {
      fs.writeFileSync(path.join(dir, "kustomization.yaml"), YAML.stringify({ resources: [path.join(MANIFESTS_DIR, "overlays", "kserve")], patches: policiesPatches(mine, readers) }));
      const objs = kustomizeBuild(dir);
      expect(policiesText(objs)).toBe(mine);
      const digests = ksvcsOf(objs).filter((k) => readers.includes(k.metadata.name)).map((k) => tpl(k).metadata.annotations[POLICIES_DIGEST_ANNOTATION]);
      expect(digests).toEqual(readers.map(() => policiesDigest(mine)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(() => policiesPatches("defaults:\n  rollout: {strategy: blue-green}\n", readers)).toThrow(/policies\.defaults\.rollout\.strategy/);
  });
});
