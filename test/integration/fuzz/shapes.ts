// The fuzz suite's request generators (fast-check): every endpoint family, with the hostile shapes of issue 17 —
// very long text, YAML alias bombs, traversal and over-long paths, odd CloudEvent attributes, non-ASCII everywhere.
import fc from "fast-check";

export interface FuzzRequest {
  readonly family: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  /** "admin" sends the admin bearer token; "none" is an anonymous caller. */
  readonly auth: "admin" | "none";
}

/** The deployment the suite serves (4 float inputs, 4 labels), so infer reaches parsing and the model. */
export const DEPLOYMENT = "fuzzmodel";
export const COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

const words = (n: number, pick: (i: number) => string): string => Array.from({ length: n }, (_, i) => pick(i)).join(" ");
/** Texts of 20k words: the slow-regex input and its relatives (repeats, numbers without names, one long run). */
const LONG_TEXTS = [
  words(20_000, (i) => ["sepal", "length", "is", String(i % 10), "and"][i % 5] ?? "x"),
  words(20_000, () => "is"),
  words(20_000, (i) => `${i}.${i % 7}`),
  words(20_000, (i) => COLUMNS[i % 4]?.replaceAll("_", " ") ?? "x"),
  "sepal length ".repeat(20_000) + "5.1",
  "a".repeat(200_000),
  words(20_000, (i) => (i % 2 ? "=" : "sepal_length")),
];

