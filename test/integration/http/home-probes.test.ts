// Home's reachability probes of the outside UIs, with no fetch injected (as the Knative ui runs them), against real
// servers: they answer as before (up, login redirect not followed, 5xx, closed port, timeout) without the global fetch,
// whose first call in a cold ui pod loaded undici's dispatcher.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import type { Config } from "../../../platform/config/index.ts";
import { probeOutside } from "../../../pages/home/probes.ts";

let server: http.Server;
let base = "";
const paths: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    if (req.url?.startsWith("/up/")) res.writeHead(200).end("ok");
    else if (req.url?.startsWith("/login/")) res.writeHead(302, { location: "/sso" }).end();
    else if (req.url?.startsWith("/down/")) res.writeHead(503).end("overloaded");
    // /hang never answers: the probe's 1.5 s timeout must end it.
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

afterEach(() => vi.restoreAllMocks());

it("probes over node:http, not the global fetch, with the same verdicts", async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  const globalFetch = vi.spyOn(globalThis, "fetch").mockRejectedValue(new Error("global fetch used"));

  const links: Config["links"] = { prometheus: `${base}/up`, alertmanager: `${base}/login/`, grafana: `${base}/down`, airflow: undefined, mlflow: closedUrl, tracing: `${base}/hang` };
  const probes = await probeOutside({ config: { links, airflow: { username: undefined, password: undefined } } });

  expect(globalFetch).not.toHaveBeenCalled();
  const verdict = Object.fromEntries(probes.map((p) => [p.key, [p.ok, p.detail]]));
  expect(verdict).toEqual({
    prometheus: [true, "reachable"],
    alertmanager: [true, "reachable"], // a login redirect proves the server is there
    grafana: [false, "HTTP 503"],
    airflow: [undefined, "not configured"],
    mlflow: [false, "unreachable"],
    tracing: [false, "unreachable"],
  });
  // Each tool's own health path; the redirect is not followed.
  expect(paths.sort()).toEqual(["/down/api/health", "/hang/", "/login/-/ready", "/up/-/ready"]);
});
