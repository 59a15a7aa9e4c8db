// The deployments API (the platform mounts it at /api/v1/deployments): list, get with conditions, apply a spec
// (YAML/JSON, multi-document; ?dryRun=1 renders the backend's objects as YAML), delete, promote and rollback.
// Changes go through deployment.requested events, so deploy-model does the work and the answer is 202.
import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import YAML from "yaml";
import { NotFoundError, ValidationError, toHttpError, type FieldIssue } from "../../platform/errors.ts";
import { buildEvent, zodIssues } from "../../platform/events/index.ts";
import type { BaseDeps } from "../../platform/fn/types.ts";
import { TAG } from "../../platform/lineage.ts";
import type { ModelRegistry, ResolvedModel, ServingBackend } from "../../platform/ports.ts";
import { readLimited } from "../../platform/serving/v2/body.ts";
import { DeploymentSpecSchema, SERVING_BACKENDS, type DeploymentSpec, type ServingBackendName } from "../../platform/specs/deployment.ts";
import { parseYamlDocuments, YamlError } from "../../platform/yaml.ts";

export interface DeploymentsApiDeps extends BaseDeps {
  readonly backends: Readonly<Partial<Record<ServingBackendName, ServingBackend>>>;
  readonly defaultBackend: ServingBackendName;
  /** For --dry-run of model specs: the registry version behind them. */
  readonly registry?: ModelRegistry | undefined;
  /** Backends that only render (--dry-run) for clusters this process does not deploy to. */
  readonly renderers?: Readonly<Partial<Record<ServingBackendName, Pick<ServingBackend, "render">>>> | undefined;
}

const SOURCE = "/flywheel/api/deployments";

/** Parse one or more YAML/JSON documents into validated specs; issues are prefixed with the document index. */
export function parseSpecs(text: string): DeploymentSpec[] {
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(text);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new ValidationError([{ field: "body", message: `invalid YAML: ${e.message}` }]);
  }
  docs = docs.filter((d) => d !== null && d !== undefined);
  if (docs.length === 0) throw new ValidationError([{ field: "body", message: "no deployment spec in the body" }]);
  const issues: FieldIssue[] = [];
  const specs: DeploymentSpec[] = [];
  docs.forEach((doc, i) => {
    const r = DeploymentSpecSchema.safeParse(doc);
    if (r.success) specs.push(r.data);
    else issues.push(...zodIssues(r.error, docs.length > 1 ? `documents[${i}]` : ""));
  });
  if (issues.length) throw new ValidationError(issues);
  return specs;
}

const isBackendName = (v: string): v is ServingBackendName => (SERVING_BACKENDS as readonly string[]).includes(v);

