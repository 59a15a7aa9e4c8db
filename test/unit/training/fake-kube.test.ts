// The fake Kubernetes API server speaks the conventions @kubernetes/client-node and real controllers rely on.
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiException, BatchV1Api, CustomObjectsApi, KubernetesObjectApi, Log, Watch } from "@kubernetes/client-node";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

let kube: FakeKube;
beforeEach(async () => {
  kube = await startFakeKube({ validate: crdValidator, token: "t0ken" });
});
afterEach(async () => kube.close());

const job = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, labels },
  spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] } } },
});

async function raw(method: string, path: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(kube.url + path, {
    method,
    headers: { authorization: "Bearer t0ken", "content-type": contentType },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function statusOf(e: unknown): { code: number; reason: unknown } {
  if (!(e instanceof ApiException)) throw e;
  const body: unknown = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
  return { code: e.code, reason: body && typeof body === "object" && "reason" in body ? body.reason : undefined };
}

describe("fake-kube", () => {
  it("creates with server-set metadata, refuses duplicates with 409 AlreadyExists and answers 404 NotFound", async () => {
    const batch = kube.kubeconfig.makeApiClient(BatchV1Api);
    const created = await batch.createNamespacedJob({ namespace: "ml", body: job("a") });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.namespace).toBe("ml");
    const dup = await batch.createNamespacedJob({ namespace: "ml", body: job("a") }).catch((e: unknown) => statusOf(e));
    expect(dup).toEqual({ code: 409, reason: "AlreadyExists" });
    const missing = await batch.readNamespacedJob({ namespace: "ml", name: "nope" }).catch((e: unknown) => statusOf(e));
    expect(missing).toEqual({ code: 404, reason: "NotFound" });
    expect((await raw("GET", "/apis/batch/v1/namespaces/ml/jobs/nope")).body).toMatchObject({ kind: "Status", status: "Failure", code: 404, details: { name: "nope", group: "batch", kind: "jobs" } });
  });

  it("refuses requests without the bearer token (401)", async () => {
    const res = await fetch(`${kube.url}/api/v1/namespaces/default/pods`);
    expect(res.status).toBe(401);
  });

  it("validates custom resources against the CRD schema (422 Invalid) and bad names", async () => {
    const co = kube.kubeconfig.makeApiClient(CustomObjectsApi);
    const bad = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", metadata: { name: "p" }, spec: { pytorchReplicaSpecs: { Master: { replicas: "one" } } } };
    const err = await co
      .createNamespacedCustomObject({ group: "kubeflow.org", version: "v1", namespace: "ml", plural: "pytorchjobs", body: bad })
      .catch((e: unknown) => statusOf(e));
    expect(err).toEqual({ code: 422, reason: "Invalid" });
    const badName = await raw("POST", "/apis/batch/v1/namespaces/ml/jobs", job("Not_Valid"));
    expect(badName.status).toBe(422);
    expect(JSON.stringify(badName.body)).toContain("metadata.name");
  });

  it("lists with labelSelector and resourceVersion; discovery lets KubernetesObjectApi work", async () => {
    const objs = kube.kubeconfig.makeApiClient(KubernetesObjectApi);
    await objs.create(job("a", { team: "x" }));
    await objs.create(job("b", { team: "y" }));
    const listed = await objs.list("batch/v1", "Job", "default", undefined, undefined, undefined, undefined, "team in (x,z)");
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(["a"]);
    expect(Number(listed.metadata?.resourceVersion)).toBeGreaterThanOrEqual(3);
    const notX = await raw("GET", "/apis/batch/v1/namespaces/default/jobs?labelSelector=team!%3Dx");
    expect((notX.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(["b"]);
  });

  it("watches from a resourceVersion and sees status updates", async () => {
    const batch = kube.kubeconfig.makeApiClient(BatchV1Api);
    const created = await batch.createNamespacedJob({ namespace: "default", body: job("w") });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      void new Watch(kube.kubeconfig).watch(
        "/apis/batch/v1/namespaces/default/jobs",
        { resourceVersion: created.metadata?.resourceVersion ?? "" },
        (type: string, obj: { status?: { succeeded?: number } }) => {
          seen.push(`${type}:${obj.status?.succeeded ?? 0}`);
          if (obj.status?.succeeded === 1) resolve();
        },
        () => undefined,
      );
    });
    kube.setStatus({ apiVersion: "batch/v1", kind: "Job", namespace: "default", name: "w" }, { succeeded: 1 });
    await done;
    kube.closeWatches();
    expect(seen).toEqual(["MODIFIED:1"]);
  });

  it("gives 410 Expired to a watch from a compacted resourceVersion", async () => {
    await raw("POST", "/apis/batch/v1/namespaces/default/jobs", job("c"));
    kube.compact();
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/default/jobs?watch=true&resourceVersion=1`, { headers: { authorization: "Bearer t0ken" } });
    const line = JSON.parse((await res.text()).trim());
    expect(line).toMatchObject({ type: "ERROR", object: { code: 410, reason: "Expired" } });
  });

  it("separates spec writes from /status writes and detects stale resourceVersions", async () => {
    const base = "/apis/batch/v1/namespaces/default/jobs/s";
    await raw("POST", "/apis/batch/v1/namespaces/default/jobs", job("s"));
    const st = await raw("PATCH", `${base}/status`, { status: { active: 1 }, spec: { parallelism: 9 } }, "application/merge-patch+json");
    expect(st.body.status).toEqual({ active: 1 });
    expect((st.body.spec as Record<string, unknown>).parallelism).toBeUndefined();
    const sp = await raw("PATCH", base, { spec: { parallelism: 2 }, status: { active: 0 } }, "application/merge-patch+json");
    expect(sp.body.status).toEqual({ active: 1 });
    expect((sp.body.metadata as Record<string, unknown>).generation).toBe(2);
    const stale = await raw("PUT", base, { ...job("s"), metadata: { name: "s", resourceVersion: "1" } });
    expect(stale).toMatchObject({ status: 409, body: { reason: "Conflict" } });
    const jp = await raw("PATCH", base, [{ op: "replace", path: "/spec/parallelism", value: 3 }], "application/json-patch+json");
    expect((jp.body.spec as Record<string, unknown>).parallelism).toBe(3);
  });

  it("server-side apply needs a fieldManager, creates when absent and updates when present", async () => {
    const path = "/apis/batch/v1/namespaces/default/jobs/ssa";
    const yaml = `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ssa\nspec:\n  parallelism: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n`;
    const noManager = await raw("PATCH", path, yaml, "application/apply-patch+yaml");
    expect(noManager).toMatchObject({ status: 422, body: { reason: "Invalid" } });
    const first = await raw("PATCH", `${path}?fieldManager=flywheel`, yaml, "application/apply-patch+yaml");
    expect(first.status).toBe(201);
    const second = await raw("PATCH", `${path}?fieldManager=flywheel&force=true`, yaml.replace("parallelism: 1", "parallelism: 4"), "application/apply-patch+yaml");
    expect(second.status).toBe(200);
    expect((second.body.spec as Record<string, unknown>).parallelism).toBe(4);
    expect((second.body.metadata as { managedFields: { manager: string }[] }).managedFields[0]?.manager).toBe("flywheel");
  });

  it("server-side apply owns fields: an omitted field goes, another manager's field stays, a changed one conflicts unless forced", async () => {
    const path = "/api/v1/namespaces/default/configmaps/owned";
    const apply = (data: Record<string, string>, annotations: Record<string, string>, query = "fieldManager=flywheel") =>
      raw("PATCH", `${path}?${query}`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owned", annotations }, data }, "application/apply-patch+yaml");
    expect((await apply({ a: "1", b: "2" }, { "x/candidate": "v2", "x/keep": "k" })).status).toBe(201);
    // Someone else edits (a merge patch by another manager): it changes b and adds c, which it then owns.
    const edit = await raw("PATCH", `${path}?fieldManager=kubectl-edit`, { data: { b: "20", c: "3" } }, "application/merge-patch+json");
    expect(edit.status).toBe(200);
    const managers = (o: Record<string, unknown>) => ((o.metadata as { managedFields: { manager: string; operation: string; fieldsV1: unknown }[] }).managedFields);
    expect(managers(edit.body).map((m) => [m.manager, m.operation])).toEqual([["flywheel", "Apply"], ["kubectl-edit", "Update"]]);
    expect(managers(edit.body)[1]?.fieldsV1).toEqual({ "f:data": { "f:b": {}, "f:c": {} } });

    // Applying again without a (its own, unshared) and without the candidate annotation removes both; b and c, now
    // another manager's, stay although this apply does not name them.
    const second = await apply({}, { "x/keep": "k" });
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual({ b: "20", c: "3" });
    expect((second.body.metadata as { annotations: unknown }).annotations).toEqual({ "x/keep": "k" });

    // Setting c to another value conflicts with its owner: the API server's 409 names the manager and the field.
    const conflict = await apply({ c: "30" }, { "x/keep": "k" });
    expect(conflict).toMatchObject({
      status: 409,
      body: {
        kind: "Status", status: "Failure", reason: "Conflict", code: 409,
        message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.c',
        details: { causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-edit" using v1', field: ".data.c" }] },
      },
    });
    const two = await apply({ b: "2", c: "30" }, { "x/keep": "k" });
    expect(two.body.message).toBe('Apply failed with 2 conflicts: conflicts with "kubectl-edit" using v1:\n- .data.b\n- .data.c');
    // The same value is no conflict: the field is shared, and stays while either manager still names it.
    expect((await apply({ c: "3" }, { "x/keep": "k" })).status).toBe(200);
    expect((await apply({}, { "x/keep": "k" })).body.data).toEqual({ b: "20", c: "3" });
    // Forced, the field changes hands: the next apply without it removes it.
    const forced = await apply({ c: "30" }, { "x/keep": "k" }, "fieldManager=flywheel&force=true");
    expect(forced.status).toBe(200);
    expect(forced.body.data).toEqual({ b: "20", c: "30" });
    expect(managers(forced.body).find((m) => m.manager === "kubectl-edit")?.fieldsV1).toEqual({ "f:data": { "f:b": {} } });
    expect((await apply({}, { "x/keep": "k" })).body.data).toEqual({ b: "20" });
  });

  it.each([
    ["Background", false],
    ["Foreground", true],
  ])("deletes with %s propagation, taking owned pods along", async (policy, marksOwner) => {
    const created = await raw("POST", "/apis/batch/v1/namespaces/default/jobs", job("d"));
    const uid = (created.body.metadata as { uid: string }).uid;
    kube.create({ apiVersion: "v1", kind: "Pod", metadata: { name: "d-0", namespace: "default", ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "d", uid }] }, spec: { containers: [{ name: "main", image: "x" }] } });
    kube.create({ apiVersion: "v1", kind: "Pod", metadata: { name: "other", namespace: "default" }, spec: { containers: [{ name: "main", image: "x" }] } });
    const del = await raw("DELETE", `/apis/batch/v1/namespaces/default/jobs/d?propagationPolicy=${policy}`);
    expect(del.status).toBe(200);
    if (marksOwner) expect((del.body.metadata as Record<string, unknown>).deletionTimestamp).toBeTruthy();
    else expect(del.body).toMatchObject({ kind: "Status", status: "Success" });
    await expect.poll(() => kube.objects({ apiVersion: "v1", kind: "Pod" }).map((p) => (p.metadata as { name: string }).name)).toEqual(["other"]);
    await expect.poll(() => kube.objects({ apiVersion: "batch/v1", kind: "Job" }).length).toBe(0);
  });

  it("streams pods/log with follow until the pod finishes, and names the container choice", async () => {
    kube.create({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "a", image: "x" }, { name: "b", image: "x" }] } });
    const ambiguous = await raw("GET", "/api/v1/namespaces/default/pods/p/log");
    expect(ambiguous.status).toBe(400);
    expect(String(ambiguous.body.message)).toContain("choose one of: [a b]");
    kube.appendLog("default", "p", "one\n", "a");
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString()));
    const ended = new Promise<void>((resolve) => out.on("end", () => resolve()));
    await new Log(kube.kubeconfig).log("default", "p", "a", out, { follow: true });
    await expect.poll(() => text).toBe("one\n");
    kube.appendLog("default", "p", "two\n", "a");
    await expect.poll(() => text).toBe("one\ntwo\n");
    kube.setStatus({ apiVersion: "v1", kind: "Pod", namespace: "default", name: "p" }, { phase: "Succeeded" });
    await ended;
    const tail = await fetch(`${kube.url}/api/v1/namespaces/default/pods/p/log?container=a&tailLines=1`, { headers: { authorization: "Bearer t0ken" } });
    expect(await tail.text()).toBe("two\n");
  });

  it("records the verb and resource of every call (for least-privilege RBAC checks)", async () => {
    await raw("POST", "/apis/batch/v1/namespaces/default/jobs", job("r"));
    await raw("GET", "/apis/batch/v1/namespaces/default/jobs/r");
    expect(kube.requests.map((r) => `${r.verb} ${r.group}/${r.resource} ${r.status}`)).toEqual(["create batch/jobs 201", "get batch/jobs 200"]);
  });
});
