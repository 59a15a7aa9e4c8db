// Response shapes of MLflow REST 2.0 (service.proto, model_registry.proto), parsed with zod so results are typed.
import * as z from "zod";
import { once } from "../once.ts";
import { MlflowUpstreamError } from "./errors.ts";

// Every schema is built on first use, not at import (the exported names are z.lazy, built on their first parse): a
// function that imports the client builds only the shapes of the calls it makes, when it makes them.
const int = once(() => z.coerce.number());
const kvList = once(() => z.array(z.object({ key: z.string(), value: z.string().default("") })).default([]));

const $Experiment = once(() =>
  z.object({
    experiment_id: z.string(),
    name: z.string(),
    artifact_location: z.string().default(""),
    lifecycle_stage: z.string().default("active"),
    last_update_time: int().optional(),
    creation_time: int().optional(),
    tags: kvList(),
  }),
);
export const ExperimentSchema = z.lazy($Experiment);
export type Experiment = z.output<typeof ExperimentSchema>;

const $Metric = once(() =>
  z.object({
    key: z.string(),
    value: z.union([z.number(), z.string()]).transform(Number),
    timestamp: int().default(0),
    step: int().default(0),
    model_id: z.string().optional(),
    run_id: z.string().optional(),
    dataset_name: z.string().optional(),
    dataset_digest: z.string().optional(),
  }),
);
export const MetricSchema = z.lazy($Metric);
export type Metric = z.output<typeof MetricSchema>;

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const $RunInfo = once(() =>
  z.object({
    run_id: z.string(),
    run_uuid: z.string().optional(),
    run_name: z.string().default(""),
    experiment_id: z.string(),
    user_id: z.string().default(""),
    status: z.string(),
    start_time: int().optional(),
    end_time: int().optional(),
    artifact_uri: z.string().default(""),
    lifecycle_stage: z.string().default("active"),
  }),
);
export const RunInfoSchema = z.lazy($RunInfo);
export type RunInfo = z.output<typeof RunInfoSchema>;

const $Run = once(() =>
  z.object({
    info: $RunInfo(),
    data: z.object({ metrics: z.array($Metric()).default([]), params: kvList(), tags: kvList() }).default({ metrics: [], params: [], tags: [] }),
    inputs: z.object({ dataset_inputs: z.array(z.unknown()).default([]), model_inputs: z.array(z.object({ model_id: z.string() })).default([]) }).optional(),
    outputs: z.object({ model_outputs: z.array(z.object({ model_id: z.string(), step: int().default(0) })).default([]) }).optional(),
  }),
);
export const RunSchema = z.lazy($Run);
export type Run = z.output<typeof RunSchema>;

const $FileInfo = once(() =>
  z.object({ path: z.string(), is_dir: z.boolean().default(false), file_size: int().optional() }),
);
export const FileInfoSchema = z.lazy($FileInfo);
export type FileInfo = z.output<typeof FileInfoSchema>;

const $ModelVersion = once(() =>
  z.object({
    name: z.string(),
    version: z.string(),
    creation_timestamp: int().default(0),
    last_updated_timestamp: int().optional(),
    user_id: z.string().optional(),
    current_stage: z.string().optional(),
    description: z.string().optional(),
    source: z.string().default(""),
    run_id: z.string().optional(),
    status: z.string().default("READY"),
    status_message: z.string().optional(),
    tags: kvList(),
    run_link: z.string().optional(),
    aliases: z.array(z.string()).default([]),
    model_id: z.string().optional(),
  }),
);
export const ModelVersionSchema = z.lazy($ModelVersion);
export type ModelVersion = z.output<typeof ModelVersionSchema>;

const $RegisteredModel = once(() =>
  z.object({
    name: z.string(),
    creation_timestamp: int().optional(),
    last_updated_timestamp: int().optional(),
    user_id: z.string().optional(),
    description: z.string().optional(),
    latest_versions: z.array($ModelVersion()).default([]),
    tags: kvList(),
    aliases: z.array(z.object({ alias: z.string(), version: z.string() })).default([]),
  }),
);
export const RegisteredModelSchema = z.lazy($RegisteredModel);
export type RegisteredModel = z.output<typeof RegisteredModelSchema>;

const $LoggedModel = once(() =>
  z.object({
    info: z.object({
      model_id: z.string(),
      experiment_id: z.string(),
      name: z.string(),
      creation_timestamp_ms: int().optional(),
      last_updated_timestamp_ms: int().optional(),
      artifact_uri: z.string().default(""),
      status: z.string().optional(),
      model_type: z.string().optional(),
      source_run_id: z.string().optional(),
      status_message: z.string().optional(),
      tags: kvList(),
      registrations: z.array(z.object({ name: z.string(), version: z.string() })).default([]),
    }),
    data: z.object({ params: kvList(), metrics: z.array($Metric()).default([]) }).default({ params: [], metrics: [] }),
  }),
);
export const LoggedModelSchema = z.lazy($LoggedModel);
export type LoggedModel = z.output<typeof LoggedModelSchema>;

export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string | undefined;
}

/** Parse a response with a schema; a shape mismatch is an upstream fault, never retried. */
export function parseAs<S extends z.ZodType>(schema: S, value: unknown, context: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new MlflowUpstreamError(`${context}: unexpected response shape at ${first ? first.path.join(".") : "(root)"}`, false, "MALFORMED_RESPONSE", 200);
  }
  return r.data;
}

/** Tags as a plain record. */
export const tagsOf = (tags: readonly { key: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(tags.map((t) => [t.key, t.value]));

/** Quote a value for an MLflow filter string. */
export function quote(value: string): string {
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

/** Backtick an identifier key (tag names with dots or dashes). */
export const ident = (key: string): string => `\`${key}\``;
