// The shipped rules and Alertmanager configs: promtool/amtool pass, CRDs validate, both rule files carry the same groups.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { crdErrors } from "../../support/crds.ts";
import { requireTool } from "../../support/require-binary.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const read = (p: string): unknown => YAML.parse(fs.readFileSync(path.join(root, p), "utf8"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-rules-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: "promtool" | "amtool", args: string[]): { status: number | null; out: string } {
  const res = spawnSync(requireTool(cmd), args, { encoding: "utf8", cwd: tmp });
  if (res.error) throw res.error;
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}
const rules = read("manifests/prometheus/rules.yml") as RuleFile;
const promRule = read("manifests/base/monitoring/prometheusrule.yaml") as { apiVersion: string; kind: string; spec: RuleFile };

describe("Flywheel rules (platform/telemetry/rules.ts)", () => {
  it("promtool check rules passes on the plain rules file", () => {
    const r = run("promtool", ["check", "rules", path.join(root, "manifests/prometheus/rules.yml")]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("the PrometheusRule is valid against its CRD, carries the same groups, and its groups pass promtool", () => {
    expect(crdErrors(promRule)).toEqual([]);
    expect(promRule.spec.groups).toEqual(rules.groups);
    const f = path.join(tmp, "from-crd.yml");
    fs.writeFileSync(f, YAML.stringify({ groups: promRule.spec.groups }));
    expect(run("promtool", ["check", "rules", f]).status).toBe(0);
  });
  // Firing and the PSI arithmetic: test/unit/drift/psi-rules.test.ts (promtool test rules on multi-replica counters).
});

describe("Alertmanager configs", () => {
  it("amtool check-config passes on the standalone config", () => {
    const r = run("amtool", ["check-config", path.join(root, "manifests/prometheus/alertmanager.yml")]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("routes by alertname and model to /hooks/alertmanager with a bearer credentials_file", () => {
    const am = read("manifests/prometheus/alertmanager.yml") as {
      route: { receiver: string; group_by: string[] };
      receivers: { name: string; webhook_configs: { url: string; send_resolved: boolean; http_config: { authorization: { type: string; credentials_file: string } } }[] }[];
    };
    expect(am.route.group_by).toEqual(["alertname", "model"]);
    const receiver = am.receivers.find((r) => r.name === am.route.receiver);
    const hook = receiver?.webhook_configs[0];
    expect(new URL(hook?.url ?? "").pathname).toBe("/hooks/alertmanager");
    expect(hook?.send_resolved).toBe(true);
    expect(hook?.http_config.authorization.type).toBe("Bearer");
    expect(hook?.http_config.authorization.credentials_file).toMatch(/^\//);
  });

  it("the cluster AlertmanagerConfig is valid against its CRD and references a generated Secret", () => {
    const amc = read("manifests/base/monitoring/alertmanagerconfig.yaml") as {
      apiVersion: string;
      kind: string;
      spec: { route: { groupBy: string[] }; receivers: { webhookConfigs: { httpConfig: { authorization: { credentials: { name: string; key: string } } } }[] }[] };
    };
    expect(crdErrors(amc)).toEqual([]);
    expect(amc.spec.route.groupBy).toEqual(["alertname", "model"]);
    expect(amc.spec.receivers[0]?.webhookConfigs[0]?.httpConfig.authorization.credentials).toEqual({ name: "flywheel-alertmanager-token", key: "token" });
    const files = fs.readdirSync(path.join(root, "manifests/base/monitoring"));
    for (const f of files) {
      const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(root, "manifests/base/monitoring", f), "utf8"));
      for (const d of docs) expect((d.toJSON() as { kind?: string } | null)?.kind).not.toBe("Secret");
    }
  });
});
