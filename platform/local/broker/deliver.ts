// Ready-made Deliver functions: Service refs to in-process routes (hono app.request), absolute URIs over real HTTP.
import type { TriggerDecl } from "../../eventing/triggers.ts";
import { createHttpPost, type HttpPostOptions } from "./http-post.ts";
import type { Deliver, Subscriber } from "./types.ts";

/** Anything with hono's `app.request(path, init)`. */
export interface InProcessService {
  request(input: string, init?: RequestInit): Response | Promise<Response>;
}

export interface CreateDeliverOptions {
  /** Knative Service name (= function name) -> its in-process route (POST / takes a CloudEvent). */
  readonly services?: Readonly<Record<string, InProcessService>> | undefined;
  /** Send absolute URIs through this fetch instead of the built-in node:http client (tests, custom transports). */
  readonly fetch?: typeof fetch | undefined;
  /** The built-in client's sockets and timeouts (ignored with `fetch`). */
  readonly http?: HttpPostOptions | undefined;
}

/** Response bodies are only kept for knativeerrordata (at most 1024 base64 characters). */
const MAX_BODY_CHARS = 4096;

export function createDeliver(opts: CreateDeliverOptions): Deliver {
  const doFetch = opts.fetch;
  const post = doFetch ? undefined : createHttpPost({ ...opts.http, maxBodyChars: MAX_BODY_CHARS });
  const deliver: Deliver = async (sub, msg, o) => {
    if (!sub.ref && sub.uri && post) return post(sub.uri, msg.headers, msg.body, o?.signal);
    const init: RequestInit = { method: "POST", headers: msg.headers, body: msg.body, signal: o?.signal };
    let res: Response;
    if (sub.ref) {
      const svc = sub.ref.kind === "Service" ? opts.services?.[sub.ref.name] : undefined;
      // An unresolvable ref answers 404, which Knative retries (a Service that is not ready yet looks the same).
      if (!svc) return { status: 404, body: `no in-process ${sub.ref.kind} named ${sub.ref.name}` };
      res = await svc.request(relativePath(sub.uri), init);
    } else if (sub.uri && doFetch) {
      res = await doFetch(sub.uri, init);
    } else {
      return { status: 404, body: "subscriber has neither ref nor uri" };
    }
    const body = (await res.text()).slice(0, MAX_BODY_CHARS);
    return { status: res.status, body };
  };
  return Object.assign(deliver, { close: () => post?.close() });
}

function relativePath(uri: string | undefined): string {
  if (!uri) return "/";
  const u = new URL(uri, "http://service.invalid/");
  return `${u.pathname}${u.search}`;
}

/** Start-up check: subscriber and deadLetterSink refs that name no in-process service, as "trigger: problem" lines. */
export function unresolvedSubscribers(triggers: readonly TriggerDecl[], serviceNames: readonly string[]): string[] {
  const known = new Set(serviceNames);
  const problems: string[] = [];
  const check = (trigger: string, what: string, d: Subscriber | undefined): void => {
    if (!d?.ref) return;
    if (d.ref.kind !== "Service") problems.push(`${trigger}: ${what}.ref kind ${d.ref.kind} is not supported embedded (use Service)`);
    else if (!known.has(d.ref.name)) problems.push(`${trigger}: ${what}.ref names unknown service ${d.ref.name}`);
  };
  for (const t of triggers) {
    check(t.name, "subscriber", t.subscriber);
    check(t.name, "delivery.deadLetterSink", (t.delivery ?? t.brokerDelivery)?.deadLetterSink);
  }
  return problems;
}
