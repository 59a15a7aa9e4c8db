// The ONE mapping from Kubernetes status (Job, PyTorchJob, TrainJob, SparkApplication, and their pods) to job states.
import * as z from "zod";
import type { JobState } from "../../ports.ts";
import { toMillis, type KubeObject } from "./meta.ts";

export interface StatusVerdict {
  readonly state: JobState;
  /** Always set for terminal states. */
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  /** epoch ms, from the object's own timestamps when it has them. */
  readonly startedAt?: number | undefined;
  readonly finishedAt?: number | undefined;
}

const Condition = z.lazy(() =>
  z.object({
    type: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    message: z.string().optional(),
    lastTransitionTime: z.string().optional(),
  }),
);
const Conditions = z.lazy(() => z.array(Condition).catch([]));
type Cond = z.output<typeof Condition>;

const trueCond = (conds: Cond[], type: string): Cond | undefined => conds.find((c) => c.type === type && c.status === "True");

/** Pod waiting reasons after which the container will not start without a change to the spec. */
export const FATAL_WAITING_REASONS = ["ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError"] as const;

/** Spark Operator application states (kubeflow/spark-operator api/v1beta2) and what each means for the job. */
export const SPARK_STATES: Readonly<Record<string, { state: JobState; reason: string }>> = {
  "": { state: "pending", reason: "New" },
  NEW: { state: "pending", reason: "New" },
  SUBMITTED: { state: "pending", reason: "Submitted" },
  PENDING_RERUN: { state: "pending", reason: "PendingRerun" },
  INVALIDATING: { state: "pending", reason: "Invalidating" },
  RUNNING: { state: "running", reason: "Running" },
  SUCCEEDING: { state: "running", reason: "Succeeding" },
  FAILING: { state: "running", reason: "Failing" },
  UNKNOWN: { state: "running", reason: "Unknown" },
  COMPLETED: { state: "succeeded", reason: "Completed" },
  FAILED: { state: "failed", reason: "ApplicationFailed" },
  SUBMISSION_FAILED: { state: "failed", reason: "SubmissionFailed" },
};

const obj = z.lazy(() => z.record(z.string(), z.unknown()).catch({}));

/** Map one object's status to a verdict; undefined when the object says nothing about the job yet. */
export function mapTrainingStatus(o: KubeObject): StatusVerdict | undefined {
  const status = obj.parse(o.status ?? {});
  const conds = Conditions.parse(status.conditions ?? []);
  const startedAt = toMillis(typeof status.startTime === "string" ? status.startTime : undefined);
  const finishedAt = toMillis(typeof status.completionTime === "string" ? status.completionTime : undefined);
  switch (o.kind) {
    case "Job":
      return mapJob(conds, status, startedAt, finishedAt);
    case "PyTorchJob":
      return mapPyTorchJob(conds, startedAt, finishedAt);
    case "TrainJob":
      return mapTrainJob(conds, status);
    case "SparkApplication":
      return mapSpark(status);
    case "Pod":
      return mapPod(status);
    default:
      return undefined;
  }
}

function failed(c: Cond, fallback: string, finishedAt?: number): StatusVerdict {
  return { state: "failed", reason: c.reason || fallback, message: c.message ?? "", finishedAt: finishedAt ?? toMillis(c.lastTransitionTime) };
}

function mapJob(conds: Cond[], status: Record<string, unknown>, startedAt?: number, finishedAt?: number): StatusVerdict {
  const complete = trueCond(conds, "Complete") ?? trueCond(conds, "SuccessCriteriaMet");
  if (complete) return { state: "succeeded", reason: complete.reason || "Completed", message: complete.message, startedAt, finishedAt: finishedAt ?? toMillis(complete.lastTransitionTime) };
  // FailureTarget (1.31+) comes first while pods are being terminated; it already names the final reason.
  const fail = trueCond(conds, "Failed") ?? trueCond(conds, "FailureTarget");
  if (fail) return { ...failed(fail, "JobFailed"), startedAt };
  const suspended = trueCond(conds, "Suspended");
  if (suspended) return { state: "pending", reason: "Suspended", message: suspended.message };
  const active = typeof status.active === "number" ? status.active : 0;
  if (active > 0) return { state: "running", startedAt };
  return { state: "pending", startedAt };
}

