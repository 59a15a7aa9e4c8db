// Embedded mode's model registry: the in-process MLflow-compatible server, or a stub in front of an external MLflow.
import path from "node:path";
import type { Auth } from "../auth/index.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log.ts";
import { MlflowClient, MlflowModelRegistry } from "../mlflow/index.ts";
import { createRegistryServer, type RegistryServer } from "../registry/index.ts";
import { externalRegistryStub } from "../registry/external.ts";

export interface EmbeddedRegistry {
  readonly server: RegistryServer;
  readonly mlflow: MlflowClient;
  readonly registry: MlflowModelRegistry;
  /** The external MLflow's URL, or undefined when the registry is in this process. */
  readonly external: string | undefined;
}

export function createEmbeddedRegistry(o: { config: Config; auth: Auth; selfUrl: string; log: Logger; inProcessFetch: typeof fetch }): EmbeddedRegistry {
  const { config, auth, selfUrl } = o;
  const external = config.registry.trackingUri;
  // With an external MLflow the embedded store is not opened: serving an empty registry there would mislead clients.
  const server = external
    ? externalRegistryStub(external)
    : createRegistryServer({
        dataDir: path.join(config.dataDir, "registry"),
        log: o.log.child({ component: "registry" }),
        publicUrl: config.publicUrl,
        extraArtifactRoots: config.registry.artifactRoots,
      });
  const mlflow = new MlflowClient({
    trackingUri: external ?? selfUrl,
    token: external ? config.registry.token : auth.token,
    username: external ? config.registry.username : undefined,
    password: external ? config.registry.password : undefined,
    caBundlePath: external ? config.registry.caBundlePath : undefined,
    fetch: external ? undefined : o.inProcessFetch,
  });
  // Local (file:) model sources are copied only from the roots the registry itself confines locations to.
  const registry = new MlflowModelRegistry(mlflow, external ? config.registry.artifactRoots : server.localArtifactRoots);
  return { server, mlflow, registry, external };
}
