// KServe's own canary rollout (kserve.github.io, "Canary Rollout Strategy", Serverless mode): set
// spec.predictor.canaryTrafficPercent with the new storageUri to send N% to the new revision; promote by removing it
// (the new revision becomes the rolled-out one, 100%); roll back by pinning canaryTrafficPercent to 0, which keeps
// all traffic on the last rolled-out revision, then promoting the stable version's new revision the same way, so no
// canaryTrafficPercent is left behind. The revisions come from status.components.predictor.
import { NotFoundError } from "../../errors.ts";
import type { ApplyContext, DeploymentStatus } from "../../ports.ts";
import type { ModelDeployment } from "../../specs/deployment.ts";
import { ANNOTATION } from "../cluster-base.ts";
import type { KubeObj, ServingKubeClient } from "../kube.ts";
import type { CanaryRevisions, NativeCanary } from "../native-canary.ts";

const ISVC = { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" } as const;
/** The version the last rolled-out revision serves while a canary runs. */
export const STABLE_VERSION_ANNOTATION = "flywheel.dev/canary-stable-version";

interface Deps {
  readonly render: (spec: ModelDeployment, ctx: ApplyContext) => Record<string, unknown>;
  readonly client: ServingKubeClient;
  readonly waitReady: (name: string) => Promise<DeploymentStatus>;
}

const rec = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** The isvc with predictor.canaryTrafficPercent set and extra annotations. */
function withCanary(obj: Record<string, unknown>, percent: number, annotations: Record<string, string>): Record<string, unknown> {
  const metadata = rec(obj.metadata);
  const spec = rec(obj.spec);
  return {
    ...obj,
    metadata: { ...metadata, annotations: { ...rec(metadata.annotations), ...annotations } },
    spec: { ...spec, predictor: { ...rec(spec.predictor), canaryTrafficPercent: percent } },
  };
}

export function kserveCanary(d: Deps): NativeCanary {
  return {
    async start(spec, ctx, percent, stableVersion) {
      await d.client.apply(withCanary(d.render(spec, ctx), percent, { [STABLE_VERSION_ANNOTATION]: stableVersion }));
      return d.waitReady(spec.name);
    },

    async promote(name, revision) {
      if (!(await d.client.read(ISVC.apiVersion, ISVC.kind, name))) throw new NotFoundError(`InferenceService ${name} not found`);
      await d.client.mergePatch(ISVC.apiVersion, ISVC.kind, name, {
        metadata: { annotations: { [STABLE_VERSION_ANNOTATION]: null, [ANNOTATION.revision]: revision } },
        spec: { predictor: { canaryTrafficPercent: null } },
      });
      return d.waitReady(name);
    },

    async rollback(stable, ctx) {
      const live = await d.client.read(ISVC.apiVersion, ISVC.kind, stable.name);
      if (!live) throw new NotFoundError(`InferenceService ${stable.name} not found`);
      // Already rolled back (a redelivered decision): nothing to do. Pinning 0% again on the unchanged spec would make
      // KServe take the fully rolled-out revision for rolled back and move all traffic to the previously rolled-out one
      // (PropagateStatus, kserve pkg/apis/serving/v1beta1/inference_service_status.go) until the field went again.
      if (rec(rec(live.spec).predictor).canaryTrafficPercent === undefined && live.metadata?.annotations?.[ANNOTATION.revision] === ctx.revision) {
        return d.waitReady(stable.name);
      }
      // 1. The spec names the stable version again, pinned at 0%: KServe makes a new revision of it that takes no traffic
      // while the last rolled-out revision (the stable version) keeps 100%, as KServe documents for a rollback.
      await d.client.apply(withCanary(d.render(stable, ctx), 0, {}));
      await d.client.mergePatch(ISVC.apiVersion, ISVC.kind, stable.name, { metadata: { annotations: { [STABLE_VERSION_ANNOTATION]: null } } });
      const pinned = await d.waitReady(stable.name);
      // Not Ready: removing the field now would send all traffic to the latest ready revision, the failed candidate.
      if (pinned.state !== "ready") return pinned;
      // 2. Promote that revision as a promotion does: it serves the stable version, so the service ends on one revision
      // at 100% with no canaryTrafficPercent left in its spec for the next deploy to inherit.
      await d.client.mergePatch(ISVC.apiVersion, ISVC.kind, stable.name, { spec: { predictor: { canaryTrafficPercent: null } } });
      return d.waitReady(stable.name);
    },

    async revisions(name) {
      return revisionsOf(await d.client.read(ISVC.apiVersion, ISVC.kind, name));
    },
  };
}

/** During a canary: candidate = latestCreatedRevision (serving the annotated version), stable = latestRolledoutRevision. */
export function revisionsOf(obj: KubeObj | undefined): CanaryRevisions | undefined {
  const ann = obj?.metadata?.annotations ?? {};
  const stableVersion = ann[STABLE_VERSION_ANNOTATION];
  const version = ann[ANNOTATION.version];
  const predictor = rec(rec(obj?.status?.components).predictor);
  const candidate = predictor.latestCreatedRevision;
  const stable = predictor.latestRolledoutRevision;
  if (!stableVersion || !version || typeof candidate !== "string" || typeof stable !== "string" || candidate === stable) return undefined;
  return { stable: { revision: stable, version: stableVersion }, candidate: { revision: candidate, version } };
}
