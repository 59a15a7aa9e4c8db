// The FUNCTION_TARGET names (surface.md "Knative mode") and the module that registers each with functions-framework.
export const FUNCTION_TARGETS = [
  "launchTraining",
  "logModel",
  "deployModel",
  "retrainOnDrift",
  "infer",
  "alertmanagerTrigger",
  "deadLetter",
  "eventLog",
  "ui",
] as const;
export type FunctionTarget = (typeof FUNCTION_TARGETS)[number];
export const isFunctionTarget = (v: unknown): v is FunctionTarget => FUNCTION_TARGETS.some((t) => t === v);

export interface TargetInfo {
  /** Knative Service name (and Trigger subscriber name in triggers/triggers.yaml). */
  readonly service: string;
  /** Module (relative to the repo root) whose import registers the target with functions-framework. */
  readonly module: string;
  /** Reachable from outside the cluster (no cluster-local visibility label). */
  readonly public: boolean;
}

/** One table the entry, the bundler, the manifests and the bench all read. */
export const TARGETS: Readonly<Record<FunctionTarget, TargetInfo>> = {
  launchTraining: { service: "launch-training", module: "functions/launch-training/index.ts", public: false },
  logModel: { service: "log-model", module: "functions/log-model/index.ts", public: false },
  deployModel: { service: "deploy-model", module: "functions/deploy-model/index.ts", public: false },
  retrainOnDrift: { service: "retrain-on-drift", module: "functions/retrain-on-drift/index.ts", public: false },
  infer: { service: "infer", module: "functions/infer/index.ts", public: false },
  alertmanagerTrigger: { service: "alertmanager-trigger", module: "triggers/alertmanager/index.ts", public: true },
  deadLetter: { service: "dead-letter", module: "platform/eventing/dead-letter-function.ts", public: false },
  eventLog: { service: "event-log", module: "platform/eventing/event-log-function.ts", public: false },
  ui: { service: "ui", module: "pages/knative.ts", public: true },
};
