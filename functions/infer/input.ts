// What people send to infer, by content type: a record, a list of records, CSV with a header, a raw V2 request,
// or natural language ({"text": "..."} or text/plain).
import { UnsupportedMediaTypeError, ValidationError } from "../../platform/errors.ts";
import { InferRequestSchema, type InferRequest } from "../../platform/serving/v2/types.ts";
import { zodIssues } from "../../platform/events/index.ts";
import { DEFAULT_MAX_ROWS, nextTurn, ROWS_PER_TURN, tooManyRows } from "./pace.ts";

export type Row = Readonly<Record<string, unknown>>;

export type InferInput =
  | { readonly kind: "v2"; readonly request: InferRequest }
  | { readonly kind: "records"; readonly records: readonly Row[]; readonly single: boolean }
  | { readonly kind: "text"; readonly text: string };

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === "object" && !Array.isArray(v);

/** Classify an already-parsed JSON value. */
export function fromJson(body: unknown): InferInput {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new ValidationError([{ field: "body", message: "the list of records is empty" }]);
    body.forEach((r, i) => {
      if (!isObject(r)) throw new ValidationError([{ field: `body[${i}]`, message: "each record must be a JSON object" }]);
    });
    return { kind: "records", records: body as Row[], single: false };
  }
  if (!isObject(body)) throw new ValidationError([{ field: "body", message: "send a JSON object (a record, {\"text\": ...} or a V2 request) or a list of records" }]);
  if (Array.isArray(body.inputs)) {
    const parsed = InferRequestSchema.safeParse(body);
    if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "body"));
    return { kind: "v2", request: parsed.data };
  }
  if (typeof body.text === "string" && Object.keys(body).length === 1) return { kind: "text", text: body.text };
  if (Array.isArray(body.records)) return fromJson(body.records);
  return { kind: "records", records: [body], single: true };
}

/** RFC 4180-ish CSV rows, one at a time: quoted fields with "" escapes, CRLF or LF; blank rows are skipped. */
function* csvRows(text: string): Generator<string[]> {
  let field = "";
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((c) => c.trim() !== "")) yield row;
      row = [];
      field = "";
    } else field += ch;
  }
  if (quoted) throw new ValidationError([{ field: "body", message: "CSV has an unterminated quoted field" }]);
  row.push(field);
  if (row.some((c) => c.trim() !== "")) yield row;
}

/** One data row (1-based data index r) as a record keyed by the header. */
function csvRecord(names: readonly string[], cells: readonly string[], r: number): Row {
  if (cells.length !== names.length) {
    throw new ValidationError([{ field: `csv row ${r + 1}`, message: `has ${cells.length} fields, the header has ${names.length}` }]);
  }
  return Object.fromEntries(names.map((n, i) => [n, cells[i]?.trim() ?? ""]));
}

const noDataRows = (): ValidationError => new ValidationError([{ field: "body", message: "CSV needs a header row and at least one data row" }]);

/** CSV with a header row -> records (synchronous; for small inputs). */
export function parseCsv(text: string): Row[] {
  const [header, ...data] = csvRows(text);
  if (!header || data.length === 0) throw noDataRows();
  const names = header.map((h) => h.trim());
  return data.map((cells, r) => csvRecord(names, cells, r + 1));
}

/**
 * A cheap lower bound on the rows (header included) of quote-free CSV, counting up to `stop`: each LF-separated line
 * with a non-blank cell is at least one row. Lets a body far over the cap be refused before it is parsed.
 */
function atLeastRows(text: string, stop: number): number {
  if (text.includes('"')) return 0;
  let count = 0;
  for (let start = 0; start < text.length && count < stop; ) {
    const end = text.indexOf("\n", start);
    const stopAt = end === -1 ? text.length : end;
    if (/[^\s,]/.test(text.slice(start, stopAt))) count++;
    start = stopAt + 1;
  }
  return count;
}

/** parseCsv for request bodies: stops at maxRows data rows (400 naming the field) and yields to the event loop as it goes. */
export async function parseCsvPaced(text: string, maxRows: number): Promise<Row[]> {
  if (atLeastRows(text, maxRows + 2) > maxRows + 1) throw tooManyRows("body", maxRows);
  let names: string[] | undefined;
  const records: Row[] = [];
  for (const cells of csvRows(text)) {
    if (!names) {
      names = cells.map((h) => h.trim());
      continue;
    }
    if (records.length === maxRows) throw tooManyRows("body", maxRows);
    records.push(csvRecord(names, cells, records.length + 1));
    if (records.length % ROWS_PER_TURN === 0) await nextTurn();
  }
  if (records.length === 0) throw noDataRows();
  return records;
}

/** Parse a request body by its content type. */
export function parseBody(contentType: string, body: string): InferInput {
  const ct = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (ct === "text/csv") {
    const records = parseCsv(body);
    return { kind: "records", records, single: false };
  }
  // curl -d sends form encoding and fetch with a string body sends text/plain: accept JSON that arrives that way.
  if ((ct === "text/plain" || ct === "application/x-www-form-urlencoded") && /^\s*[[{]/.test(body)) {
    try {
      return fromJson(JSON.parse(body));
    } catch (e) {
      if (e instanceof ValidationError) throw e;
      // not JSON after all: read it as text below
    }
  }
  if (ct === "text/plain") {
    if (!body.trim()) throw new ValidationError([{ field: "body", message: "the text is empty" }]);
    return { kind: "text", text: body };
  }
  if (ct === "application/json" || ct === "" || ct.endsWith("+json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ValidationError([{ field: "body", message: "is not valid JSON" }]);
    }
    return fromJson(parsed);
  }
  throw new UnsupportedMediaTypeError(`content type ${ct} is not accepted: use application/json, text/csv or text/plain`);
}

/**
 * parseBody for the request path: CSV is parsed in chunks, and more than maxRows rows (CSV lines or records) is a 400
 * naming the field, so the CPU one request can take stays bounded.
 */
export async function readInput(contentType: string, body: string, maxRows = DEFAULT_MAX_ROWS): Promise<InferInput> {
  const ct = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (ct === "text/csv") return { kind: "records", records: await parseCsvPaced(body, maxRows), single: false };
  const input = parseBody(contentType, body);
  if (input.kind === "records" && input.records.length > maxRows) throw tooManyRows("body", maxRows, input.records.length);
  return input;
}
