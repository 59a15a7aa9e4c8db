// Training spec input for the API: JSON or YAML text in, a validated TrainingSpec or field errors out (never a crash).
import { ValidationError } from "../errors.ts";
import { zodIssues } from "../events/envelope.ts";
import { TrainingSpecSchema, type TrainingSpec } from "../specs/training.ts";
import { parseYamlDocuments, YamlError } from "../yaml.ts";

/** Validate an already-parsed value. Throws ValidationError naming each bad field (`kind`, `resources.cpu`, ...). */
export function parseTrainingSpec(input: unknown): TrainingSpec {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError([{ field: "(root)", message: "the training spec must be an object" }]);
  }
  const res = TrainingSpecSchema.safeParse(input);
  if (!res.success) throw new ValidationError(zodIssues(res.error));
  return res.data;
}

/** Parse spec text: JSON when the content type says so (or it looks like JSON), YAML otherwise (one document). */
export function parseTrainingSpecText(text: string, contentType = ""): TrainingSpec {
  const trimmed = text.trim();
  if (!trimmed) throw new ValidationError([{ field: "(root)", message: "the body is empty: send a training spec as JSON or YAML" }]);
  let value: unknown;
  if (contentType.includes("json") || (!contentType.includes("yaml") && /^[[{]/.test(trimmed))) {
    try {
      value = JSON.parse(trimmed);
    } catch (e) {
      throw new ValidationError([{ field: "(root)", message: `is not valid JSON: ${e instanceof Error ? e.message : String(e)}` }]);
    }
  } else {
    let docs: unknown[];
    try {
      docs = parseYamlDocuments(trimmed);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      throw new ValidationError([{ field: "(root)", message: `is not valid YAML: ${e.message}` }]);
    }
    if (docs.length !== 1) throw new ValidationError([{ field: "(root)", message: `expected one YAML document, got ${docs.length}` }]);
    value = docs[0];
  }
  return parseTrainingSpec(value);
}
