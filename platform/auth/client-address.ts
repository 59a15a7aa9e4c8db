// Who is on the other end of a request: the socket's address, or the client a configured proxy says it forwarded.
// X-Forwarded-For from anyone else is ignored, so a client cannot pick its own throttling bucket (issue 17).
import type { BlockList } from "node:net";
import { isIP } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { isTrusted, normaliseAddress } from "./proxies.ts";

/** The TCP peer, or undefined for an in-process request (app.request in tests, the process calling itself). */
export function socketAddress(c: Context): string | undefined {
  try {
    const a = getConnInfo(c).remote.address;
    return a ? normaliseAddress(a) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The client's address. Forwarding headers count only when the peer is a trusted proxy: then the right-most
 * X-Forwarded-For hop that is not itself a trusted proxy is the client (hops to its left are the client's own claims).
 */
export function clientAddress(c: Context, trusted: BlockList | undefined): string {
  const peer = socketAddress(c);
  if (!peer) return "in-process";
  if (!trusted || !isTrusted(trusted, peer)) return peer;
  const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map((h) => normaliseAddress(h.trim())).filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? "";
    if (!isIP(hop)) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}
