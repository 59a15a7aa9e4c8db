// Reads a spec file (YAML or JSON, possibly several YAML documents) for `train` and `deploy`.
import fs from "node:fs";
import { ValidationError } from "../errors.ts";
import { parseYamlDocuments } from "../yaml.ts";

export function readSpecDocuments(file: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new ValidationError([{ field: "--spec", message: `cannot read ${file}` }]);
  }
  try {
    return parseYamlDocuments(text).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    throw new ValidationError([{ field: "--spec", message: `${file} is not valid YAML or JSON: ${e instanceof Error ? e.message : String(e)}` }]);
  }
}
