// The schedules file (triggers/cron/schedules.yaml): one list for both the embedded CronScheduler and PingSources.
import fs from "node:fs";
import { Cron } from "croner";
import YAML from "yaml";
import * as z from "zod";
import { ValidationError, type FieldIssue } from "../../platform/errors.ts";
import { zodIssues } from "../../platform/events/index.ts";
import { trainingSpecBase, trainingSpecFields } from "../../platform/specs/training.ts";

const dnsName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase alphanumeric or '-', starting and ending alphanumeric");

export const ScheduleSchema = z
  .object({
    /** Also the PingSource's name. */
    name: dnsName,
    model: z.string().min(1),
    /** Standard 5-field cron: minute hour day-of-month month day-of-week. */
    schedule: z.string().min(1),
    /** IANA time zone the schedule is read in, e.g. Europe/Berlin. */
    timezone: z.string().min(1).default("UTC"),
    /** Partial training spec laid over the champion's (params and env merged key by key). */
    spec: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type Schedule = z.output<typeof ScheduleSchema>;

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Cron with Knative's (robfig/cron standard parser) semantics: exactly 5 fields, day-of-month OR day-of-week. */
export function cronFor(s: Pick<Schedule, "schedule" | "timezone">): Cron {
  return new Cron(s.schedule, { timezone: s.timezone, paused: true, mode: "5-part" });
}

/** Validate a decoded schedules file; throws ValidationError with `[i].field` paths. */
export function parseSchedules(raw: unknown): Schedule[] {
  const list = raw ?? [];
  const parsed = z.array(ScheduleSchema).safeParse(list);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error).map((i) => ({ ...i, field: i.field.replace(/^(\d+)/, "[$1]") })));
  const issues: FieldIssue[] = [];
  const names = new Set<string>();
  parsed.data.forEach((s, i) => {
    if (names.has(s.name)) issues.push({ field: `[${i}].name`, message: `duplicate schedule name ${s.name}` });
    names.add(s.name);
    if (s.schedule.trim().split(/\s+/).length !== 5) {
      issues.push({ field: `[${i}].schedule`, message: "must be a 5-field cron expression (minute hour day-of-month month day-of-week)" });
    } else {
      try {
        cronFor({ schedule: s.schedule, timezone: "UTC" });
      } catch (e) {
        issues.push({ field: `[${i}].schedule`, message: e instanceof Error ? e.message.replace(/^CronPattern: /, "") : "invalid cron expression" });
      }
    }
    if (!isValidTimezone(s.timezone)) issues.push({ field: `[${i}].timezone`, message: `unknown IANA time zone ${s.timezone}` });
    for (const k of Object.keys(s.spec ?? {})) {
      if (!trainingSpecFields().has(k) || k === "model") issues.push({ field: `[${i}].spec.${k}`, message: k === "model" ? "set model at the schedule level" : "is not a training spec field" });
    }
    const partial = trainingSpecBase().partial().safeParse(s.spec ?? {});
    if (!partial.success) issues.push(...zodIssues(partial.error, `[${i}].spec`).filter((x) => !issues.some((y) => y.field === x.field)));
  });
  if (issues.length) throw new ValidationError(issues);
  return parsed.data;
}

export function parseSchedulesYaml(text: string): Schedule[] {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new ValidationError([{ field: "(file)", message: `not valid YAML: ${e instanceof Error ? e.message.split("\n")[0] : ""}` }]);
  }
  return parseSchedules(raw);
}

export function loadSchedules(file: string): Schedule[] {
  return parseSchedulesYaml(fs.readFileSync(file, "utf8"));
}

/** What a PingSource (or the embedded scheduler) puts in `data` for a schedule. */
export function pingData(s: Schedule): { model: string; schedule: string; overrides?: Record<string, unknown> } {
  return { model: s.model, schedule: s.name, ...(s.spec && Object.keys(s.spec).length ? { overrides: s.spec } : {}) };
}
