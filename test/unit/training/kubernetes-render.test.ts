// The exact object each training kind becomes, validated against the official CRDs (Job, a core kind, by hand).
import { describe, expect, it } from "vitest";
import { renderTrainingObject, RenderError, type RenderOptions, type RenderRequest } from "../../../platform/training/kubernetes/render.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import { crdErrors } from "../../support/crds.ts";

const opts: RenderOptions = {
  namespace: "ml",
  ddpOperator: "pytorchjob",
  artifactPvc: "flywheel-artifacts",
  trackingUri: "http://mlflow.ml:5000",
  registryTokenSecret: "mlflow-token",
  sparkVersion: "3.5.3",
  sparkServiceAccount: "spark",
  sparkArchive: "s3a://bucket/env.tar.gz",
  ttlSecondsAfterFinished: 3600,
};

const req = (spec: TrainingSpecInput, jobId = "iris-abc12345"): RenderRequest => ({
  jobId,
  spec: TrainingSpecSchema.parse(spec),
  trigger: { reason: "drift", eventId: "ev-1" },
  causeEventId: "ev-1",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
});

const labels = { "app.kubernetes.io/managed-by": "flywheel", "flywheel.dev/job-id": "iris-abc12345", "flywheel.dev/model": "iris", "flywheel.dev/trigger": "drift" };

function env(spec: TrainingSpecInput, withSecret = true) {
  const s = TrainingSpecSchema.parse(spec);
  return [
    { name: "FLYWHEEL_JOB_ID", value: "iris-abc12345" },
    { name: "FLYWHEEL_ARTIFACT_DIR", value: "/artifacts/iris-abc12345" },
    { name: "FLYWHEEL_PARAMS", value: JSON.stringify(s.params) },
    ...Object.entries(s.params).map(([k, v]) => ({ name: `FLYWHEEL_PARAM_${k.toUpperCase()}`, value: v })),
    { name: "MLFLOW_TRACKING_URI", value: "http://mlflow.ml:5000" },
    { name: "MLFLOW_EXPERIMENT_NAME", value: s.experiment ?? s.model },
    { name: "PYTHONUNBUFFERED", value: "1" },
    ...(withSecret ? [{ name: "MLFLOW_TRACKING_TOKEN", valueFrom: { secretKeyRef: { name: "mlflow-token", key: "token", optional: true } } }] : []),
  ];
}

const single = { model: "iris", image: "ghcr.io/acme/iris:1", command: ["python3", "train.py"], args: ["--epochs", "3"], params: { lr: "0.1" }, resources: { cpu: "2", memory: "4Gi", gpu: 1 }, timeoutSeconds: 600 };

