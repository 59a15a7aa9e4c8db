// Discovery documents of the fake API server (/api, /apis, /api/v1, /apis/<group>/<version>), from its resource table.
import type { ResourceInfo } from "./resources.ts";

export function discover(segs: string[], resources: ResourceInfo[]): Record<string, unknown> | undefined {
  const j = segs.join("/");
  if (j === "api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  if (j === "apis") {
    const groups = [...new Set(resources.filter((r) => r.group).map((r) => r.group))];
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: groups.map((g) => {
        const versions = [...new Set(resources.filter((r) => r.group === g).map((r) => r.version))].map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
        return { name: g, versions, preferredVersion: versions[0] };
      }),
    };
  }
  const gv = segs[0] === "api" && segs.length === 2 ? { group: "", version: segs[1] } : segs[0] === "apis" && segs.length === 3 ? { group: segs[1], version: segs[2] } : undefined;
  if (!gv) return undefined;
  const rs = resources.filter((r) => r.group === gv.group && r.version === gv.version);
  if (!rs.length) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: gv.group ? `${gv.group}/${gv.version}` : gv.version,
    resources: rs.flatMap((r) => [
      { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
      ...(r.status ? [{ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: ["get", "patch", "update"] }] : []),
      ...(r.plural === "pods" && r.group === "" ? [{ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] }] : []),
    ]),
  };
}
