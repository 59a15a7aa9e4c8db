// Request body size limit without hono's bodyLimit middleware (which re-streams every body and costs milliseconds
// per request): reject on Content-Length first, then on the bytes actually read.
import type { Context } from "hono";
import { PayloadTooLargeError } from "../../errors.ts";

const utf8 = new TextDecoder();

export async function readLimited(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw new PayloadTooLargeError(`request body larger than ${maxBytes} bytes`);
  const buf = await c.req.arrayBuffer();
  if (buf.byteLength > maxBytes) throw new PayloadTooLargeError(`request body larger than ${maxBytes} bytes`);
  return utf8.decode(buf);
}
