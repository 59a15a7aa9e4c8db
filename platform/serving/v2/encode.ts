// The infer answer as JSON text, equal to JSON.stringify's: output tensors' data are written element by element, which
// is about twice as fast for numbers as JSON.stringify of the same object. Everything else goes through JSON.stringify.
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !("toJSON" in v);

function element(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  // Strings, null, nested arrays; undefined and functions become null in an array, as JSON.stringify writes them.
  return JSON.stringify(v) ?? "null";
}

function array(items: readonly unknown[], each: (v: unknown) => string): string {
  let s = "[";
  for (let i = 0; i < items.length; i++) s += (i ? "," : "") + each(items[i]);
  return `${s}]`;
}

/** An object's members in JSON.stringify's order, with `special` encoding the named member when it is an array. */
function object(o: Record<string, unknown>, key: string, special: (v: readonly unknown[]) => string): string {
  let s = "{";
  for (const k of Object.keys(o)) {
    const v = o[k];
    const text = k === key && Array.isArray(v) ? special(v) : JSON.stringify(v);
    if (text === undefined) continue;
    s += `${s.length > 1 ? "," : ""}${JSON.stringify(k)}:${text}`;
  }
  return `${s}}`;
}

const output = (o: unknown): string => (isPlain(o) ? object(o, "data", (d) => array(d, element)) : (JSON.stringify(o) ?? "null"));

/** JSON.stringify(res) of an infer answer (InferResponse, or a composite's), faster for the usual one. */
export function inferResponseJson(res: unknown): string {
  return isPlain(res) ? object(res, "outputs", (outs) => array(outs, output)) : (JSON.stringify(res) ?? "null");
}
