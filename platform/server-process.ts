// A long-running outside server as a child process (argv, no shell): started, polled until ready, stopped politely.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

export interface ServerProcess {
  readonly url: string;
  /** The tail of its stdout and stderr, for error messages. */
  readonly output: () => string;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** The executable (a name on PATH or an absolute path) and its arguments. */
  readonly cmd: string;
  readonly args: readonly string[];
  /** Its base URL, and the path that answers 2xx once it serves. */
  readonly url: string;
  readonly readyPath: string;
  readonly timeoutMs?: number;
  /** Between SIGTERM and SIGKILL. */
  readonly graceMs?: number;
}

const OUTPUT_TAIL = 20_000;

/** A free TCP port on 127.0.0.1 (released before it is returned: the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = addr && typeof addr === "object" ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs` if it has not exited (a server may hang flushing). Resolves on exit. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Spawn and wait until `url + readyPath` answers 2xx; on exit or timeout, stop it and throw with its output's tail. */
export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const child: ChildProcess = spawn(o.cmd, [...o.args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-OUTPUT_TAIL));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  // A spawn failure (not installed, not executable) is an 'error' event: unheard, it would crash the caller.
  let failed: Error | undefined;
  child.once("error", (e) => (failed = e));
  const stop = (): Promise<void> => stopChild(child, o.graceMs);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failed) throw new Error(`${o.cmd} did not start: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`${o.cmd} exited ${child.exitCode}: ${out.slice(-2000)}`);
    const ok = await fetch(`${o.url}${o.readyPath}`).then((r) => r.ok, () => false);
    if (ok) return { url: o.url, output: () => out, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.cmd} not ready after ${timeoutMs / 1000} s: ${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
