// The build's warm-up only: a stand-in PostgreSQL (wire protocol v3, no TLS, no password) holding an empty database
// whose schema is current, so a function's start (one read of flywheel_schema) and first request run the code a real
// cold start runs, with no database on the build machine. Every statement succeeds with no rows, except that read.
import net from "node:net";
import { MIGRATIONS } from "../state/migrations.ts";

const INT4_OID = 23;
const PROTOCOL_V3 = 196_608;

/** One backend message: a type byte, then its length (itself included) and body. */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstring = (s: string): Buffer => Buffer.from(`${s}\0`, "utf8");
const int16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

const ready = (): Buffer => message("Z", Buffer.from("I"));
const complete = (tag: string): Buffer => message("C", cstring(tag));
/** RowDescription: one text-format int4 column. */
const intColumn = (name: string): Buffer => message("T", int16(1), cstring(name), int32(0), int16(0), int32(INT4_OID), int16(4), int32(-1), int16(0));
const intRow = (v: number): Buffer => {
  const text = Buffer.from(String(v));
  return message("D", int16(1), int32(text.length), text);
};

/** The answer to one statement: the applied versions for the schema read, else no rows. */
function result(text: string, describe: boolean): Buffer[] {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "SELECT";
  if (/^\s*select\s+"?version"?\s+from\s+"?flywheel_schema"?\s*$/i.test(text)) {
    return [...(describe ? [intColumn("version")] : []), ...MIGRATIONS.map((m) => intRow(m.version)), complete(`SELECT ${MIGRATIONS.length}`)];
  }
  // No RowDescription ("no data"): pg then reads the result as zero rows of no columns.
  const tag = verb === "INSERT" ? "INSERT 0 0" : ["SELECT", "UPDATE", "DELETE"].includes(verb) ? `${verb} 0` : verb;
  return [...(describe ? [message("n")] : []), complete(tag)];
}

function serve(socket: net.Socket): void {
  let buf = Buffer.alloc(0);
  let started = false;
  let statement = "";
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (!started) {
        if (buf.length < 8) break;
        const len = buf.readInt32BE(0);
        if (buf.length < len) break;
        const code = buf.readInt32BE(4);
        buf = buf.subarray(len);
        // SSLRequest / GSSENCRequest: "N" (not supported), the client goes on in plain text.
        if (code !== PROTOCOL_V3) {
          out.push(Buffer.from("N"));
          continue;
        }
        started = true;
        out.push(message("R", int32(0)), message("S", cstring("server_version"), cstring("16.0")), message("S", cstring("client_encoding"), cstring("UTF8")), ready());
        continue;
      }
      if (buf.length < 5) break;
      const len = buf.readInt32BE(1);
      if (buf.length < len + 1) break;
      const type = String.fromCharCode(buf[0] ?? 0);
      const body = buf.subarray(5, len + 1);
      buf = buf.subarray(len + 1);
      const text = body.subarray(0, Math.max(0, body.indexOf(0))).toString("utf8");
      if (type === "Q") out.push(...result(text, true), ready());
      else if (type === "P") {
        // Parse: name, then the statement's text.
        statement = body.subarray(text.length + 1, body.indexOf(0, text.length + 1)).toString("utf8");
        out.push(message("1"));
      } else if (type === "B") out.push(message("2"));
      else if (type === "D") out.push(...result(statement, true).slice(0, 1).filter((m) => m[0] === 0x54 || m[0] === 0x6e));
      else if (type === "E") out.push(...result(statement, false));
      else if (type === "C") out.push(message("3"));
      else if (type === "S") out.push(ready());
      else if (type === "X") socket.end();
    }
    if (out.length) socket.write(Buffer.concat(out));
  });
}

export interface WarmUpPostgres {
  readonly url: string;
  close(): Promise<void>;
}

export async function startWarmUpPostgres(): Promise<WarmUpPostgres> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    serve(s);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `postgres://warm-up@127.0.0.1:${port}/warm-up`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
