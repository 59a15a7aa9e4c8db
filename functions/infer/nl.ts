// Deterministic natural-language parser: finds "name value" pairs and matches names against the model's feature
// names, tolerant to case, spaces, hyphens and underscores. No LLM involved.

export const normalise = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, "");

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
/** A label (letters, digits, spaces, _ and -), an optional connector (:, =, is, of, equals), then a number. */
const PAIR = new RegExp(String.raw`([A-Za-z][A-Za-z0-9 _-]*?)\s*(?:[:=]|\bis\b|\bequals\b|\bof\b)?\s*(${NUMBER})(?![0-9.])`, "g");

export interface NlParse {
  readonly record: Record<string, number>;
  /** Names the text mentioned that match no feature. */
  readonly unknown: string[];
  readonly missing: string[];
}

/**
 * "predict iris: sepal length 5.1, sepal width 3.5, petal length 1.4, petal width 0.2" with names
 * [sepal_length, ...] -> {sepal_length: 5.1, ...}. A label matches the feature whose normalised name is its longest
 * normalised suffix, so leading words ("predict iris", "and", "the") are ignored.
 */
export function parseNaturalLanguage(text: string, names: readonly string[]): NlParse {
  const byNorm = names.map((n) => ({ n, norm: normalise(n) })).filter((x) => x.norm).sort((a, b) => b.norm.length - a.norm.length);
  const record: Record<string, number> = {};
  const unknown: string[] = [];
  for (const m of text.matchAll(PAIR)) {
    const label = normalise(m[1] ?? "");
    const value = Number(m[2]);
    const hit = byNorm.find((x) => label.endsWith(x.norm));
    if (hit) record[hit.n] ??= value;
    else if (label) unknown.push((m[1] ?? "").trim());
  }
  return { record, unknown, missing: names.filter((n) => !(n in record)) };
}
