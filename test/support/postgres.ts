// A real PostgreSQL for tests: Debian's postgresql 15 in a temp dir, on a private unix socket, one fresh DB per test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

const BIN = "/usr/lib/postgresql/15/bin";
// Any port works: the socket lives in our own temp dir (no TCP listener), so parallel clusters never collide.
const PORT = 5432;

export interface TestPostgres {
  /** A new, empty database on this cluster; its DSN. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stop the server (fast shutdown: clients are disconnected), stay down `downMs`, start it again on the same data. */
  restart(downMs?: number): Promise<void>;
  /** Stop the server but keep its data (clients see it down) until `resume`, which starts the same cluster again. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL refuses to run as root (CI runs as root): drop to the `postgres` user with setpriv, which execs in place. */
function asPostgres(cmd: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, [...args]];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", cmd, ...args]];
}

function postgresUid(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export async function startPostgres(): Promise<TestPostgres> {
  if (!fs.existsSync(path.join(BIN, "postgres")) || !fs.existsSync(path.join(BIN, "initdb"))) {
    throw new Error(`PostgreSQL 15 not found in ${BIN}: install the Debian package \`postgresql\``);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-pg-"));
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUid();
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, "data");
  const [initCmd, initArgs] = asPostgres(path.join(BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  execFileSync(initCmd, initArgs, { stdio: ["ignore", "ignore", "pipe"] });
  const adminUrl = `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${PORT}`;
  let child = await launch(data, dir, adminUrl);
  const shutdown = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT"); // fast shutdown: disconnect clients, no checkpoint wait
    await exited;
  };
  return {
    async createDatabase(prefix = "t") {
      const name = `${prefix}_${crypto.randomBytes(6).toString("hex")}`;
      // A client per call, closed before returning: no idle admin connection is left for the shutdown to kill.
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `postgresql://postgres@/${name}?host=${encodeURIComponent(dir)}&port=${PORT}`;
    },
    async restart(downMs = 0) {
      await shutdown();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child = await launch(data, dir, adminUrl);
    },
    pause: shutdown,
    async resume() {
      child = await launch(data, dir, adminUrl);
    },
    async stop() {
      await shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start `postgres` on an initialised data dir and wait until it accepts connections. */
async function launch(data: string, dir: string, adminUrl: string): Promise<ChildProcess> {
  const [cmd, args] = asPostgres(path.join(BIN, "postgres"), [
    "-D", data, "-k", dir, "-p", String(PORT),
    "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    "-c", "max_connections=200", "-c", "shared_buffers=16MB",
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${stderr}`);
    const c = new pg.Client({ connectionString: adminUrl });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections in 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return child;
}
