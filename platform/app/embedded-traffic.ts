// The UI's traffic view in embedded mode: exact per-arm tallies for experiments, the V2 server's series for a model.
import type { CanaryRecords } from "../../functions/deploy-model/canary-store.ts";
import type { UiTraffic } from "../../pages/deps.ts";
import type { LocalServingBackend } from "../serving/local/backend.ts";
import { modelTraffic } from "../serving/local/model-stats.ts";
import type { EmbeddedV2Server } from "../serving/local/server.ts";

export function embeddedTraffic(o: { serving: LocalServingBackend; v2: EmbeddedV2Server; canaries: CanaryRecords }): UiTraffic {
  return {
    // Experiments (A/B, canaries) have exact per-arm tallies; a single model has the V2 server's own series.
    stats: async (name) => {
      const arms = o.serving.stats(name);
      if (arms) return arms;
      const d = await o.serving.get(name);
      if (d?.kind !== "model" || !d.version) return undefined;
      const t = await modelTraffic(o.v2.metrics, name, d.version);
      return t ? { [name]: t } : {};
    },
    canary: async (name) => {
      const c = await o.canaries.get(name);
      return c && { stable: c.stable, candidate: c.candidate, percent: c.percent, startedAt: c.startedAt, decideAfterRequests: c.policy.decideAfterRequests, decideAfterMinutes: c.policy.decideAfterMinutes };
    },
  };
}