export function deploymentsApi(deps: DeploymentsApiDeps): Hono {
  const app = new Hono();
  const fail = (c: Context, e: unknown): Response => {
    const { status, body } = toHttpError(e);
    return c.json(body, status as 400);
  };
  const backendFor = (name: string | undefined): ServingBackend => {
    const key = name ?? deps.defaultBackend;
    const b = (SERVING_BACKENDS as readonly string[]).includes(key) ? deps.backends[key as ServingBackendName] : undefined;
    if (!b) throw new ValidationError([{ field: "backend", message: `unknown or unconfigured backend ${key}; configured: ${Object.keys(deps.backends).join(", ")}` }]);
    return b;
  };
  const all = (): ServingBackend[] => Object.values(deps.backends).filter((b): b is ServingBackend => Boolean(b));
  const find = async (name: string): Promise<NonNullable<Awaited<ReturnType<ServingBackend["get"]>>>> => {
    for (const b of all()) {
      const s = await b.get(name);
      if (s) return s;
    }
    throw new NotFoundError(`deployment ${name} not found`);
  };
  const emit = async (data: Parameters<typeof buildEvent<"deployment.requested">>[1], subject: string): Promise<string> => {
    const id = randomUUID();
    await deps.bus.emit(buildEvent("deployment.requested", data, { source: SOURCE, id, subject }));
    return id;
  };

  app.get("/", async (c) => {
    try {
      const lists = await Promise.all(all().map((b) => b.list()));
      return c.json({ deployments: lists.flat().sort((a, b) => a.name.localeCompare(b.name)) });
    } catch (e) {
      return fail(c, e);
    }
  });
  app.get("/:name", async (c) => {
    try {
      return c.json(await find(c.req.param("name")));
    } catch (e) {
      return fail(c, e);
    }
  });
  app.post("/", async (c) => {
    try {
      const specs = parseSpecs(await readLimited(c, 1024 * 1024));
      const backendName = c.req.query("backend");
      const dry = ["1", "true", "yes"].includes(c.req.query("dryRun") ?? c.req.query("dry-run") ?? "");
      const renderer = dry && backendName && isBackendName(backendName) ? deps.renderers?.[backendName] : undefined;
      const backend = renderer ? undefined : backendFor(backendName);
      if (dry) {
        const objects: Record<string, unknown>[] = [];
        const r = renderer ?? backend;
        for (const spec of specs) objects.push(...(r?.render(spec, { revision: "dry-run", models: await dryRunModels(deps, spec) }) ?? []));
        return c.body(objects.map((o) => YAML.stringify(o)).join("---\n"), 200, { "content-type": "application/yaml" });
      }
      await checkModelsExist(deps, specs);
      const accepted = [];
      for (const spec of specs) {
        const eventId = await emit({ action: "deploy", spec, ...(backendName && backend ? { backend: backend.name } : {}) }, spec.name);
        accepted.push({ name: spec.name, kind: spec.kind, eventId });
      }
      return c.json({ accepted }, 202);
    } catch (e) {
      return fail(c, e);
    }
  });
  app.delete("/:name", async (c) => {
    try {
      const name = c.req.param("name");
      await find(name);
      return c.json({ accepted: [{ name, eventId: await emit({ action: "undeploy", name }, name) }] }, 202);
    } catch (e) {
      return fail(c, e);
    }
  });
  for (const action of ["promote", "rollback"] as const) {
    app.post(`/:name/${action}`, async (c) => {
      try {
        const name = c.req.param("name");
        await find(name);
        return c.json({ accepted: [{ name, eventId: await emit({ action, name }, name) }] }, 202);
      } catch (e) {
        return fail(c, e);
      }
    });
  }
  return app;
}

/** What a dry run shows for a model spec: the registry version's source and flavor, without downloading it. */
async function dryRunModels(deps: DeploymentsApiDeps, spec: DeploymentSpec): Promise<Record<string, ResolvedModel>> {
  if (spec.kind !== "model") return {};
  if (!deps.registry) {
    const version = spec.version ?? spec.alias ?? "latest";
    return { [spec.name]: { model: spec.model, version, storageUri: spec.storageUri ?? `models:/${spec.model}/${version}`, flavors: spec.format ? [spec.format] : [] } };
  }
  const v = spec.version
    ? await deps.registry.getModelVersion(spec.model, spec.version)
    : await deps.registry.getModelVersionByAlias(spec.model, spec.alias ?? "champion");
  const flavor = v.tags[TAG.flavor];
  return { [spec.name]: { model: spec.model, version: v.version, storageUri: spec.storageUri ?? v.source, flavors: spec.format ? [spec.format] : flavor ? [flavor] : [] } };
}

/**
 * Refuse, at request time, a model spec whose registered model version or alias does not exist, so the caller gets a
 * 400 naming the field instead of a 202 and a failed deployment later. Only a definite "not found" refuses: when the
 * registry cannot be asked (none configured, or unreachable) the deployment goes ahead and deploy-model reports.
 */
async function checkModelsExist(deps: DeploymentsApiDeps, specs: readonly DeploymentSpec[]): Promise<void> {
  const registry = deps.registry;
  if (!registry) return;
  const issues: FieldIssue[] = [];
  for (const [i, spec] of specs.entries()) {
    if (spec.kind !== "model" || spec.storageUri) continue;
    const at = specs.length > 1 ? `documents[${i}].` : "";
    let found: boolean;
    try {
      // A missing alias is decided from the model's aliases (MLflow answers it 400, like a malformed one), never an error.
      found = spec.version
        ? Boolean(await registry.getModelVersion(spec.model, spec.version))
        : (await registry.findVersionByAlias(spec.model, spec.alias ?? "champion")) !== undefined;
    } catch (e) {
      if (!(e instanceof NotFoundError)) continue;
      found = false;
    }
    if (found) continue;
    const field = spec.version ? "version" : "alias";
    const what = spec.version ? `version ${spec.version}` : `alias ${spec.alias ?? "champion"}`;
    issues.push({ field: `${at}${field}`, message: `registered model ${spec.model} has no ${what} (or does not exist)` });
  }
  if (issues.length) throw new ValidationError(issues);
}
