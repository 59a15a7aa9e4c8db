// Training spec input for the API: JSON or YAML text in, a validated TrainingSpec or field errors out (never a crash).
import YAML from "yaml";
import { ValidationError } from "../errors.ts";
import { zodIssues } from "../events/envelope.ts";
import { TrainingSpecSchema, type TrainingSpec } from "../specs/training.ts";

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
    const docs = YAML.parseAllDocuments(trimmed, { prettyErrors: false });
    const errors = docs.flatMap((d) => d.errors);
    if (errors.length) throw new ValidationError([{ field: "(root)", message: `is not valid YAML: ${errors[0]?.message.split("\n")[0] ?? "parse error"}` }]);
    if (docs.length !== 1) throw new ValidationError([{ field: "(root)", message: `expected one YAML document, got ${docs.length}` }]);
    value = docs[0]?.toJS({ maxAliasCount: 50 });
  }
  return parseTrainingSpec(value);
}
