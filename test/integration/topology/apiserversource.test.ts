// The kubelet's ApiServerSource adapter retries a failed send as Knative's does (50 ms exponential backoff, 5 retries,
// on connection errors and sdk-go's retriable codes) and gives up at once on other answers, such as 500.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startApiServerSource, type Emitted } from "../../support/topology/kubelet/apiserversource.ts";
import type { Informer } from "../../support/topology/kubelet/informer.ts";
import { KubeHttp } from "../../support/topology/kubelet/kube-http.ts";

const NS = "ml";
let kube: FakeKube;
let sink: http.Server;
let sinkUrl = "";
/** What the sink does with its next requests, in order ("drop" closes the connection unanswered); then 202. */
let plan: (number | "drop")[] = [];
const received: { id: string; subject: string }[] = [];

beforeAll(async () => {
  kube = await startFakeKube({ namespace: NS });
  sink = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push({ id: String(req.headers["ce-id"]), subject: String(req.headers["ce-subject"]) });
      const next = plan.shift() ?? 202;
      if (next === "drop") req.socket.destroy();
      else res.writeHead(next).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((r) => sink.close(() => r()));
  await kube.close();
});

/** Start a source on ConfigMaps, create one, and wait until its add event is recorded. */
async function sendOne(name: string, sends: (number | "drop")[]): Promise<{ emitted: Emitted; tries: number; errors: string[] }> {
  plan = sends;
  const emitted: Emitted[] = [];
  const errors: string[] = [];
  const source = { apiVersion: "sources.knative.dev/v1", kind: "ApiServerSource", metadata: { name: `src-${name}`, namespace: NS }, spec: { mode: "Resource", resources: [{ apiVersion: "v1", kind: "ConfigMap", selector: { matchLabels: { test: name } } }] } };
  const token = kube.kubeconfig.getCurrentUser()?.token;
  let informers: Informer[] = [];
  try {
    informers = await startApiServerSource(new KubeHttp(kube.url, token), source, sinkUrl, (e) => emitted.push(e), (m) => errors.push(m));
    const before = received.length;
    kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, labels: { test: name } }, data: { a: "1" } });
    await expect.poll(() => emitted.length, { timeout: 20_000, interval: 20 }).toBe(1);
    const [e] = emitted;
    if (!e) throw new Error("nothing emitted");
    const tries = received.slice(before).filter((r) => r.subject === e.subject);
    // Every try is the same event (one id), as the adapter resends it.
    expect(new Set(tries.map((r) => r.id))).toEqual(new Set([e.id]));
    return { emitted: e, tries: tries.length, errors };
  } finally {
    for (const i of informers) i.stop();
  }
}

describe("kubelet ApiServerSource: sink delivery as Knative's adapter does it", () => {
  it("retries 503, 429 and a dropped connection with backoff and delivers the event once the sink takes it", async () => {
    const { emitted, tries, errors } = await sendOne("retried", [503, "drop", 429]);
    expect(emitted).toMatchObject({ type: "dev.knative.apiserver.resource.add", subject: `/apis/v1/namespaces/${NS}/configmaps/retried`, status: 202, attempts: 4 });
    expect(tries).toBe(4);
    expect(errors).toEqual([]);
  });

  it("gives up after 5 retries of a retriable answer, and logs it", async () => {
    const { emitted, tries, errors } = await sendOne("exhausted", [503, 503, 503, 503, 503, 503]);
    expect(emitted).toMatchObject({ status: 503, attempts: 6 });
    expect(tries).toBe(6);
    expect(errors).toEqual([expect.stringMatching(/sink answered 503 .* after 6 attempt/)]);
  });

  it("does not retry a 500 (not retriable in the CloudEvents SDK the adapter uses)", async () => {
    const { emitted, tries, errors } = await sendOne("not-retried", [500]);
    expect(emitted).toMatchObject({ status: 500, attempts: 1 });
    expect(tries).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/sink answered 500/)]);
  });
});
