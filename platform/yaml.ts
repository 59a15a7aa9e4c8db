// The one YAML parse for everything the platform reads (request bodies, spec files, MLmodel, trigger and policy
// files): alias expansion capped, duplicate keys refused, every failure a YamlError the caller turns into a 400.
import YAML from "yaml";

export class YamlError extends Error {
  override name = "YamlError";
}

/** An alias bomb ("billion laughs") expands each alias; past this many the document is refused, not expanded. */
export const MAX_YAML_ALIASES = 50;

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "parse error";

/** Every document in `text`, as plain values. Throws YamlError (never anything else) on bad input. */
export function parseYamlDocuments(text: string): unknown[] {
  try {
    return YAML.parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true }).map((d) => {
      const err = d.errors[0];
      if (err) throw new YamlError(firstLine(err));
      return d.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
    });
  } catch (e) {
    if (e instanceof YamlError) throw e;
    // toJS throws a ReferenceError for too many aliases and a RangeError for deep nesting.
    throw new YamlError(firstLine(e));
  }
}

/** Exactly one document (null when the text is empty). */
export function parseYaml(text: string): unknown {
  const docs = parseYamlDocuments(text);
  if (docs.length > 1) throw new YamlError(`expected one YAML document, got ${docs.length}`);
  return docs[0] ?? null;
}
