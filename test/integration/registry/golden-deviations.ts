// The embedded registry's intended deviations from the recorded MLflow 2.17.2 answers (docs/registry.md lists the same).
// Every other step of the transcript must match; a deviation is itself asserted (status and error_code), not skipped.

export interface Deviation {
  /** Step name in test/fixtures/mlflow-golden/mlflow-2.17.2.golden.json. */
  readonly step: string;
  /** What Flywheel answers instead: always MLflow's JSON error shape {error_code, message}. */
  readonly status: number;
  readonly errorCode: string;
  readonly reason: string;
}

const HTML_404 = "MLflow answers an HTML 404 page; Flywheel answers MLflow's JSON error shape with the same status.";
const HTML_405 = "MLflow answers an HTML 405 page; Flywheel answers 405 in MLflow's JSON error shape.";
const TRACING = "Flywheel does not serve MLflow tracing; its endpoints answer in MLflow's error shape (404 ENDPOINT_NOT_FOUND).";

export const DEVIATIONS: readonly Deviation[] = [
  { step: "misc: unknown endpoint GET /api/2.0/mlflow/xyz", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  { step: "misc: unknown endpoint POST /api/2.0/mlflow/xyz", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  { step: "misc: wrong method GET runs/create", status: 405, errorCode: "BAD_REQUEST", reason: HTML_405 },
  { step: "misc: wrong method DELETE experiments/get", status: 405, errorCode: "BAD_REQUEST", reason: HTML_405 },
  { step: "misc: wrong method PUT experiments/create", status: 405, errorCode: "BAD_REQUEST", reason: HTML_405 },
  { step: "misc: /api/2.1 prefix", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  { step: "metrics: get-history-bulk on /api/2.0", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  {
    step: "artifacts: download missing file", status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST",
    reason: "MLflow answers 500 INTERNAL_ERROR and leaks its artifact directory in the message; a missing file deserves 404.",
  },
  {
    step: "artifacts: download a directory", status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST",
    reason: "MLflow crashes (HTML 500); a directory is not a downloadable file, so Flywheel answers 404 in the JSON error shape.",
  },
  { step: "registered-models: search with POST", status: 405, errorCode: "BAD_REQUEST", reason: HTML_405 },
  { step: "traces: start trace (2.0)", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: get trace info", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: end trace", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: set trace tag", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: delete trace tag", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: search traces", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: get info of a missing trace", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: delete traces", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: TRACING },
  { step: "traces: /api/3.0 get trace", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  { step: "traces: /api/3.0 start trace", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  { step: "misc: /api/3.0 prefix on an existing endpoint", status: 404, errorCode: "ENDPOINT_NOT_FOUND", reason: HTML_404 },
  {
    step: "misc: JSON array body", status: 400, errorCode: "INVALID_PARAMETER_VALUE",
    reason: "MLflow crashes on a JSON array body (HTML 500); the request deserved a 400 naming the problem.",
  },
];
