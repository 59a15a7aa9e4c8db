// registerHonoHttp: an app whose (async) start fails (its database is down at a cold start) is built again on the next request.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { registerHonoHttp } from "../../../platform/fn/http.ts";

let starts = 0;
registerHonoHttp("flakyStartTarget", async () => {
  starts++;
  if (starts === 1) throw new Error("database not reachable yet");
  return new Hono().get("/", (c) => c.text(`started after ${starts} attempts`));
});
const server: http.Server = getTestServer("flakyStartTarget");
const url = await new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("registerHonoHttp start failures", () => {
  it("answers 500 while the start fails, then builds the app again on the next request", async () => {
    expect((await fetch(url)).status).toBe(500);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("started after 2 attempts");
  });
});
