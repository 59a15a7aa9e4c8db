// The environment each local training process gets (docs/artifacts.md), plus torchrun's and the operator's DDP variables.
import type { TrainingSpec } from "../../specs/training.ts";

export interface RegistryEnv {
  readonly trackingUri: string | undefined;
  /** A static credential (an external MLflow's); the embedded registry gives each job its own token instead. */
  readonly token: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly caBundlePath?: string | undefined;
}

/** Issues each job its own registry credential (the embedded registry's job tokens), revoked when the job ends. */
export interface JobCredentials {
  issue(jobId: string, lifetimeMs: number): string;
  revoke(jobId: string): void;
}

/** `FLYWHEEL_PARAM_<NAME>`: upper-cased, non-alphanumerics as `_`. */
export const paramEnvName = (name: string): string => `FLYWHEEL_PARAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

/** Variables common to every process of a job (spec env wins over nothing platform-owned: those are set last). */
export function jobEnv(jobId: string, spec: TrainingSpec, artifactDir: string, registry: RegistryEnv): Record<string, string> {
  const env: Record<string, string> = { ...spec.env };
  env.FLYWHEEL_JOB_ID = jobId;
  env.FLYWHEEL_ARTIFACT_DIR = artifactDir;
  env.FLYWHEEL_PARAMS = JSON.stringify(spec.params);
  for (const [k, v] of Object.entries(spec.params)) env[paramEnvName(k)] = v;
  if (registry.trackingUri) env.MLFLOW_TRACKING_URI = registry.trackingUri;
  if (registry.token) env.MLFLOW_TRACKING_TOKEN = registry.token;
  if (registry.username) env.MLFLOW_TRACKING_USERNAME = registry.username;
  if (registry.password) env.MLFLOW_TRACKING_PASSWORD = registry.password;
  if (registry.caBundlePath) env.MLFLOW_TRACKING_SERVER_CERT_PATH = registry.caBundlePath;
  env.MLFLOW_EXPERIMENT_NAME = spec.experiment ?? spec.model;
  // Python buffers stdout when it is a file; unbuffered output makes `logs --follow` live.
  env.PYTHONUNBUFFERED = "1";
  return env;
}

export interface RankPlacement {
  readonly rank: number;
  readonly localRank: number;
  readonly groupRank: number;
  readonly worldSize: number;
  readonly localWorldSize: number;
  readonly nnodes: number;
}

/** replicas x procsPerReplica ranks, node-major (rank = node * procsPerReplica + localRank), as torchrun assigns them. */
export function placements(replicas: number, procsPerReplica: number): RankPlacement[] {
  const world = replicas * procsPerReplica;
  const out: RankPlacement[] = [];
  for (let node = 0; node < replicas; node++) {
    for (let local = 0; local < procsPerReplica; local++) {
      out.push({ rank: node * procsPerReplica + local, localRank: local, groupRank: node, worldSize: world, localWorldSize: procsPerReplica, nnodes: replicas });
    }
  }
  return out;
}

/** What torchrun gives each worker, and the PET_* variables the Kubeflow operator gives each node's launcher. */
export function ddpEnv(p: RankPlacement, jobId: string, masterPort: number): Record<string, string> {
  const s = (n: number): string => String(n);
  return {
    RANK: s(p.rank),
    LOCAL_RANK: s(p.localRank),
    WORLD_SIZE: s(p.worldSize),
    LOCAL_WORLD_SIZE: s(p.localWorldSize),
    GROUP_RANK: s(p.groupRank),
    ROLE_RANK: s(p.rank),
    ROLE_WORLD_SIZE: s(p.worldSize),
    ROLE_NAME: "default",
    NODE_RANK: s(p.groupRank),
    MASTER_ADDR: "127.0.0.1",
    MASTER_PORT: s(masterPort),
    TORCHELASTIC_RUN_ID: jobId,
    TORCHELASTIC_RESTART_COUNT: "0",
    TORCHELASTIC_MAX_RESTARTS: "0",
    PET_NNODES: s(p.nnodes),
    PET_NPROC_PER_NODE: s(p.localWorldSize),
    PET_NODE_RANK: s(p.groupRank),
    PET_MASTER_ADDR: "127.0.0.1",
    PET_MASTER_PORT: s(masterPort),
    // torchrun's default when several workers share a host: one thread each, so ranks do not oversubscribe the CPU.
    OMP_NUM_THREADS: "1",
  };
}
