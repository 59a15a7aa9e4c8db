#!/usr/bin/env python3
"""PySpark ML: logistic regression on a generated 3-class dataset, written in Flywheel's artifact layout.

Runs under `spark-submit` (locally: Flywheel's `kind: spark` runs `spark-submit --master local[N]`; on Kubernetes the
Spark Operator runs it in cluster mode with the packed venv from deps.archives). The driver is the only process that
writes artifacts or talks to the registry: executors just run tasks. Params: rows, max_iter, reg, seed.
"""
import json
import os
import sys
import time
import uuid

from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlflow_rest import log_run, params_from_env, write_baseline  # noqa: E402

FEATURES = ["f0", "f1", "f2", "f3"]


def main():
    p = params_from_env({"rows": 3000, "max_iter": 50, "reg": 0.01, "seed": 7})
    out = os.environ.get("FLYWHEEL_ARTIFACT_DIR", "./artifacts")
    spark = SparkSession.builder.appName(os.environ.get("FLYWHEEL_JOB_ID", "flywheel-pyspark")).getOrCreate()
    # Three blobs: label decides the centre, randn adds noise; generated on the executors.
    df = spark.range(p["rows"]).withColumn("label", (F.col("id") % 3).cast("double"))
    for i, name in enumerate(FEATURES):
        centre = F.when(F.col("label") == 0, 0.0).when(F.col("label") == 1, 3.0 if i < 2 else 0.0).otherwise(0.0 if i == 0 else 3.0)
        df = df.withColumn(name, centre + F.randn(p["seed"] + i))
    data = VectorAssembler(inputCols=FEATURES, outputCol="features").transform(df)
    train, test = data.randomSplit([0.8, 0.2], seed=p["seed"])
    model = LogisticRegression(maxIter=p["max_iter"], regParam=p["reg"]).fit(train)
    predictions = model.transform(test)
    accuracy = MulticlassClassificationEvaluator(metricName="accuracy").evaluate(predictions)
    metrics = {"accuracy": float(accuracy), "loss": float(model.summary.objectiveHistory[-1])}
    print(f"driver: accuracy={accuracy:.4f}", flush=True)

    model_dir = os.path.join(out, "model")
    os.makedirs(model_dir, exist_ok=True)
    model.write().overwrite().save(os.path.join(model_dir, "sparkml"))
    inputs = json.dumps([{"type": "double", "name": n, "required": True} for n in FEATURES])
    with open(os.path.join(model_dir, "MLmodel"), "w") as f:
        f.write("\n".join([
            "artifact_path: model", "flavors:",
            "  spark:", "    model_data: sparkml", f"    pyspark_version: {spark.version}",
            "  python_function:", "    loader_module: mlflow.spark", "    data: sparkml",
            f"model_uuid: {uuid.uuid4().hex}", f"utc_time_created: '{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}'",
            "signature:", f"  inputs: {json.dumps(inputs)}", f"  outputs: {json.dumps(json.dumps([{'type': 'double', 'required': True}]))}",
            "metadata:", '  labels: ["0", "1", "2"]', ""]))
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    sample = predictions.select(*FEATURES, "prediction").limit(2000).collect()
    write_baseline(os.path.join(out, "baseline.json"), FEATURES, [[r[n] for n in FEATURES] for r in sample], [str(int(r["prediction"])) for r in sample])
    run = log_run(out, p, metrics, {"flywheel.example": "pyspark"})
    print(f"driver: wrote {out}; registry run: {run[0] if run else 'none'}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
