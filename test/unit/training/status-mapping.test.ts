// Every status mapping, from recorded status sequences of each kind (as controllers write them), table-driven.
import { describe, expect, it } from "vitest";
import { mapTrainingStatus, SPARK_STATES } from "../../../platform/training/kubernetes/status.ts";
import type { KubeObject } from "../../../platform/training/kubernetes/meta.ts";

const T = "2026-01-01T00:00:00Z";
const T2 = "2026-01-01T00:05:00Z";
const cond = (type: string, reason = "", message = "", status = "True") => ({ type, status, reason, message, lastTransitionTime: T2 });
const job = (status: unknown) => ({ kind: "Job", metadata: {}, status });
const pj = (status: unknown) => ({ kind: "PyTorchJob", metadata: {}, status });
const tj = (status: unknown) => ({ kind: "TrainJob", metadata: {}, status });
const spark = (state: string, errorMessage?: string) => ({ kind: "SparkApplication", metadata: {}, status: { driverInfo: {}, applicationState: { state, ...(errorMessage ? { errorMessage } : {}) } } });
const pod = (status: unknown) => ({ kind: "Pod", metadata: {}, status });
const waiting = (reason: string, message = "") => pod({ phase: "Pending", containerStatuses: [{ name: "trainer", state: { waiting: { reason, message } } }] });

