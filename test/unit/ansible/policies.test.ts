// ansible/tasks/policies.yml, run by a real ansible-playbook on this host: an operator's policies file becomes the same
// kustomize patches platform/manifests/policies.ts builds (content byte for byte, the same sha256 on the same
// Services), and a file that is not a policies file stops the install.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { TARGETS } from "../../../platform/knative/targets.ts";
import { policiesPatches, READS_POLICIES } from "../../../platform/manifests/policies.ts";
import { requireTool } from "../../support/require-binary.ts";

const ANSIBLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../ansible");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ansible-policies-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const vars = YAML.parse(fs.readFileSync(path.join(ANSIBLE, "group_vars/all/main.yml"), "utf8")) as { flywheel_policies_file: string; flywheel_policy_readers: string[] };

/** Run the task file on localhost with these vars; the patches it set, or the failure output. */
function run(policiesFile: string): { ok: boolean; patches: { patch: string; target?: Record<string, string> }[]; output: string } {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  const playbook = path.join(dir, "play.yml");
  fs.writeFileSync(
    playbook,
    YAML.stringify([
      {
        hosts: "localhost",
        connection: "local",
        gather_facts: false,
        vars: { flywheel_namespace: "flywheel", flywheel_policies_file: policiesFile, flywheel_policy_readers: vars.flywheel_policy_readers },
        tasks: [
          { name: "policies", "ansible.builtin.include_tasks": path.join(ANSIBLE, "tasks/policies.yml") },
          { name: "out", "ansible.builtin.copy": { dest: out, content: "{{ flywheel_policies_patches | to_json }}", mode: "0600" } },
        ],
      },
    ]),
  );
  const r = spawnSync(requireTool("ansible-playbook"), ["-i", "localhost,", playbook], { cwd: dir, encoding: "utf8", env: { ...process.env, ANSIBLE_NOCOLOR: "1", HOME: process.env.HOME ?? dir }, timeout: 120_000 });
  const ok = r.status === 0;
  return { ok, patches: ok ? (JSON.parse(fs.readFileSync(out, "utf8")) as { patch: string; target?: Record<string, string> }[]) : [], output: r.stdout + r.stderr };
}

describe("ansible/tasks/policies.yml", () => {
  it("lists the functions that read policies, and ships no file by default", () => {
    expect([...vars.flywheel_policy_readers].sort()).toEqual([...READS_POLICIES].map((t) => TARGETS[t].service).sort());
    expect(vars.flywheel_policies_file).toBe("");
  });

  it("turns an operator's file into the generator's patches (content and digest)", () => {
    // Comments, a trailing newline and non-ASCII survive byte for byte: the digest is over the file as written.
    const text = "# ours — canaries everywhere\ndefaults:\n  rollout: {strategy: canary, canaryPercent: 20}\nmodels:\n  iris:\n    gate: {minImprovement: 0.05}\n";
    const file = path.join(dir, "policies.yaml");
    fs.writeFileSync(file, text);
    const r = run(file);
    expect(r.ok, r.output).toBe(true);
    const expected = policiesPatches(text, vars.flywheel_policy_readers);
    expect(r.patches.map((p) => ({ target: p.target, patch: JSON.parse(p.patch) as unknown }))).toEqual(expected.map((p) => ({ target: p.target, patch: JSON.parse(p.patch) as unknown })));
  }, 240_000);

  it("stops on a file that is not a policies file", () => {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, "gate: {minImprovement: 0.05}\n");
    const r = run(file);
    expect(r.ok).toBe(false);
    expect(r.output).toContain("a policies file has only defaults, models and deployments");
  }, 120_000);
});
