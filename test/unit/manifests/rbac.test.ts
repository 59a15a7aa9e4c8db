// RBAC: each Role is exactly its entry in the RBAC table, the table's training kinds are the ones the training code
// creates (TRAINING_KINDS_K8S), the serving plurals are the CRDs' own; nothing is cluster-wide, nothing reads secrets.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { TRAINING_KINDS_K8S } from "../../../platform/training/kubernetes/meta.ts";
import { TRAINING_RBAC } from "../../../platform/training/kubernetes/rbac.ts";
import { OVERLAYS, renderObjects, type K8sObject } from "../../../platform/manifests/index.ts";
import { baseRoles, servingRoles, SERVING_RESOURCES, trainingRoles, type RoleDecl } from "../../../platform/manifests/rbac.ts";
import { USES_KUBERNETES_API } from "../../../platform/manifests/functions.ts";
import { SERVICES } from "../../../platform/manifests/settings.ts";
import { CRD_DIR } from "../../support/crds.ts";

const expectedRoles = (overlay: string): RoleDecl[] => [
  ...baseRoles(),
  ...trainingRoles(overlay === "trainjob" ? "trainjob" : "pytorchjob"),
  ...servingRoles(overlay === "seldon" ? "seldon" : "kserve"),
];

describe.each(OVERLAYS)("RBAC in overlay %s", (overlay) => {
  const objs = renderObjects(overlay);
  const roles = objs.filter((o) => o.kind === "Role");
  const bindings = objs.filter((o) => o.kind === "RoleBinding");

  it("grants each Role exactly what the RBAC table lists, bound to the right ServiceAccount", () => {
    const expected = expectedRoles(overlay);
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(expected.map((r) => r.name).sort());
    for (const decl of expected) {
      const role = roles.find((r) => r.metadata.name === decl.name)!;
      expect(role.rules, decl.name).toEqual(decl.rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })));
      const binding = bindings.find((b) => b.metadata.name === decl.name)!;
      expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: decl.name });
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: decl.serviceAccount, namespace: "flywheel" }]);
    }
  });

  it("has no cluster-wide grants, wildcards, secret access or escalation verbs", () => {
    expect(objs.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toEqual([]);
    for (const r of roles) {
      for (const rule of r.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs], r.metadata.name).not.toContain("*");
        expect(rule.resources, r.metadata.name).not.toContain("secrets");
        expect(rule.verbs.filter((v) => ["escalate", "bind", "impersonate"].includes(v))).toEqual([]);
        expect(rule.resources.filter((x) => x.startsWith("roles") || x.startsWith("rolebindings") || x.startsWith("clusterrole"))).toEqual([]);
      }
    }
    for (const b of bindings) expect((b.roleRef as { name: string }).name).not.toBe("cluster-admin");
  });

  it("binds only ServiceAccounts that exist, and mounts tokens only where the code calls the API", () => {
    const sas = new Map(objs.filter((o) => o.kind === "ServiceAccount").map((o) => [o.metadata.name, o]));
    for (const b of bindings) for (const s of b.subjects as { name: string }[]) expect(sas.has(s.name), s.name).toBe(true);
    const bound = new Set(bindings.flatMap((b) => (b.subjects as { name: string }[]).map((s) => s.name)));
    for (const s of SERVICES) {
      const sa = sas.get(s.service) as K8sObject;
      expect(sa.automountServiceAccountToken, s.service).toBe(USES_KUBERNETES_API.has(s.target));
      // A function with no Role must not get a token, and one with a token must have a Role.
      expect(bound.has(s.service), s.service).toBe(USES_KUBERNETES_API.has(s.target));
    }
  });
});

describe("the RBAC table against the code", () => {
  it("launch-training manages exactly the kinds the training backend renders (Job, SparkApplication + its operator's)", () => {
    const plurals = (roles: RoleDecl[]) => roles.filter((r) => r.serviceAccount === "launch-training").flatMap((r) => r.rules.flatMap((x) => x.resources));
    const all = [...plurals(baseRoles()), ...plurals(trainingRoles("pytorchjob")), ...plurals(trainingRoles("trainjob"))];
    const fromCode = Object.values(TRAINING_KINDS_K8S).map((k) => k.plural);
    expect(new Set(all.filter((p) => !p.startsWith("pods")))).toEqual(new Set(fromCode));
    expect(all).toContain("pods/log");
    // Verbs are the training backend's own table, rule for rule: nothing more than its code calls.
    const rules = [...baseRoles(), ...trainingRoles("pytorchjob"), ...trainingRoles("trainjob")]
      .filter((r) => r.serviceAccount === "launch-training")
      .flatMap((r) => r.rules.map((x) => ({ apiGroup: x.apiGroups[0], resource: x.resources[0], verbs: [...x.verbs] })));
    expect(rules.sort((a, b) => String(a.resource).localeCompare(String(b.resource)))).toEqual(
      TRAINING_RBAC.map((r) => ({ apiGroup: r.apiGroup, resource: r.resource, verbs: [...r.verbs] })).sort((a, b) => a.resource.localeCompare(b.resource)),
    );
  });

  it("serving resources are the plurals of the serving backends' own CRDs", () => {
    const crdPlurals = new Map<string, Set<string>>();
    for (const f of fs.readdirSync(CRD_DIR).filter((x) => x.endsWith(".yaml"))) {
      const crd = YAML.parse(fs.readFileSync(path.join(CRD_DIR, f), "utf8")) as { spec: { group: string; names: { plural: string } } };
      const set = crdPlurals.get(crd.spec.group) ?? new Set<string>();
      set.add(crd.spec.names.plural);
      crdPlurals.set(crd.spec.group, set);
    }
    for (const r of Object.values(SERVING_RESOURCES)) {
      for (const res of r.resources) expect(crdPlurals.get(r.apiGroups[0]!)?.has(res), `${r.apiGroups[0]}/${res}`).toBe(true);
    }
  });
});