function aliasBomb(levels: number, width: number): string {
  const lines = [`a0: &a0 [${Array.from({ length: width }, () => '"lol"').join(", ")}]`];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(", ")}]`);
  lines.push(`model: *a${levels - 1}`);
  return lines.join("\n") + "\n";
}

const ODD_WORDS = ["constructor", "__proto__", "prototype", "toString", "hasOwnProperty", "valueOf", "then", "", " ", "null", "undefined", "NaN", "-1", "1e309", "é", "日本語", "🙂", "\u202e", "\u0000", "\ufeff", "a".repeat(300), "%", "%00", "%zz", "\\", "'", '"', "<script>", "${x}", "{{x}}"];
const oddWord = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_WORDS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 5000 }).map((n) => "x".repeat(n)) },
);

const ODD_SEGMENTS = ["..", ".", "%2e%2e", "%2E%2E", "..%2f..%2f", "%252e%252e", "a%2fb", "%5c..%5c", "x".repeat(256), "y".repeat(255), "z".repeat(5000), "é", "%C3%A9", "%FF", "%00", "%zz", "con", "a b", "~", "file.txt", "file.txt/child", "", "//", ";", "?x=1", "#frag"];
const segment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) }, { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9._-]{1,12}$/) }, { weight: 1, arbitrary: oddWord.map(encodeURIComponent) });
/** An already-encoded, odd path (never starting with /). */
const oddPath = fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join("/"));

/** Header values a client can put on the wire (latin1, no CR/LF/NUL): anything else never reaches a server. */
const headerSafe = (s: string): string => s.replace(/[^\x20-\x7e\x80-\xff]/g, "?").trim();
const enc = encodeURIComponent;

const jsonText = fc.oneof(
  { weight: 4, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "{", "[", "null", "1e999", '{"a":', "\u0000", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', JSON.stringify({ a: "x".repeat(100_000) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }).map((n) => "[".repeat(n) + "]".repeat(n)) },
);
const anyDict = fc.dictionary(oddWord, fc.oneof(oddWord, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(oddWord, { maxLength: 3 })), { maxKeys: 6 });
const query = fc.dictionary(fc.oneof(fc.constantFrom("path", "run_id", "rank", "follow", "limit", "model", "state", "max_results", "page_token", "filter", "next", "experiment_id", "name", "version", "tail", "offset"), oddWord), oddWord, { maxKeys: 4 }).map((q) => {
  const s = Object.entries(q).map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
  return s ? `?${s}` : "";
});

const req = (family: string, method: string, path: string, body?: string, headers: Record<string, string> = {}, auth: "admin" | "none" = "admin"): FuzzRequest => ({ family, method, path, headers, body, auth });

// ---- events ingress: structured and binary CloudEvents with odd attributes
const TYPES = ["dev.flywheel.training.requested", "dev.flywheel.training.succeeded", "dev.flywheel.model.promoted", "dev.flywheel.deploy.requested", "dev.flywheel.drift.detected", "dev.flywheel.infer.requested", "com.example.unknown", ""];
const attrName = fc.oneof(fc.constantFrom("constructor", "__proto__", "toString", "hasownproperty", "dataschema", "subject", "time", "traceparent", "Éxt", "x-y", "a".repeat(300), "specversion"), fc.stringMatching(/^[a-z0-9]{1,20}$/), oddWord);
const attrValue = fc.oneof(oddWord, fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom("2026-13-45T99:99:99Z", "application/json; charset=é", "tëxt/plain", "application/x-unknown"));
const eventData = fc.oneof(anyDict, fc.record({ model: oddWord, kind: fc.constantFrom("warp", "single", "ddp"), params: anyDict }, { requiredKeys: [] }), fc.constant(undefined), oddWord);
const structured = fc
  .record({ id: oddWord, source: oddWord, type: fc.oneof(fc.constantFrom(...TYPES), oddWord), specversion: fc.constantFrom("1.0", "0.3", "2.0", "", "é"), extra: fc.dictionary(attrName, attrValue, { maxKeys: 4 }), data: eventData, datacontenttype: fc.option(fc.oneof(oddWord, fc.constantFrom("application/json", "text/plain", "é/é")), { nil: undefined }) })
  .map((e) => {
    const { extra, ...rest } = e;
    return req("events:structured", "POST", "/events", JSON.stringify({ ...extra, ...rest }), { "content-type": "application/cloudevents+json" });
  });
const binary = fc
  .record({ id: oddWord, source: oddWord, type: fc.oneof(fc.constantFrom(...TYPES), oddWord), extra: fc.dictionary(attrName, oddWord, { maxKeys: 4 }), body: fc.oneof(jsonText, oddWord), ct: fc.oneof(fc.constantFrom("application/json", "text/plain", "application/octet-stream", "application/cloudevents-batch+json", "é/é", "", "application/json; charset=latin1"), oddWord) })
  .map((e) => {
    const headers: Record<string, string> = { "ce-specversion": "1.0", "ce-id": headerSafe(e.id), "ce-source": headerSafe(e.source), "ce-type": headerSafe(e.type) };
    for (const [k, v] of Object.entries(e.extra)) {
      const name = `ce-${k.toLowerCase().replace(/[^a-z0-9_-]/g, "")}`;
      if (name.length > 3) headers[name] = headerSafe(v);
    }
    if (headerSafe(e.ct)) headers["content-type"] = headerSafe(e.ct);
    return req("events:binary", "POST", "/events", e.body, headers);
  });

// ---- /api/v1
const specBody = fc.oneof(
  { weight: 3, arbitrary: jsonText.map((b) => ({ b, ct: "application/json" })) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 })).map(([l, w]) => ({ b: aliasBomb(l, w), ct: "application/yaml" })) },
  { weight: 2, arbitrary: fc.record({ model: oddWord, kind: fc.constantFrom("single", "ddp", "spark", "warp"), command: fc.constant(["/nonexistent/flywheel-fuzz"]), params: anyDict, timeoutSeconds: fc.integer({ min: -5, max: 10 }) }, { requiredKeys: [] }).map((s) => ({ b: JSON.stringify(s), ct: "application/json" })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((b) => ({ b, ct: "application/yaml" })) },
  { weight: 1, arbitrary: fc.constantFrom("a: &a [1]\nb: *a\nc: *zz\n", "!!js/function 'x'", "? [a]\n: b", "<<: *x", "a: !!binary ====").map((b) => ({ b, ct: "text/yaml" })) },
);
const deploymentBody = fc.oneof(
  specBody,
  fc.record({ kind: fc.constantFrom("model", "pipeline", "experiment", "x"), name: oddWord, model: oddWord, version: oddWord, backend: fc.constantFrom("local", "seldon", "kserve", "é") }, { requiredKeys: [] }).map((s) => ({ b: JSON.stringify(s), ct: "application/json" })),
);
const apiV1 = fc.oneof(
  fc.tuple(query).map(([q]) => req("api/v1", "GET", `/api/v1/jobs${q}`)),
  specBody.map(({ b, ct }) => req("api/v1", "POST", "/api/v1/jobs", b, { "content-type": ct })),
  fc.tuple(segment, query, fc.constantFrom("", "/logs", "/cancel")).map(([id, q, sub]) => req("api/v1", sub === "/cancel" ? "POST" : "GET", `/api/v1/jobs/${id}${sub}${q}`)),
  fc.tuple(query).map(([q]) => req("api/v1", "GET", `/api/v1/deployments${q}`)),
  deploymentBody.map(({ b, ct }) => req("api/v1", "POST", "/api/v1/deployments", b, { "content-type": ct })),
  fc.tuple(segment, fc.constantFrom("GET", "DELETE", "POST"), fc.constantFrom("", "/promote", "/rollback", "/undeploy")).map(([n, m, sub]) => req("api/v1", sub ? "POST" : m, `/api/v1/deployments/${n}${sub}`, m === "POST" ? "{}" : undefined, { "content-type": "application/json" })),
  fc.tuple(segment).map(([n]) => req("api/v1", "POST", `/api/v1/schedules/${n}/trigger`)),
  fc.tuple(query).map(([q]) => req("api/v1", "GET", `/api/v1/schedules${q}`)),
  fc.tuple(query, fc.constantFrom("events", "dead-letters")).map(([q, p]) => req("api/v1", "GET", `/api/v1/${p}${q}`)),
  fc.tuple(segment, fc.constantFrom("replay", "discard")).map(([id, a]) => req("api/v1", "POST", `/api/v1/dead-letters/${id}/${a}`)),
);

// ---- /api/2.0: MLflow REST and the artifacts proxy
const MLFLOW = ["experiments/create", "experiments/get", "experiments/get-by-name", "experiments/search", "experiments/update", "experiments/delete", "experiments/set-experiment-tag", "runs/create", "runs/get", "runs/update", "runs/log-metric", "runs/log-parameter", "runs/log-batch", "runs/set-tag", "runs/search", "runs/log-inputs", "metrics/get-history", "artifacts/list", "registered-models/create", "registered-models/get", "registered-models/search", "registered-models/alias", "model-versions/create", "model-versions/get", "model-versions/search", "model-versions/get-download-uri", "model-versions/transition-stage", "logged-models", "logged-models/search", "no/such/endpoint"];
const LOCATIONS = ["file:///proc/self", "/proc/self", "file:///tmp/fuzz-outside", "/tmp/fuzz-outside", "file:///x/%2e%2e/%2e%2e/etc", "mlflow-artifacts:/%2e%2e/x", "s3://b/p", "gs://b/p", "runs:/x/..", "", "relative", "file://host/share", "mlflow-artifacts:/fuzz/ok"];
const mlflowBody = fc.oneof(
  jsonText,
  fc.record({ name: oddWord, experiment_id: fc.oneof(oddWord, fc.constantFrom("0", "1", "-1", "99999999999999999999")), run_id: oddWord, artifact_location: fc.constantFrom(...LOCATIONS), source: fc.oneof(fc.constantFrom(...LOCATIONS), oddPath.map((p) => `runs:/x/${p}`)), key: oddWord, value: fc.oneof(oddWord, fc.double()), path: oddPath, max_results: fc.integer(), filter: oddWord, order_by: fc.array(oddWord, { maxLength: 3 }) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);
const mlflow = fc.oneof(
  fc.tuple(fc.constantFrom(...MLFLOW), fc.constantFrom("GET", "POST", "PATCH", "DELETE"), mlflowBody, query).map(([e, m, b, q]) => req("api/2.0 mlflow", m, `/api/2.0/mlflow/${e}${m === "GET" ? q : ""}`, m === "GET" ? undefined : b, { "content-type": "application/json" })),
  fc.tuple(oddPath, fc.constantFrom("GET", "PUT", "DELETE"), fc.string({ maxLength: 100 })).map(([p, m, b]) => req("api/2.0 artifacts", m, `/api/2.0/mlflow-artifacts/artifacts/${p}`, m === "PUT" ? b : undefined)),
  fc.tuple(oddPath).map(([p]) => req("api/2.0 artifacts", "GET", `/api/2.0/mlflow-artifacts/artifacts?path=${enc(decodeSafe(p))}`)),
);
function decodeSafe(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

// ---- /v2 (the embedded V2 server) and /infer/{deployment}
const v2Body = fc.oneof(
  jsonText,
  fc.record({
    id: oddWord,
    inputs: fc.array(fc.record({ name: fc.oneof(fc.constant("x"), oddWord), shape: fc.array(fc.integer({ min: -2, max: 100_000 }), { maxLength: 4 }), datatype: fc.constantFrom("FP32", "FP64", "INT64", "BYTES", "BOOL", "é"), data: fc.oneof(fc.array(fc.double(), { maxLength: 10 }), fc.array(oddWord, { maxLength: 3 }), fc.constant([[1, 2], [3]])) }, { requiredKeys: [] }), { maxLength: 3 }),
    outputs: fc.array(fc.record({ name: oddWord }), { maxLength: 2 }),
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);
const v2 = fc.oneof(
  fc.tuple(fc.oneof(fc.constant(DEPLOYMENT), segment), v2Body).map(([m, b]) => req("v2", "POST", `/v2/models/${m}/infer`, b, { "content-type": "application/json" }, "none")),
  fc.tuple(fc.oneof(fc.constant(DEPLOYMENT), segment), fc.constantFrom("", "/ready", "/versions/1", "/versions/é/infer")).map(([m, s]) => req("v2", "GET", `/v2/models/${m}${s}`, undefined, {}, "none")),
);
const numberish = fc.oneof(fc.double(), fc.constantFrom("5.1", "1e309", "NaN", "-0", "", "é", "0x10"));
const csv = fc.oneof(
  fc.array(fc.array(numberish.map(String), { maxLength: 6 }).map((r) => r.join(",")), { maxLength: 20 }).map((rows) => [COLUMNS.join(","), ...rows].join("\n")),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${COLUMNS.join(",")}\n${"5.1,3.5,1.4,0.2\n".repeat(n)}`),
  fc.constantFrom('"unterminated,1,2\n', "a,b\n1", ",,,,\n,,,,", "\ufeffsepal_length\n1", "x".repeat(300_000)),
);
const inferText = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...LONG_TEXTS) },
  { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom("sepal", "petal", "length", "width", "is", "=", ":", "cm", "and"), numberish.map(String), oddWord), { maxLength: 60 }).map((w) => w.join(" ")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 500 }) },
);
const infer = fc.oneof(
  fc.tuple(inferText).map(([t]) => req("infer text", "POST", `/infer/${DEPLOYMENT}`, t, { "content-type": "text/plain" }, "none")),
  fc.tuple(csv).map(([t]) => req("infer csv", "POST", `/infer/${DEPLOYMENT}`, t, { "content-type": "text/csv" }, "none")),
  fc.tuple(fc.oneof(jsonText, fc.array(fc.dictionary(fc.oneof(fc.constantFrom(...COLUMNS), oddWord), numberish, { maxKeys: 6 }), { maxLength: 5 }).map((r) => JSON.stringify(r)))).map(([b]) => req("infer json", "POST", `/infer/${DEPLOYMENT}`, b, { "content-type": "application/json" }, "none")),
  fc.tuple(segment, fc.string({ maxLength: 100 }), fc.constantFrom("text/plain", "text/csv", "application/json", "é", "multipart/form-data")).map(([d, b, ct]) => req("infer odd", "POST", `/infer/${d}`, b, { "content-type": ct }, "none")),
);

