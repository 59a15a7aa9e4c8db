// The fake API server's resource table: built-in kinds plus every CRD in shared/schemas/crds (for discovery and paths).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { CRD_DIR } from "../crds.ts";

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Whether the resource has a /status subresource (spec writes then keep status, and vice versa). */
  readonly status: boolean;
}

const BUILTIN: readonly ResourceInfo[] = [
  { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true, status: true },
  { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true, status: true },
  { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true, status: false },
  { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true, status: false },
  { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true, status: false },
  { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true, status: false },
  { group: "", version: "v1", plural: "persistentvolumeclaims", kind: "PersistentVolumeClaim", namespaced: true, status: true },
  { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false, status: true },
  { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true, status: true },
  { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true, status: true },
  { group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role", namespaced: true, status: false },
  { group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding", namespaced: true, status: false },
];

interface CrdDoc {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string };
    versions?: { name: string; served?: boolean; subresources?: { status?: unknown } }[];
  };
}

/** Every known resource. CRDs are read once from the shared schema folder (missing folder = built-ins only). */
export function loadResources(extra: readonly ResourceInfo[] = []): ResourceInfo[] {
  crdResources ??= readCrds();
  return [...BUILTIN, ...extra, ...crdResources];
}

// Parsing the CRD folder takes seconds; the table is immutable, so it is read once per test worker.
let crdResources: readonly ResourceInfo[] | undefined;

function readCrds(): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  let files: string[];
  try {
    files = fs.readdirSync(CRD_DIR).filter((f) => f.endsWith(".yaml"));
  } catch {
    return out;
  }
  for (const file of files) {
    // Only the shallow lines (indent <= 8) matter (group, names, scope, versions, subresources): skipping the deep schema makes this fast.
    const shallow = fs
      .readFileSync(path.join(CRD_DIR, file), "utf8")
      .split("\n")
      .filter((l) => /^ {0,8}\S/.test(l) || l.trim() === "")
      .join("\n");
    const doc: CrdDoc = YAML.parse(shallow);
    const s = doc.spec;
    if (!s?.group || !s.names?.plural || !s.names.kind) continue;
    for (const v of s.versions ?? []) {
      out.push({
        group: s.group,
        version: v.name,
        plural: s.names.plural,
        kind: s.names.kind,
        namespaced: s.scope !== "Cluster",
        status: v.subresources?.status !== undefined,
      });
    }
  }
  return out;
}

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** A Kubernetes `Status` object, the body of every API error (and of immediate deletes). */
export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field: string }[] },
): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Parameters<typeof statusBody>[3],
  ) {
    super(message);
  }
  body(): Record<string, unknown> {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

export const notFound = (r: ResourceInfo, name: string): ApiError =>
  new ApiError(404, "NotFound", `${r.plural}${r.group ? "." + r.group : ""} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.plural,
  });

export const alreadyExists = (r: ResourceInfo, name: string): ApiError =>
  new ApiError(409, "AlreadyExists", `${r.plural}${r.group ? "." + r.group : ""} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.plural,
  });

export const invalid = (r: ResourceInfo, name: string, causes: { field: string; message: string }[]): ApiError =>
  new ApiError(
    422,
    "Invalid",
    `${r.kind}${r.group ? "." + r.group : ""} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
    { name, group: r.group, kind: r.kind, causes: causes.map((c) => ({ reason: "FieldValueInvalid", ...c })) },
  );
