// Field sets of the MLflow proto messages the registry answers with (mlflow/protos/service.proto, model_registry.proto),
// and a checker: every field present must be declared, with its proto type; required fields must be there.
import { expect } from "vitest";

type FieldType = "string" | "int64" | "double" | "bool" | "enum" | `msg:${string}` | `list:${string}`;
interface MessageSpec { readonly fields: Record<string, FieldType>; readonly required?: readonly string[] }

const KV: MessageSpec = { fields: { key: "string", value: "string" }, required: ["key"] };

export const PROTOS: Record<string, MessageSpec> = {
  Experiment: {
    fields: { experiment_id: "string", name: "string", artifact_location: "string", lifecycle_stage: "string", last_update_time: "int64", creation_time: "int64", tags: "list:ExperimentTag" },
    required: ["experiment_id", "name", "artifact_location", "lifecycle_stage"],
  },
  ExperimentTag: KV,
  Run: { fields: { info: "msg:RunInfo", data: "msg:RunData", inputs: "msg:RunInputs", outputs: "msg:RunOutputs" }, required: ["info"] },
  RunInfo: {
    fields: { run_id: "string", run_uuid: "string", run_name: "string", experiment_id: "string", user_id: "string", status: "enum", start_time: "int64", end_time: "int64", artifact_uri: "string", lifecycle_stage: "string" },
    required: ["run_id", "run_uuid", "experiment_id", "status", "artifact_uri", "lifecycle_stage"],
  },
  RunData: { fields: { metrics: "list:Metric", params: "list:Param", tags: "list:RunTag" } },
  RunInputs: { fields: { dataset_inputs: "list:DatasetInput", model_inputs: "list:ModelInput" } },
  RunOutputs: { fields: { model_outputs: "list:ModelOutput" } },
  DatasetInput: { fields: { tags: "list:RunTag", dataset: "msg:Dataset" } },
  Dataset: { fields: { name: "string", digest: "string", source_type: "string", source: "string", schema: "string", profile: "string" } },
  ModelInput: { fields: { model_id: "string" }, required: ["model_id"] },
  ModelOutput: { fields: { model_id: "string", step: "int64" }, required: ["model_id", "step"] },
  Metric: {
    fields: { key: "string", value: "double", timestamp: "int64", step: "int64", dataset_name: "string", dataset_digest: "string", model_id: "string", run_id: "string" },
    required: ["key", "value", "timestamp", "step"],
  },
  Param: KV,
  RunTag: KV,
  FileInfo: { fields: { path: "string", is_dir: "bool", file_size: "int64" }, required: ["path", "is_dir"] },
  RegisteredModel: {
    fields: { name: "string", creation_timestamp: "int64", last_updated_timestamp: "int64", user_id: "string", description: "string", latest_versions: "list:ModelVersion", tags: "list:RegisteredModelTag", aliases: "list:RegisteredModelAlias" },
    required: ["name", "creation_timestamp", "last_updated_timestamp"],
  },
  RegisteredModelTag: KV,
  RegisteredModelAlias: { fields: { alias: "string", version: "string" }, required: ["alias", "version"] },
  ModelVersion: {
    fields: {
      name: "string", version: "string", creation_timestamp: "int64", last_updated_timestamp: "int64", user_id: "string", current_stage: "string",
      description: "string", source: "string", run_id: "string", status: "enum", status_message: "string", tags: "list:ModelVersionTag",
      run_link: "string", aliases: "list:string", model_id: "string",
    },
    required: ["name", "version", "creation_timestamp", "source", "status"],
  },
  ModelVersionTag: KV,
  LoggedModel: { fields: { info: "msg:LoggedModelInfo", data: "msg:LoggedModelData" }, required: ["info"] },
  LoggedModelInfo: {
    fields: {
      model_id: "string", experiment_id: "string", name: "string", creation_timestamp_ms: "int64", last_updated_timestamp_ms: "int64",
      artifact_uri: "string", status: "enum", creator_id: "int64", model_type: "string", source_run_id: "string", status_message: "string",
      tags: "list:LoggedModelTag", registrations: "list:LoggedModelRegistrationInfo",
    },
    required: ["model_id", "experiment_id", "name", "creation_timestamp_ms", "artifact_uri", "status"],
  },
  LoggedModelTag: KV,
  LoggedModelParameter: KV,
  LoggedModelRegistrationInfo: { fields: { name: "string", version: "string" } },
  LoggedModelData: { fields: { params: "list:LoggedModelParameter", metrics: "list:Metric" } },
};

export const ENUMS: Record<string, readonly string[]> = {
  "RunInfo.status": ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"],
  "ModelVersion.status": ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"],
  "LoggedModelInfo.status": ["LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"],
};

function checkValue(v: unknown, t: FieldType, where: string, owner: string, field: string): void {
  if (t === "string") expect(typeof v, where).toBe("string");
  else if (t === "int64") expect(Number.isInteger(v), `${where} is an integer (epoch ms / int64)`).toBe(true);
  else if (t === "double") expect(typeof v === "number" || v === "NaN" || v === "Infinity" || v === "-Infinity", where).toBe(true);
  else if (t === "bool") expect(typeof v, where).toBe("boolean");
  else if (t === "enum") expect(ENUMS[`${owner}.${field}`], where).toContain(v);
  else if (t.startsWith("msg:")) expectMessage(v, t.slice(4), where);
  else {
    expect(Array.isArray(v), `${where} is a list`).toBe(true);
    const inner = t.slice(5);
    if (Array.isArray(v)) {
      expect(v.length, `${where}: MLflow omits empty lists`).toBeGreaterThan(0);
      v.forEach((item, i) => (inner === "string" ? expect(typeof item).toBe("string") : expectMessage(item, inner, `${where}[${i}]`)));
    }
  }
}

/** Assert that value is a JSON rendering of the proto message `name`. */
export function expectMessage(value: unknown, name: string, where = name): void {
  const spec = PROTOS[name];
  if (!spec) throw new Error(`unknown message ${name}`);
  expect(value !== null && typeof value === "object" && !Array.isArray(value), `${where} is an object`).toBe(true);
  const obj = Object.fromEntries(Object.entries(value ?? {}));
  for (const key of Object.keys(obj)) expect(Object.keys(spec.fields), `${where}.${key} is declared in ${name}`).toContain(key);
  for (const req of spec.required ?? []) expect(obj, `${where} has ${req}`).toHaveProperty(req);
  for (const [key, v] of Object.entries(obj)) {
    const t = spec.fields[key];
    if (t) checkValue(v, t, `${where}.${key}`, name, key);
  }
}