// ---- /hooks/alertmanager, /login, UI forms and pages
const alert = fc.record({ status: fc.constantFrom("firing", "resolved", "é"), labels: fc.dictionary(fc.oneof(fc.constantFrom("alertname", "model", "severity", "deployment", "constructor"), oddWord), oddWord, { maxKeys: 5 }), annotations: anyDict, startsAt: oddWord, fingerprint: oddWord }, { requiredKeys: [] });
const hooks = fc.oneof(
  fc.array(alert, { maxLength: 5 }).map((alerts) => req("hooks", "POST", "/hooks/alertmanager", JSON.stringify({ version: "4", status: "firing", alerts }), { "content-type": "application/json" })),
  jsonText.map((b) => req("hooks", "POST", "/hooks/alertmanager", b, { "content-type": "application/json" })),
  jsonText.map((b) => req("hooks", "POST", "/hooks/alertmanager", b, { "content-type": "application/json" }, "none")),
);
const form = (o: Record<string, string>): string => new URLSearchParams(o).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const ui = fc.oneof(
  fc.record({ token: oddWord, next: fc.oneof(oddWord, fc.constantFrom("//evil.example", "https://evil.example", "/\\evil", "javascript:alert(1)")) }).map((f) => req("login", "POST", "/login", form(f), FORM, "none")),
  fc.integer({ min: 1, max: 64 }).map((kb) => req("login", "POST", "/login", form({ token: "t".repeat(kb * 1024) }), FORM, "none")),
  fc.tuple(query).map(([q]) => req("login", "GET", `/login${q}`, undefined, {}, "none")),
  fc.tuple(fc.constantFrom("/training", "/deployments", "/playground/text", "/playground/raw", "/playground/infer", "/activity/dead-letters/x/discard", "/models/x/promote", "/airflow/dags/x/trigger"), fc.dictionary(fc.oneof(fc.constantFrom("spec", "text", "deployment", "body", "name", "kind", "model", "version", "ref", "yaml"), oddWord), fc.oneof(oddWord, fc.constantFrom(...LONG_TEXTS.slice(0, 2)), fc.constant(aliasBomb(10, 10))), { maxKeys: 4 })).map(([p, f]) => req("ui form", "POST", p, form(f), FORM)),
  fc.tuple(fc.constantFrom("/", "/models", "/registry", "/training", "/deployments", "/activity", "/playground", "/models/", "/registry/experiments/", "/registry/runs/", "/training/jobs/", "/deployments/", "/models/x/versions/"), segment, query).map(([p, s, q]) => req("ui page", "GET", `${p}${p.endsWith("/") ? s : ""}${q}`)),
);

/** Every family, weighted so the cheap ones carry most of the volume and every family gets hundreds of cases. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 3, arbitrary: structured },
  { weight: 3, arbitrary: binary },
  { weight: 4, arbitrary: apiV1 },
  { weight: 4, arbitrary: mlflow },
  { weight: 2, arbitrary: v2 },
  { weight: 3, arbitrary: infer },
  { weight: 1, arbitrary: hooks },
  { weight: 2, arbitrary: ui },
);
