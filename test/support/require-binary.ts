// Outside programs a test needs: present, or the test FAILS with one line naming the Debian package. Never a skip:
// a machine without them must not look green. `npm test` installs them when it runs as root (test/setup).
import { spawnSync } from "node:child_process";
import fs from "node:fs";

export class MissingDependencyError extends Error {
  override name = "MissingDependencyError";
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/** The absolute path of `file`, or a throw naming the Debian package that provides it. */
export function requireBinary(file: string, debianPackage: string): string {
  if (!isExecutable(file)) {
    throw new MissingDependencyError(`${file} is missing: apt-get install -y --no-install-recommends ${debianPackage}`);
  }
  return file;
}

export const PYTHON = "/usr/bin/python3";

/** Debian's python3 with the given modules importable (module -> Debian package), or a throw naming the packages. */
export function requirePythonModules(modules: Readonly<Record<string, string>>): string {
  requireBinary(PYTHON, "python3");
  const missing = Object.entries(modules).filter(([m]) => spawnSync(PYTHON, ["-c", `import ${m}`], { stdio: "ignore" }).status !== 0);
  if (missing.length) {
    throw new MissingDependencyError(`python3 modules ${missing.map(([m]) => m).join(", ")} are missing: apt-get install -y --no-install-recommends ${missing.map(([, p]) => p).join(" ")}`);
  }
  return PYTHON;
}

/** Every outside program the tests run, with its Debian path and package (the list `.ci/run` installs). */
export const TOOLS = {
  promtool: ["/usr/bin/promtool", "prometheus"],
  prometheus: ["/usr/bin/prometheus", "prometheus"],
  amtool: ["/usr/bin/amtool", "prometheus-alertmanager"],
  "prometheus-alertmanager": ["/usr/bin/prometheus-alertmanager", "prometheus-alertmanager"],
  "ansible-playbook": ["/usr/bin/ansible-playbook", "ansible-core"],
  "ansible-lint": ["/usr/bin/ansible-lint", "ansible-lint"],
  kubectl: ["/usr/bin/kubectl", "kubectl"],
  chromium: ["/usr/bin/chromium", "chromium"],
  kcat: ["/usr/bin/kcat", "kcat"],
  openssl: ["/usr/bin/openssl", "openssl"],
  initdb: ["/usr/lib/postgresql/15/bin/initdb", "postgresql"],
} as const satisfies Record<string, readonly [string, string]>;
export type Tool = keyof typeof TOOLS;

/** requireBinary for a known tool by name: `requireTool("promtool")` -> "/usr/bin/promtool". */
export function requireTool(name: Tool): string {
  const [file, pkg] = TOOLS[name];
  return requireBinary(file, pkg);
}