describe("renderTrainingObject", () => {
  it("single -> batch/v1 Job (checked by hand: core kinds have no CRD)", () => {
    const job = renderTrainingObject(req(single), opts);
    expect(job).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "iris-abc12345",
        namespace: "ml",
        labels,
        annotations: {
          "flywheel.dev/spec": JSON.stringify(TrainingSpecSchema.parse(single)),
          "flywheel.dev/trigger": JSON.stringify({ reason: "drift", eventId: "ev-1" }),
          "flywheel.dev/cause-event-id": "ev-1",
          "flywheel.dev/artifact-uri": "pvc://flywheel-artifacts/iris-abc12345",
          "flywheel.dev/traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
      },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 600,
        ttlSecondsAfterFinished: 3600,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            containers: [
              {
                name: "trainer",
                image: "ghcr.io/acme/iris:1",
                command: ["python3", "train.py"],
                args: ["--epochs", "3"],
                env: env(single),
                resources: { requests: { cpu: "2", memory: "4Gi" }, limits: { cpu: "2", memory: "4Gi", "nvidia.com/gpu": "1" } },
                volumeMounts: [{ name: "artifacts", mountPath: "/artifacts" }],
              },
            ],
            volumes: [{ name: "artifacts", persistentVolumeClaim: { claimName: "flywheel-artifacts" } }],
          },
        },
      },
    });
    // Label values and names follow the API's syntax rules.
    for (const v of Object.values(labels)) expect(v).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  });

  it("ddp -> kubeflow.org/v1 PyTorchJob with Master + Worker, container pytorch, torchrun for several procs", () => {
    const spec = { ...single, kind: "ddp" as const, replicas: 3, procsPerReplica: 2, resources: undefined };
    const pj = renderTrainingObject(req(spec), opts);
    expect(crdErrors(pj)).toEqual([]);
    const replica = (replicas: number) => ({
      replicas,
      restartPolicy: "Never",
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          containers: [{ name: "pytorch", image: "ghcr.io/acme/iris:1", command: ["torchrun", "--no-python", "python3", "train.py"], args: ["--epochs", "3"], env: env(spec), volumeMounts: [{ name: "artifacts", mountPath: "/artifacts" }] }],
          volumes: [{ name: "artifacts", persistentVolumeClaim: { claimName: "flywheel-artifacts" } }],
        },
      },
    });
    expect(pj.spec).toEqual({
      nprocPerNode: "2",
      runPolicy: { cleanPodPolicy: "None", backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600 },
      pytorchReplicaSpecs: { Master: replica(1), Worker: replica(2) },
    });
    const one = renderTrainingObject(req({ ...spec, replicas: 1, procsPerReplica: 1 }), opts);
    expect(Object.keys((one.spec as { pytorchReplicaSpecs: object }).pytorchReplicaSpecs)).toEqual(["Master"]);
    expect(crdErrors(one)).toEqual([]);
  });

  it("ddp with ddpOperator trainjob -> trainer.kubeflow.org/v1alpha1 TrainJob on torch-distributed", () => {
    const spec = { ...single, kind: "ddp" as const, replicas: 2, procsPerReplica: 4 };
    const tj = renderTrainingObject(req(spec), { ...opts, ddpOperator: "trainjob" });
    expect(crdErrors(tj)).toEqual([]);
    expect(tj.apiVersion).toBe("trainer.kubeflow.org/v1alpha1");
    expect(tj.spec).toEqual({
      runtimeRef: { apiGroup: "trainer.kubeflow.org", kind: "ClusterTrainingRuntime", name: "torch-distributed" },
      activeDeadlineSeconds: 600,
      trainer: {
        image: "ghcr.io/acme/iris:1",
        command: ["torchrun", "--no-python", "python3", "train.py"],
        args: ["--epochs", "3"],
        env: env(spec, false),
        numNodes: 2,
        numProcPerNode: 4,
        resourcesPerNode: { requests: { cpu: "2", memory: "4Gi" }, limits: { cpu: "2", memory: "4Gi", "nvidia.com/gpu": "1" } },
      },
    });
  });

  it("spark -> SparkApplication, cluster mode, Python, packed venv through deps.archives", () => {
    const spec = { kind: "spark" as const, model: "iris", image: "ghcr.io/acme/spark:3.5", command: ["python3", "/app/train.py"], args: ["--rows", "1000"], executors: 4, resources: { memory: "2Gi" } };
    const app = renderTrainingObject(req(spec), opts);
    expect(crdErrors(app)).toEqual([]);
    const python = "./environment/bin/python";
    const envs = [...env(spec, false), { name: "PYSPARK_PYTHON", value: python }];
    expect(app.spec).toEqual({
      type: "Python",
      pythonVersion: "3",
      mode: "cluster",
      image: "ghcr.io/acme/spark:3.5",
      sparkVersion: "3.5.3",
      mainApplicationFile: "local:///app/train.py",
      arguments: ["--rows", "1000"],
      deps: { archives: ["s3a://bucket/env.tar.gz#environment"] },
      sparkConf: { "spark.pyspark.python": python, "spark.kubernetes.driverEnv.PYSPARK_PYTHON": python, "spark.executorEnv.PYSPARK_PYTHON": python },
      restartPolicy: { type: "Never" },
      timeToLiveSeconds: 3600,
      volumes: [{ name: "artifacts", persistentVolumeClaim: { claimName: "flywheel-artifacts" } }],
      driver: { cores: 1, memory: "2g", serviceAccount: "spark", labels, env: envs, volumeMounts: [{ name: "artifacts", mountPath: "/artifacts" }] },
      executor: { instances: 4, cores: 1, memory: "2g", labels, env: envs, volumeMounts: [{ name: "artifacts", mountPath: "/artifacts" }] },
    });
  });

  it("refuses a spec without an image, naming the field", () => {
    expect(() => renderTrainingObject(req({ model: "iris", command: ["x"] }), opts)).toThrow(RenderError);
    expect(() => renderTrainingObject(req({ model: "iris", command: ["x"] }), opts)).toThrow(/^image:/);
  });
});
