// The serving backends' read path without client-node (platform/serving/kube-rest.ts) against the fake API server:
// the same objects, errors and API calls as client-node's KubernetesObjectApi; in-cluster credentials over real TLS
// (a CA and certificates from the Debian `openssl`); and client-node kept for every configuration it cannot mirror.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TLSSocket } from "node:tls";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { restReader } from "../../../platform/serving/kube-rest.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { standInInferenceService } from "../../support/knative-process.ts";

const NS = "ml";
const ISVC = "serving.kserve.io/v1beta1";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-kube-rest-"));
let kube: FakeKube;
let kubeconfigFile: string;

function openssl(...args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error("openssl is missing: apt-get install -y openssl", { cause: e });
    throw e;
  }
}

beforeAll(async () => {
  kube = await startFakeKube({ namespace: NS, token: "right-token" });
  kubeconfigFile = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfigFile, kube.kubeconfigYaml, { mode: 0o600 });
  standInInferenceService(kube, { name: "iris", namespace: NS, model: "iris", version: "3", url: "http://iris.example" });
});

afterAll(async () => {
  await kube.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("custom resources read without client-node", () => {
  // The point of kube-rest: these reads never build client-node's KubeConfig (which loads the whole client).
  const noClientNode = (): Promise<KubeConfig> => Promise.reject(new Error("client-node was loaded"));
  const viaRest = (): ServingKubeClient => new ServingKubeClient(noClientNode, NS, () => restReader({ env: { KUBECONFIG: kubeconfigFile } }));
  const viaClientNode = (): ServingKubeClient => new ServingKubeClient(kube.kubeconfig, NS);

  it("answers what client-node answers, with the same API calls (discovery, then the object)", async () => {
    const calls = (): string[] => kube.requests.map((r) => `${r.method} ${r.path}?${r.query}`);
    let from = kube.requests.length;
    const clientNode = viaClientNode();
    const expected = await clientNode.read(ISVC, "InferenceService", "iris");
    const expectedList = await clientNode.list(ISVC, "InferenceService", "app.kubernetes.io/managed-by=flywheel");
    const clientNodeCalls = calls().slice(from);
    from = kube.requests.length;
    const rest = viaRest();
    expect(await rest.read(ISVC, "InferenceService", "iris")).toEqual(expected);
    expect(await rest.list(ISVC, "InferenceService", "app.kubernetes.io/managed-by=flywheel")).toEqual(expectedList);
    expect(calls().slice(from)).toEqual(clientNodeCalls);
    expect(clientNodeCalls).toHaveLength(3);
    expect(expectedList.map((o) => o.metadata?.name)).toEqual(["iris"]);
  });

  it("maps a missing object, a missing kind and a refused token as client-node's path does", async () => {
    const rest = viaRest();
    expect(await rest.read(ISVC, "InferenceService", "nope")).toBeUndefined();
    // A kind the API server does not serve: the same UpstreamError either way (client-node throws a plain Error).
    const unknownKind = (c: ServingKubeClient): Promise<unknown> => c.list("serving.kserve.io/v1alpha1", "NoSuchKind", "").catch((e: unknown) => e);
    expect(String(await unknownKind(rest))).toBe(String(await unknownKind(viaClientNode())));
    const wrong = path.join(dir, "wrong-token");
    fs.writeFileSync(wrong, kube.kubeconfigYaml.replace("right-token", "wrong-token"));
    const refused = new ServingKubeClient(kube.kubeconfig, NS, () => restReader({ env: { KUBECONFIG: wrong } }));
    const err = await refused.read(ISVC, "InferenceService", "iris").catch((e: unknown) => e);
    const wrongKc = new KubeConfig();
    wrongKc.loadFromFile(wrong);
    const expected = await new ServingKubeClient(wrongKc, NS).read(ISVC, "InferenceService", "iris").catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ForbiddenError" });
    expect(String(err)).toBe(String(expected));
  });

  it("leaves to client-node what it does not mirror: exec plugins, merged kubeconfigs, plain HTTP without skip-tls", async () => {
    const config = JSON.parse(kube.kubeconfigYaml) as { users: { user: Record<string, unknown> }[]; clusters: { cluster: Record<string, unknown> }[] };
    const write = (name: string, c: unknown): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(c));
      return f;
    };
    const exec = write("exec", { ...config, users: config.users.map((u) => ({ ...u, user: { exec: { command: "aws" } } })) });
    const strict = write("strict", { ...config, clusters: config.clusters.map((c) => ({ ...c, cluster: { server: c.cluster.server } })) });
    expect(await restReader({ env: { KUBECONFIG: exec } })).toBeUndefined();
    expect(await restReader({ env: { KUBECONFIG: `${kubeconfigFile}${path.delimiter}${exec}` } })).toBeUndefined();
    expect(await restReader({ env: { KUBECONFIG: strict } })).toBeUndefined();
    expect(await restReader({ env: { KUBECONFIG: kubeconfigFile } })).toBeDefined();
    expect(await restReader({ env: {} })).toBeUndefined();
  });
});

