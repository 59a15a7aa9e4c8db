// Rendering: the committed manifests equal a fresh generation; every overlay renders with the JS kustomize and
// matches `kubectl kustomize`; every object validates (CRDs from shared/schemas/crds, core kinds by hand subsets).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { generate, MANIFESTS_DIR, staleFiles } from "../../../platform/manifests/generate.ts";
import { OVERLAYS, renderManifests, renderObjects, type K8sObject } from "../../../platform/manifests/index.ts";
import { crdErrors, hasCrd } from "../../support/crds.ts";
import { coreErrors } from "./core-schemas.ts";
import { requireTool } from "../../support/require-binary.ts";


const id = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

const kubectl = (): string => requireTool("kubectl");

describe("generated manifests", () => {
  it("are committed exactly as platform/manifests/generate.ts writes them, with nothing stale", () => {
    const files = generate();
    const out: string[] = [];
    for (const [rel, content] of files) {
      const p = path.join(MANIFESTS_DIR, rel);
      if (!fs.existsSync(p) || fs.readFileSync(p, "utf8") !== content) out.push(rel);
    }
    expect(out, "run: npx tsx platform/manifests/generate.ts").toEqual([]);
    expect(staleFiles(files)).toEqual([]);
  });

  it("hold no key material and no Secret objects", () => {
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    for (const f of walk(MANIFESTS_DIR)) expect(fs.readFileSync(f, "utf8"), f).not.toMatch(/PRIVATE KEY|^kind: Secret$/m);
    for (const o of OVERLAYS) expect(renderObjects(o).filter((x) => x.kind === "Secret")).toEqual([]);
  });
});

describe.each(OVERLAYS)("overlay %s", (overlay) => {
  const objs = renderObjects(overlay);

  it("validates every object against the CRDs or the core schema subset", () => {
    const problems: string[] = [];
    for (const o of objs) {
      const [group] = o.apiVersion.split("/");
      if (hasCrd(o.apiVersion, o.kind)) problems.push(...crdErrors(o).map((e) => `${id(o)}: ${e}`));
      else {
        const errs = coreErrors(o);
        if (errs === undefined) problems.push(`${id(o)}: no schema for ${o.apiVersion} ${o.kind} (group ${group})`);
        else problems.push(...errs.map((e) => `${id(o)}: ${e}`));
      }
    }
    expect(problems).toEqual([]);
  });

  it("has unique object ids", () => {
    const ids = objs.map(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("renders the same objects, in the same order, as kubectl kustomize", () => {
    const text = execFileSync(kubectl(), ["kustomize", path.join(MANIFESTS_DIR, "overlays", overlay)], { encoding: "utf8" });
    const theirs = YAML.parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
    expect(objs.map(id)).toEqual(theirs.map(id));
    const byId = new Map(theirs.map((o) => [id(o), o]));
    const differing = objs.filter((o) => !isDeepStrictEqual(JSON.parse(JSON.stringify(o)), byId.get(id(o)))).map(id);
    expect(differing).toEqual([]);
  });
});

describe("renderManifests", () => {
  it("prints a YAML stream for the default overlay and names a bad overlay in a ValidationError", () => {
    const docs = YAML.parseAllDocuments(renderManifests()).map((d) => d.toJS() as K8sObject);
    expect(docs.map(id)).toEqual(renderObjects("dev").map(id));
    expect(docs[0]?.kind).toBe("Namespace");
    expect(() => renderManifests("staging")).toThrow(ValidationError);
    try {
      renderManifests("staging");
    } catch (e) {
      expect(e instanceof ValidationError && e.issues[0]?.field).toBe("overlay");
    }
  });
});
