// Ansible: every playbook passes --syntax-check and ansible-lint (production profile), and the playbooks keep the
// rules the issue sets: argv commands only, versions in one file, no non-idempotent installs, no blanket deletes.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { requireTool } from "../../support/require-binary.ts";

const ANSIBLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../ansible");
const PLAYBOOKS = fs.readdirSync(ANSIBLE).filter((f) => f.endsWith(".yml") && f !== "ansible.cfg");
const allYaml = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allYaml(path.join(dir, e.name)) : e.name.endsWith(".yml") ? [path.join(dir, e.name)] : []));

const need = (bin: "ansible-playbook" | "ansible-lint"): string => requireTool(bin);

describe("ansible playbooks", () => {
  it("are deploy, build and undeploy", () => {
    expect(PLAYBOOKS.sort()).toEqual(["build.yml", "deploy.yml", "undeploy.yml"]);
  });

  it.each(PLAYBOOKS)("%s passes ansible-playbook --syntax-check", (pb) => {
    need("ansible-playbook");
    const r = spawnSync("ansible-playbook", ["-i", "inventory/hosts.yml", "--syntax-check", pb], { cwd: ANSIBLE, encoding: "utf8", env: { ...process.env, ANSIBLE_NOCOLOR: "1" } });
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });

  it("pass ansible-lint with the production profile", () => {
    need("ansible-lint");
    const r = spawnSync("ansible-lint", ["-p", "--profile", "production", ...PLAYBOOKS], {
      cwd: ANSIBLE,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", ANSIBLE_NOCOLOR: "1", HOME: process.env.HOME ?? "/tmp" },
      timeout: 240_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 250_000);

  it("run commands as argv lists, never through a shell", () => {
    for (const f of allYaml(ANSIBLE)) {
      const text = fs.readFileSync(f, "utf8");
      expect(text, f).not.toMatch(/ansible\.builtin\.shell|^\s*shell:|^\s*cmd:|ansible\.builtin\.raw/m);
      const docs: unknown = YAML.parse(text);
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") {
          for (const [k, x] of Object.entries(v)) {
            if (k === "ansible.builtin.command") expect(x && typeof x === "object" && "argv" in x, `${f}: command without argv`).toBe(true);
            walk(x);
          }
        }
      };
      walk(docs);
    }
  });

  it("keep every version in versions.yml and install idempotently", () => {
    const versions = YAML.parse(fs.readFileSync(path.join(ANSIBLE, "group_vars/all/versions.yml"), "utf8")) as Record<string, string>;
    expect(Object.keys(versions).length).toBeGreaterThan(10);
    for (const f of allYaml(ANSIBLE).filter((x) => !x.endsWith("versions.yml"))) {
      const text = fs.readFileSync(f, "utf8");
      // A literal release version anywhere else would drift from the vars file.
      expect(text.match(/(?:download\/|ref=|--version\s+)v?\d+\.\d+/g), f).toBeNull();
      expect(text, f).not.toMatch(/"install",|- install$/m);
      expect(text, f).not.toMatch(/delete.*\bpv\b|--all-namespaces|delete.*--all\b/);
    }
    const deploy = fs.readFileSync(path.join(ANSIBLE, "deploy.yml"), "utf8");
    const order = ["Install cert-manager", "Install trust-manager", "Install Knative Serving", "Install Knative Eventing", "Install the Kubeflow Training Operator", "Install the Spark Operator", "Install KServe", "Install kube-prometheus-stack", "Install MLflow", "name: Deploy Flywheel\n"];
    const at = order.map((s) => deploy.indexOf(s));
    expect(at.every((i) => i >= 0), JSON.stringify(at)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("generate the token Secrets through stdin with logging off", () => {
    // Every Secret the manifests reference for a signing key is generated at install and removed by undeploy.
    const flywheel = fs.readFileSync(path.join(ANSIBLE, "tasks/flywheel.yml"), "utf8");
    const undeploy = fs.readFileSync(path.join(ANSIBLE, "undeploy.yml"), "utf8");
    for (const name of ["flywheel-session", "flywheel-request-id"]) {
      expect(flywheel, name).toContain(`- { name: ${name}, key: key }`);
      expect(undeploy, name).toContain(`["secret", "${name}",`);
    }
    const secret = fs.readFileSync(path.join(ANSIBLE, "tasks/secret.yml"), "utf8");
    expect(secret).toMatch(/kubectl_stdin:/);
    expect(secret).toMatch(/kubectl_no_log: true/);
    expect(execFileSync("git", ["ls-files", "ansible", "manifests"], { cwd: path.dirname(ANSIBLE), encoding: "utf8" })).not.toMatch(/\.(pem|key)$/m);
  });
});
