// KServe's Serverless rollout as its controller computes it: the Knative Service's traffic from canaryTrafficPercent
// and the last rolled-out revision (kserve pkg/controller/v1beta1/inferenceservice/reconcilers/knative/
// ksvc_reconciler.go, createKnativeService), Knative's route resolving a latestRevision target to the latest ready
// revision, and the rolled-out revisions KServe derives from that route's status (pkg/apis/serving/v1beta1/
// inference_service_status.go, PropagateStatus), including its rollback rule.

/** One entry of the route's status.traffic, as Knative reports it and KServe copies it. */
export interface TrafficStatus {
  readonly revisionName: string;
  readonly percent: number;
  readonly latestRevision: boolean;
  readonly tag?: string;
}

export interface Rollout {
  readonly latestRolledoutRevision?: string | undefined;
  readonly previousRolledoutRevision?: string | undefined;
}

/**
 * The route for a spec's canaryTrafficPercent: split latest/prev only once a revision was rolled out, else all on the
 * latest ready revision (blue-green). Undefined while no revision is ready (Knative's route is not ready then).
 * The latest target is tagged "latest" only with the serving.kserve.io/enable-tag-routing: "true" annotation
 * (`tagRouting`); "prev" is always tagged.
 */
export function routeTraffic(canaryTrafficPercent: number | undefined, rollout: Rollout, latestReady: string | undefined, tagRouting = false): TrafficStatus[] | undefined {
  if (!latestReady) return undefined;
  const rolled = rollout.latestRolledoutRevision;
  const tag = tagRouting ? { tag: "latest" } : {};
  if (canaryTrafficPercent === undefined || !rolled) return [{ revisionName: latestReady, percent: 100, latestRevision: true, ...tag }];
  const latest: TrafficStatus = { revisionName: latestReady, percent: canaryTrafficPercent, latestRevision: true, ...tag };
  return canaryTrafficPercent < 100 ? [latest, { revisionName: rolled, percent: 100 - canaryTrafficPercent, latestRevision: false, tag: "prev" }] : [latest];
}

/** Whether an InferenceService asks KServe to tag its latest revision's route (serving.kserve.io/enable-tag-routing). */
export const tagRoutingOf = (annotations: unknown): boolean =>
  typeof annotations === "object" && annotations !== null && (annotations as Record<string, unknown>)["serving.kserve.io/enable-tag-routing"] === "true";

/** PropagateStatus: which revisions count as rolled out after the route reports `traffic`. */
export function propagateRollout(prev: Rollout, traffic: readonly TrafficStatus[], latestReady: string | undefined, latestCreated: string): Rollout {
  let out: Rollout = prev;
  const perRevision = new Map<string, number>();
  for (const t of traffic) perRevision.set(t.revisionName, (perRevision.get(t.revisionName) ?? 0) + t.percent);
  for (const t of traffic) {
    if (t.revisionName !== latestReady || !t.latestRevision) continue;
    if (out.latestRolledoutRevision !== latestReady) {
      // The latest ready revision takes all traffic: it is the last good one now.
      if (t.percent === 100) out = { previousRolledoutRevision: out.latestRolledoutRevision, latestRolledoutRevision: latestReady };
    } else if (latestReady === latestCreated && t.percent < 100 && perRevision.get(t.revisionName) === 100 && out.previousRolledoutRevision) {
      // A fully rolled-out revision pinned below 100% on an unchanged spec: KServe takes it for rolled back.
      out = { ...out, latestRolledoutRevision: out.previousRolledoutRevision };
    }
  }
  return out;
}