type Step = [KubeObject, string | undefined, string | undefined];
const sequences: [string, Step[]][] = [
  ["Job completes", [
    [job({}), "pending", undefined],
    [job({ active: 1, startTime: T }), "running", undefined],
    [job({ succeeded: 1, startTime: T, completionTime: T2, conditions: [cond("SuccessCriteriaMet", "CompletionsReached"), cond("Complete", "CompletionsReached")] }), "succeeded", "CompletionsReached"],
  ]],
  ["Job hits its backoff limit", [
    [job({ active: 1, startTime: T }), "running", undefined],
    [job({ failed: 1, conditions: [cond("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")] }), "failed", "BackoffLimitExceeded"],
    [job({ failed: 1, conditions: [cond("FailureTarget", "BackoffLimitExceeded"), cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")] }), "failed", "BackoffLimitExceeded"],
  ]],
  ["Job exceeds activeDeadlineSeconds", [
    [job({ active: 1 }), "running", undefined],
    [job({ conditions: [cond("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")] }), "failed", "DeadlineExceeded"],
  ]],
  ["Job suspended", [[job({ conditions: [cond("Suspended", "JobSuspended")] }), "pending", "Suspended"]]],
  ["Job with an old, false Complete condition stays running", [[job({ active: 1, conditions: [cond("Complete", "", "", "False")] }), "running", undefined]]],
  ["Pod cannot pull its image", [
    [waiting("ContainerCreating"), undefined, undefined],
    [waiting("ErrImagePull", "pull access denied"), "pending", "ErrImagePull"],
    [waiting("ImagePullBackOff", "Back-off pulling image"), "failed", "ImagePullBackOff"],
  ]],
  ["Pod with a bad image name or config", [
    [waiting("InvalidImageName"), "failed", "InvalidImageName"],
    [waiting("CreateContainerConfigError", "secret not found"), "failed", "CreateContainerConfigError"],
  ]],
  ["Pod starts running", [[pod({ phase: "Running", containerStatuses: [{ name: "trainer", state: { running: {} } }] }), "running", undefined]]],
  ["PyTorchJob succeeds", [
    [pj({ conditions: [cond("Created", "PyTorchJobCreated")] }), "pending", "Created"],
    [pj({ startTime: T, conditions: [cond("Created", "PyTorchJobCreated"), cond("Running", "PyTorchJobRunning")] }), "running", undefined],
    [pj({ startTime: T, completionTime: T2, conditions: [cond("Created"), cond("Running", "", "", "False"), cond("Succeeded", "PyTorchJobSucceeded", "PyTorchJob iris is successfully completed.")] }), "succeeded", "PyTorchJobSucceeded"],
  ]],
  ["PyTorchJob restarts, then fails", [
    [pj({ conditions: [cond("Running", "PyTorchJobRunning")] }), "running", undefined],
    [pj({ conditions: [cond("Running", "", "", "False"), cond("Restarting", "PyTorchJobRestarting", "worker 1 exited")] }), "running", "Restarting"],
    [pj({ conditions: [cond("Failed", "PyTorchJobFailed", "PyTorchJob iris has failed because 1 Worker replica(s) failed.")] }), "failed", "PyTorchJobFailed"],
  ]],
  ["PyTorchJob suspended", [[pj({ conditions: [cond("Suspended", "PyTorchJobSuspended")] }), "pending", "Suspended"]]],
  ["TrainJob completes", [
    [tj({}), "pending", undefined],
    [tj({ jobsStatus: [{ name: "node", active: 2, ready: 2, succeeded: 0, failed: 0, suspended: 0 }] }), "running", undefined],
    [tj({ conditions: [cond("Complete", "JobsCompleted", "TrainJob is completed")] }), "succeeded", "JobsCompleted"],
  ]],
  ["TrainJob fails or is suspended", [
    [tj({ conditions: [cond("Suspended", "Suspended")] }), "pending", "Suspended"],
    [tj({ conditions: [cond("Failed", "JobsFailed", "jobset failed")] }), "failed", "JobsFailed"],
    [tj({ conditions: [cond("Failed")] }), "failed", "TrainJobFailed"],
  ]],
  ["SparkApplication completes", [
    [spark(""), "pending", "New"],
    [spark("SUBMITTED"), "pending", "Submitted"],
    [spark("RUNNING"), "running", "Running"],
    [spark("SUCCEEDING"), "running", "Succeeding"],
    [spark("COMPLETED"), "succeeded", "Completed"],
  ]],
  ["SparkApplication fails to submit", [[spark("SUBMISSION_FAILED", "failed to run spark-submit: image not found"), "failed", "SubmissionFailed"]]],
  ["SparkApplication fails while running", [
    [spark("RUNNING"), "running", "Running"],
    [spark("FAILING", "driver exited 1"), "running", "Failing"],
    [spark("FAILED", "driver container failed with ExitCode: 1"), "failed", "ApplicationFailed"],
  ]],
  ["SparkApplication reruns", [[spark("PENDING_RERUN"), "pending", "PendingRerun"], [spark("INVALIDATING"), "pending", "Invalidating"], [spark("UNKNOWN"), "running", "Unknown"]]],
  ["Unknown kinds say nothing", [[{ kind: "ConfigMap", metadata: {} }, undefined, undefined]]],
];

describe("mapTrainingStatus", () => {
  it.each(sequences)("%s", (_name, steps) => {
    const got = steps.map(([o]) => {
      const v = mapTrainingStatus(o);
      return [v?.state, v?.reason];
    });
    expect(got).toEqual(steps.map(([, s, r]) => [s, r]));
  });

  it("gives every terminal state a reason and failures their message", () => {
    const terminal = sequences.flatMap(([, steps]) => steps.map(([o]) => mapTrainingStatus(o))).filter((v) => v && ["succeeded", "failed", "cancelled"].includes(v.state));
    expect(terminal.length).toBeGreaterThan(10);
    for (const v of terminal) expect(v?.reason).toBeTruthy();
    expect(mapTrainingStatus(spark("SUBMISSION_FAILED", "boom"))?.message).toBe("boom");
    expect(mapTrainingStatus(job({ conditions: [cond("Failed", "DeadlineExceeded", "too long")] }))).toMatchObject({ message: "too long", finishedAt: Date.parse(T2) });
  });

  it("covers every Spark Operator application state", () => {
    for (const s of ["NEW", "SUBMITTED", "RUNNING", "COMPLETED", "FAILED", "SUBMISSION_FAILED", "PENDING_RERUN", "INVALIDATING", "SUCCEEDING", "FAILING", "UNKNOWN"]) {
      expect(SPARK_STATES[s], s).toBeDefined();
    }
  });

  it("never crashes on malformed status", () => {
    for (const status of [null, 3, "x", [], { conditions: "nope" }, { conditions: [{ type: 1 }] }, { applicationState: 5 }, { containerStatuses: {} }]) {
      for (const kind of ["Job", "PyTorchJob", "TrainJob", "SparkApplication", "Pod"]) {
        expect(() => mapTrainingStatus({ kind, metadata: {}, status })).not.toThrow();
      }
    }
  });
});
