// Deterministic natural-language parser: finds "name value" pairs and matches names against the model's feature
// names, tolerant to case, spaces, hyphens and underscores. No LLM involved.

export const normalise = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * Only the first words of a text are read. Anything past this is not a feature list a person typed, and capping it
 * bounds the work one anonymous request can cause.
 */
export const MAX_NL_WORDS = 10_000;
/** Labels longer than this keep only their end: a feature name is matched as a suffix anyway. */
const MAX_LABEL_CHARS = 256;

// Each number is found once, left to right, and its label is read backwards from it, never past the previous number:
// every character is looked at a bounded number of times, so the parser is linear. (The single pair regex it
// replaces retried a lazy label from every start position, which was quadratic.)
const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/g;
const isLabelChar = (c: string): boolean => /^[A-Za-z0-9 _-]$/.test(c);
const isWordChar = (c: string | undefined): boolean => c !== undefined && /^\w$/.test(c);
const isSpace = (c: string | undefined): boolean => c !== undefined && /^\s$/.test(c);
const CONNECTOR_WORDS = ["equals", "is", "of"] as const;

export interface NlParse {
  readonly record: Record<string, number>;
  /** Names the text mentioned that match no feature. */
  readonly unknown: string[];
  readonly missing: string[];
}

/** The text up to its MAX_NL_WORDS-th word. */
function firstWords(text: string): string {
  let words = 0;
  for (const m of text.matchAll(/\S+/g)) {
    if (++words > MAX_NL_WORDS) return text.slice(0, m.index);
  }
  return text;
}

/** The label in `text[from, to)` that ends right before a number: "sepal length is " -> "sepal length". */
function labelBefore(text: string, from: number, to: number, numberStart: string | undefined): string {
  let end = to;
  while (end > from && isSpace(text[end - 1])) end--;
  const c = text[end - 1];
  if (c === ":" || c === "=") end--;
  else {
    for (const w of CONNECTOR_WORDS) {
      const at = end - w.length;
      const boundaryAfter = end < to || !isWordChar(numberStart);
      if (at >= from && text.slice(at, end) === w && !isWordChar(text[at - 1]) && boundaryAfter) {
        end = at;
        break;
      }
    }
  }
  while (end > from && isSpace(text[end - 1])) end--;
  let start = end;
  while (start > from && end - start < MAX_LABEL_CHARS && isLabelChar(text[start - 1] ?? "")) start--;
  // A label starts with a letter: digits and separators at its front belong to no name.
  while (start < end && !/^[A-Za-z]$/.test(text[start] ?? "")) start++;
  return text.slice(start, end);
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
  const read = firstWords(text);
  let previousEnd = 0;
  for (const m of read.matchAll(NUMBER)) {
    const start = m.index;
    const end = start + m[0].length;
    const from = previousEnd;
    previousEnd = end;
    // "1.2.3" or "5.1.": a number glued to more digits or dots is no value.
    if (/^[0-9.]$/.test(read[end] ?? "")) continue;
    const raw = labelBefore(read, from, start, m[0][0]);
    const label = normalise(raw);
    if (!label) continue;
    const hit = byNorm.find((x) => label.endsWith(x.norm));
    if (hit) record[hit.n] ??= Number(m[0]);
    else unknown.push(raw.trim());
  }
  return { record, unknown, missing: names.filter((n) => !(n in record)) };
}
