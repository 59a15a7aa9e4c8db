// Knative mode's StateStore: an operator-managed PostgreSQL (CloudNativePG Cluster), its backups, its NetworkPolicy.
import type { FunctionTarget } from "../knative/targets.ts";
import { FUNCTION_POD_LABEL, RETAIN_LABEL } from "./functions.ts";
import { meta, type K8sObject } from "./object.ts";
import { NAMESPACE } from "./settings.ts";

/**
 * CloudNativePG creates `<cluster>-app` with the application user's DSN under `uri`. With an external database, create
 * a Secret of that name with the key `uri` yourself (ansible: flywheel_database_url) and leave the cnpg component out.
 */
export const DATABASE = {
  cluster: "flywheel-db",
  database: "flywheel",
  secret: { name: "flywheel-db-app", key: "uri" },
  /** Object-store credentials for base backups and WAL archiving (ansible creates it from its vars). */
  backupSecret: "flywheel-db-backup",
  operatorNamespace: "cnpg-system",
} as const;

/** The functions that read or write the StateStore; only they get the DSN, and only they may reach the database. */
export const STATE_TARGETS: ReadonlySet<FunctionTarget> = new Set(["logModel", "deployModel", "retrainOnDrift", "deadLetter", "eventLog", "ui"]);

export function databaseEnv(target: FunctionTarget): unknown[] {
  if (!STATE_TARGETS.has(target)) return [];
  return [{ name: "FLYWHEEL_DATABASE_URL", valueFrom: { secretKeyRef: { name: DATABASE.secret.name, key: DATABASE.secret.key } } }];
}

export function cnpgCluster(): K8sObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    // Kept by undeploy unless asked (flywheel.dev/retain=data): deleting the Cluster deletes its volumes.
    metadata: meta(DATABASE.cluster, NAMESPACE, "database", { labels: { [RETAIN_LABEL]: "data" } }),
    spec: {
      instances: 2,
      primaryUpdateStrategy: "unsupervised",
      storage: { size: "5Gi" },
      bootstrap: { initdb: { database: DATABASE.database, owner: DATABASE.database } },
      backup: {
        retentionPolicy: "30d",
        barmanObjectStore: {
          destinationPath: "s3://flywheel-backups/flywheel-db",
          s3Credentials: {
            accessKeyId: { name: DATABASE.backupSecret, key: "ACCESS_KEY_ID" },
            secretAccessKey: { name: DATABASE.backupSecret, key: "ACCESS_SECRET_KEY" },
          },
          wal: { compression: "gzip" },
        },
      },
    },
  };
}

export function scheduledBackup(): K8sObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "ScheduledBackup",
    metadata: meta(`${DATABASE.cluster}-daily`, NAMESPACE, "database", { labels: { [RETAIN_LABEL]: "data" } }),
    // CloudNativePG schedules have a seconds field: every day at 02:00:00.
    spec: { schedule: "0 0 2 * * *", cluster: { name: DATABASE.cluster }, backupOwnerReference: "self", method: "barmanObjectStore", immediate: true },
  };
}

/** Only Flywheel's StateStore functions reach PostgreSQL; the instances replicate and the operator checks them. */
export function databaseNetworkPolicy(services: (t: FunctionTarget) => string): K8sObject {
  // A function, not a shared object: YAML would write a repeated object as an anchor and alias.
  const cluster = () => ({ matchLabels: { "cnpg.io/cluster": DATABASE.cluster } });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta("allow-database", NAMESPACE, "network"),
    spec: {
      podSelector: cluster(),
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ podSelector: { matchExpressions: [{ key: FUNCTION_POD_LABEL, operator: "In", values: [...STATE_TARGETS].map(services).sort() }] } }],
          ports: [{ protocol: "TCP", port: 5432 }],
        },
        { from: [{ podSelector: cluster() }], ports: [{ protocol: "TCP", port: 5432 }, { protocol: "TCP", port: 8000 }] },
        { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": DATABASE.operatorNamespace } } }], ports: [{ protocol: "TCP", port: 8000 }] },
      ],
    },
  };
}
