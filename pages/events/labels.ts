// Human labels for event types ("model.logged" → "Model logged"), so pages read as sentences, not wire names.
import { EVENT_PREFIX, type EventName } from "../../platform/events/catalogue.ts";

const LABELS: Record<EventName, string> = {
  "training.requested": "Training requested",
  "training.started": "Training started",
  "training.succeeded": "Training succeeded",
  "training.failed": "Training failed",
  "training.cancelled": "Training cancelled",
  "model.logged": "Model logged",
  "model.promoted": "Promoted to champion",
  "model.rejected": "Rejected by the gate",
  "model.promotion.requested": "Promotion requested",
  "deployment.requested": "Deployment requested",
  "deployment.ready": "Deployment ready",
  "deployment.failed": "Deployment failed",
  "deployment.promoted": "Canary promoted",
  "deployment.rolled_back": "Deployment rolled back",
  "deployment.removed": "Deployment removed",
  "alert.firing": "Alert firing",
  "alert.resolved": "Alert resolved",
  "retrain.decided": "Retrain decided",
  "inference.requested": "Prediction requested",
  "inference.completed": "Prediction answered",
  "inference.feedback": "Feedback received",
};

const isName = (t: string): t is EventName => Object.hasOwn(LABELS, t);

/** The human label of a CloudEvents type (full or short); an unknown type is shown as its short name. */
export function eventLabel(type: string): string {
  const short = type.startsWith(EVENT_PREFIX) ? type.slice(EVENT_PREFIX.length) : type;
  return isName(short) ? LABELS[short] : short;
}
