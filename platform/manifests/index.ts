// renderManifests: the cluster manifests of one overlay as a YAML stream (`flywheel manifests [--overlay NAME]`).
import path from "node:path";
import { ValidationError } from "../errors.ts";
import { DEFAULT_OVERLAY, isOverlay, MANIFESTS_DIR, OVERLAYS } from "./generate.ts";
import { kustomizeBuild, toYamlStream } from "./kustomize.ts";
import type { K8sObject } from "./object.ts";

export { OVERLAYS, DEFAULT_OVERLAY, type OverlayName } from "./generate.ts";
export { kustomizeBuild, KustomizeError, toYamlStream } from "./kustomize.ts";
export type { K8sObject } from "./object.ts";

/** Objects of an overlay (default: dev). Throws ValidationError naming `overlay` for an unknown name. */
export function renderObjects(overlay: string = DEFAULT_OVERLAY, dir = MANIFESTS_DIR): K8sObject[] {
  if (!isOverlay(overlay)) {
    throw new ValidationError([{ field: "overlay", message: `unknown overlay ${JSON.stringify(overlay)}; use one of ${OVERLAYS.join(", ")}` }]);
  }
  return kustomizeBuild(path.join(dir, "overlays", overlay));
}

export function renderManifests(overlay?: string): string {
  return toYamlStream(renderObjects(overlay));
}