function mapPyTorchJob(conds: Cond[], startedAt?: number, finishedAt?: number): StatusVerdict {
  const ok = trueCond(conds, "Succeeded");
  if (ok) return { state: "succeeded", reason: ok.reason || "PyTorchJobSucceeded", message: ok.message, startedAt, finishedAt: finishedAt ?? toMillis(ok.lastTransitionTime) };
  const fail = trueCond(conds, "Failed");
  if (fail) return { ...failed(fail, "PyTorchJobFailed", finishedAt), startedAt };
  const suspended = trueCond(conds, "Suspended");
  if (suspended) return { state: "pending", reason: "Suspended", message: suspended.message };
  const restarting = trueCond(conds, "Restarting");
  if (restarting) return { state: "running", reason: "Restarting", message: restarting.message, startedAt };
  if (trueCond(conds, "Running")) return { state: "running", startedAt };
  return { state: "pending", reason: trueCond(conds, "Created") ? "Created" : undefined };
}

function mapTrainJob(conds: Cond[], status: Record<string, unknown>): StatusVerdict {
  const ok = trueCond(conds, "Complete");
  if (ok) return { state: "succeeded", reason: ok.reason || "JobsCompleted", message: ok.message, finishedAt: toMillis(ok.lastTransitionTime) };
  const fail = trueCond(conds, "Failed");
  if (fail) return failed(fail, "TrainJobFailed");
  const suspended = trueCond(conds, "Suspended");
  if (suspended) return { state: "pending", reason: "Suspended", message: suspended.message };
  const jobs = z.array(z.object({ active: z.number().optional(), ready: z.number().optional() }).passthrough()).catch([]).parse(status.jobsStatus ?? []);
  if (jobs.some((j) => (j.active ?? 0) > 0 || (j.ready ?? 0) > 0)) return { state: "running" };
  return { state: "pending" };
}

function mapSpark(status: Record<string, unknown>): StatusVerdict | undefined {
  const app = obj.parse(status.applicationState ?? {});
  const raw = typeof app.state === "string" ? app.state : "";
  const known = SPARK_STATES[raw] ?? { state: "running" as const, reason: raw };
  const message = typeof app.errorMessage === "string" ? app.errorMessage : undefined;
  const startedAt = toMillis(typeof status.lastSubmissionAttemptTime === "string" ? status.lastSubmissionAttemptTime : undefined);
  const finishedAt = toMillis(typeof status.terminationTime === "string" ? status.terminationTime : undefined);
  return { state: known.state, reason: known.reason, message, startedAt, finishedAt };
}

/** A pod speaks only when it cannot start (fatal waiting reason) or has started running. */
function mapPod(status: Record<string, unknown>): StatusVerdict | undefined {
  const statuses = z
    .array(z.object({ name: z.string(), state: z.object({ waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional() }).passthrough().optional() }).passthrough())
    .catch([])
    .parse([...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []), ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : [])]);
  for (const s of statuses) {
    const w = s.state?.waiting;
    if (w?.reason && (FATAL_WAITING_REASONS as readonly string[]).includes(w.reason)) {
      return { state: "failed", reason: w.reason, message: `container ${s.name}: ${w.message ?? w.reason}` };
    }
    // ErrImagePull is the first, possibly transient, pull failure; ImagePullBackOff follows if it persists.
    if (w?.reason === "ErrImagePull") return { state: "pending", reason: "ErrImagePull", message: `container ${s.name}: ${w.message ?? ""}` };
  }
  if (status.phase === "Running") return { state: "running" };
  return undefined;
}