describe("credentials over TLS", () => {
  let proxy: https.Server;
  let port = 0;
  const seen: { authorization: string | undefined; clientCert: boolean }[] = [];

  beforeAll(async () => {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube", "-keyout", "server.key", "-out", "server.csr");
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=flywheel", "-keyout", "client.key", "-out", "client.csr");
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "client.crt");
    const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
    // An API server front: TLS with the test CA's certificate, asking for (not requiring) a client certificate.
    proxy = https.createServer({ key: read("server.key"), cert: read("server.crt"), ca: read("ca.crt"), requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const s = req.socket;
      seen.push({ authorization: req.headers.authorization, clientCert: s instanceof TLSSocket && s.authorized && Object.keys(s.getPeerCertificate()).length > 0 });
      const upstream = http.request(`${kube.url}${req.url ?? "/"}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    port = (proxy.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  it("in a pod: the Service host and port, the ServiceAccount's CA and token", async () => {
    const sa = path.join(dir, "sa");
    fs.mkdirSync(sa);
    fs.copyFileSync(path.join(dir, "ca.crt"), path.join(sa, "ca.crt"));
    fs.writeFileSync(path.join(sa, "token"), "right-token");
    const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(port) };
    const client = new ServingKubeClient(kube.kubeconfig, NS, () => restReader({ env, serviceAccountDir: sa }));
    expect((await client.read(ISVC, "InferenceService", "iris"))?.status).toMatchObject({ url: "http://iris.example" });
    expect(seen.at(-1)).toEqual({ authorization: "Bearer right-token", clientCert: false });

    // A server whose certificate the ServiceAccount's CA did not sign is refused, not trusted.
    const otherCa = path.join(dir, "sa-other");
    fs.mkdirSync(otherCa);
    fs.copyFileSync(path.join(dir, "server.crt"), path.join(otherCa, "ca.crt"));
    fs.writeFileSync(path.join(otherCa, "token"), "right-token");
    const untrusted = new ServingKubeClient(kube.kubeconfig, NS, () => restReader({ env, serviceAccountDir: otherCa }));
    await expect(untrusted.read(ISVC, "InferenceService", "iris")).rejects.toMatchObject({ name: "UpstreamError" });
  });

  it("a kubeconfig with CA data and a client certificate (files relative to the kubeconfig)", async () => {
    const file = path.join(dir, "tls-kubeconfig");
    const b64 = (f: string): string => fs.readFileSync(path.join(dir, f)).toString("base64");
    fs.writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: tls",
        "clusters:",
        `- name: tls\n  cluster:\n    server: https://127.0.0.1:${port}/\n    certificate-authority-data: ${b64("ca.crt")}`,
        "users:",
        "- name: cert\n  user:\n    client-certificate: client.crt\n    client-key: client.key",
        "contexts:",
        "- name: tls\n  context:\n    cluster: tls\n    user: cert",
        "",
      ].join("\n"),
    );
    const reader = await restReader({ env: { KUBECONFIG: file } });
    // No token: the fake API server (which wants one) refuses, after TLS verified both sides.
    await expect(reader?.read(ISVC, "InferenceService", NS, "iris")).rejects.toMatchObject({ code: 401 });
    expect(seen.at(-1)).toEqual({ authorization: undefined, clientCert: true });
  });
});
