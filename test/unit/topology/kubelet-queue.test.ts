// The kubelet's work queue treats a 404 from a reconcile's write as the race client-go's controllers live with (the
// object was deleted after the informer's cache was read): it requeues, and reports only a 404 that persists.
import { describe, expect, it } from "vitest";
import { KubeError } from "../../support/topology/kubelet/kube-http.ts";
import { KeyedQueue } from "../../support/topology/kubelet/queue.ts";

async function settle(q: KeyedQueue, until: () => boolean): Promise<void> {
  for (let deadline = Date.now() + 5_000; !until() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  await q.close();
}

describe("kubelet KeyedQueue", () => {
  it("requeues a reconcile whose write answered 404, and reports nothing once the next one finds the object gone", async () => {
    const errors: string[] = [];
    const calls: string[] = [];
    let deleted = false;
    const q = new KeyedQueue(async (key) => {
      calls.push(key);
      if (deleted) return; // the cache now shows the deletion: nothing to do
      deleted = true;
      throw new KubeError(404, `PATCH /apis/batch/v1/namespaces/ns/jobs/${key}/status: 404 jobs.batch "${key}" not found`);
    }, (m) => errors.push(m));
    q.add("gone");
    await settle(q, () => calls.length >= 2);
    expect(calls).toEqual(["gone", "gone"]);
    expect(errors).toEqual([]);
  });

  it("reports a 404 that persists past the retries once, and any other error at once", async () => {
    const errors: string[] = [];
    let calls = 0;
    const q = new KeyedQueue(async (key) => {
      calls++;
      throw new KubeError(key === "wrong-path" ? 404 : 500, `${key} failed`);
    }, (m) => errors.push(m));
    q.add("wrong-path");
    await settle(q, () => errors.length > 0);
    expect(calls).toBe(6);
    expect(errors).toEqual(["reconcile wrong-path: wrong-path failed"]);

    const errors2: string[] = [];
    let calls2 = 0;
    const q2 = new KeyedQueue(async () => {
      calls2++;
      throw new KubeError(500, "boom");
    }, (m) => errors2.push(m));
    q2.add("k");
    await settle(q2, () => errors2.length > 0);
    expect(calls2).toBe(1);
    expect(errors2).toEqual(["reconcile k: boom"]);
  });
});
