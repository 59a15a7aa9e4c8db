// The fake MLflow must not be built from the code it checks: nothing it imports, directly or through another module,
// may come from platform/ (the embedded registry, its store or its search code included).
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";

const FAKE = path.resolve("test/support/fake-mlflow/index.ts");

/** Every file reachable from `entry` through relative imports (static, dynamic and re-exports). */
export function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const ref of ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!ref.fileName.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), ref.fileName);
      visit(fs.existsSync(target) ? target : `${target}.ts`);
    }
  };
  visit(entry);
  return [...seen].map((f) => path.relative(process.cwd(), f)).sort();
}

it("the fake MLflow imports nothing from platform/", () => {
  const files = importGraph(FAKE);
  expect(files).toContain("test/support/fake-mlflow/models.ts");
  expect(files.filter((f) => !f.startsWith("test/"))).toEqual([]);
});

it("the scan sees through to platform/ when a module does import it", () => {
  // The same scan over a test that uses the real registry must find it, or the check above could pass vacuously.
  const files = importGraph(path.resolve("test/integration/mlflow/fake-golden.test.ts"));
  expect(files).toContain("test/support/mlflow-replay.ts");
  expect(importGraph(path.resolve("test/integration/log-model/fake-mlflow.test.ts")).some((f) => f.startsWith("platform/registry/") || f.startsWith("platform/mlflow/"))).toBe(true);
});
