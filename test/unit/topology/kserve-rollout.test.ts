// The kubelet's KServe stand-in routes as ksvc_reconciler.go does: the remaining target of a canary is always tagged
// "prev"; the latest target is tagged "latest" only under serving.kserve.io/enable-tag-routing: "true".
import { describe, expect, it } from "vitest";
import { routeTraffic, tagRoutingOf } from "../../support/topology/kubelet/serving/kserve-rollout.ts";

describe("routeTraffic tags", () => {
  const rollout = { latestRolledoutRevision: "r-1" };
  it("leaves the latest target untagged without the annotation", () => {
    expect(routeTraffic(30, rollout, "r-2")).toEqual([
      { revisionName: "r-2", percent: 30, latestRevision: true },
      { revisionName: "r-1", percent: 70, latestRevision: false, tag: "prev" },
    ]);
    expect(routeTraffic(undefined, rollout, "r-2")).toEqual([{ revisionName: "r-2", percent: 100, latestRevision: true }]);
  });

  it("tags it latest, canary or blue-green, with enable-tag-routing: \"true\"", () => {
    const on = tagRoutingOf({ "serving.kserve.io/enable-tag-routing": "true" });
    expect(on).toBe(true);
    expect(tagRoutingOf({ "serving.kserve.io/enable-tag-routing": "false" })).toBe(false);
    expect(tagRoutingOf(undefined)).toBe(false);
    expect(routeTraffic(30, rollout, "r-2", on)?.map((t) => t.tag)).toEqual(["latest", "prev"]);
    expect(routeTraffic(undefined, rollout, "r-2", on)?.map((t) => t.tag)).toEqual(["latest"]);
  });
});
