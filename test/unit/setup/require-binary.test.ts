// The missing-program failure is one line naming the Debian package, and every tool the tests use is in the list
// `npm test` (test/setup/ensure-debian.sh) and .ci/run install.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MissingDependencyError, requireBinary, requirePythonModules, TOOLS } from "../../support/require-binary.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const listed = fs.readFileSync(path.join(repo, "test/setup/debian-packages.txt"), "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);

describe("requireBinary", () => {
  it("throws one line naming the Debian package when the program is missing", () => {
    let err: unknown;
    try {
      requireBinary("/nonexistent/bin/promtool", "prometheus");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingDependencyError);
    const message = err instanceof Error ? err.message : "";
    expect(message).toBe("/nonexistent/bin/promtool is missing: apt-get install -y --no-install-recommends prometheus");
    expect(message).not.toContain("\n");
  });

  it("does not take a directory or a non-executable file for a program", () => {
    expect(() => requireBinary("/usr", "x")).toThrow(MissingDependencyError);
    expect(() => requireBinary(path.join(repo, "package.json"), "x")).toThrow(MissingDependencyError);
    expect(requireBinary(process.execPath, "nodejs")).toBe(process.execPath);
  });

  it("names the Debian packages of missing python modules", () => {
    expect(() => requirePythonModules({ no_such_module_xyz: "python3-xyz" })).toThrow(/python3-xyz$/);
  });

  it("every tool's package is installed by npm test's set-up and .ci/run", () => {
    for (const [, pkg] of Object.values(TOOLS)) expect(listed, pkg).toContain(pkg);
    for (const pkg of ["python3-torch", "python3-sklearn", "python3-onnx", "python3-requests", "postgresql"]) expect(listed).toContain(pkg);
    expect(fs.readFileSync(path.join(repo, ".ci/run"), "utf8")).toContain("test/setup/debian-packages.txt");
    const pkgJson: unknown = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"));
    const scripts = typeof pkgJson === "object" && pkgJson !== null && "scripts" in pkgJson ? pkgJson.scripts : {};
    expect(JSON.stringify(scripts)).toContain("test/setup/ensure-debian.sh");
  });
});
