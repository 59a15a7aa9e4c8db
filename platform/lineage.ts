// Registry tag names for lineage. log-model writes them; retrain-on-drift, deploy-model, infer and the UI read them.
export const TAG = {
  /** JSON of the full TrainingSpec that produced the version. retrain-on-drift reuses it. */
  trainingSpec: "flywheel.training_spec",
  /** id of the training.succeeded event: makes log-model idempotent. */
  eventId: "flywheel.event_id",
  /** JSON of the TriggerRef: manual, schedule, drift alert, Kafka. */
  trigger: "flywheel.trigger",
  jobId: "flywheel.job_id",
  dataset: "flywheel.dataset",
  codeVersion: "flywheel.code_version",
  /** Artifact path (relative to the run) of baseline.json, the drift baseline. */
  baseline: "flywheel.baseline_artifact",
  /** Primary MLmodel flavor used for serving (onnx, sklearn, mlflow, ...). */
  flavor: "flywheel.flavor",
  /** JSON of the MLmodel signature {inputs, outputs}. */
  signature: "flywheel.signature",
  /** JSON array of class labels (index -> label), when the model ships them. */
  labels: "flywheel.labels",
  /** JSON of the gate result. */
  gate: "flywheel.gate",
  /** JSON of the data the job used (base, window, holdout): window retention keeps the window it names. */
  data: "flywheel.data",
} as const;

export const ALIAS = {
  champion: "champion",
  challenger: "challenger",
  previousChampion: "previous-champion",
} as const;
