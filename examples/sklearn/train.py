#!/usr/bin/env python3
"""Train a scikit-learn classifier on Iris and write Flywheel's artifact layout (docs/artifacts.md).

    FLYWHEEL_ARTIFACT_DIR=/tmp/out /usr/bin/python3 examples/sklearn/train.py

Params (spec `params`, strings): C, max_iter, test_size, seed. Rank 0 alone logs the run to the registry
(MLFLOW_TRACKING_URI); every other rank only trains, so a job launched with several ranks still logs once.
"""
import json
import os
import pickle
import platform
import sys
import time
import uuid

import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlflow_rest import log_run, params_from_env, write_baseline  # noqa: E402

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def mlmodel(labels):
    """An MLflow `MLmodel` for the sklearn flavor (plus python_function), with signature and class labels."""
    inputs = json.dumps([{"type": "double", "name": n, "required": True} for n in FEATURES])
    outputs = json.dumps([{"type": "long", "required": True}])
    py = platform.python_version()
    return "\n".join([
        "artifact_path: model",
        "flavors:",
        "  python_function:",
        "    env:",
        "      virtualenv: python_env.yaml",
        "    loader_module: mlflow.sklearn",
        "    model_path: model.pkl",
        "    predict_fn: predict",
        f"    python_version: {py}",
        "  sklearn:",
        "    code: null",
        "    pickled_model: model.pkl",
        "    serialization_format: pickle",
        f"    sklearn_version: {sklearn.__version__}",
        f"model_uuid: {uuid.uuid4().hex}",
        f"utc_time_created: '{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}'",
        "signature:",
        f"  inputs: {json.dumps(inputs)}",
        f"  outputs: {json.dumps(outputs)}",
        "metadata:",
        f"  labels: {json.dumps(labels)}",
        "",
    ])


def main():
    rank = int(os.environ.get("RANK", "0"))
    out = os.environ.get("FLYWHEEL_ARTIFACT_DIR", "./artifacts")
    p = params_from_env({"C": 1.0, "max_iter": 200, "test_size": 0.3, "seed": 42})
    data = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=p["test_size"], random_state=p["seed"], stratify=data.target)
    model = LogisticRegression(C=p["C"], max_iter=p["max_iter"])
    model.fit(x_train, y_train)
    metrics = {"accuracy": float(accuracy_score(y_test, model.predict(x_test))), "loss": float(log_loss(y_test, model.predict_proba(x_test)))}
    print(f"rank {rank}: accuracy={metrics['accuracy']:.4f} loss={metrics['loss']:.4f}", flush=True)
    if rank != 0:
        print(f"rank {rank}: not rank 0, writing nothing and not logging to the registry", flush=True)
        return
    labels = [str(n) for n in data.target_names]
    model_dir = os.path.join(out, "model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    with open(os.path.join(model_dir, "MLmodel"), "w") as f:
        f.write(mlmodel(labels))
    with open(os.path.join(model_dir, "requirements.txt"), "w") as f:
        f.write(f"scikit-learn=={sklearn.__version__}\n")
    with open(os.path.join(model_dir, "python_env.yaml"), "w") as f:
        f.write(f"python: {platform.python_version()}\nbuild_dependencies: [pip]\ndependencies: [-r requirements.txt]\n")
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    write_baseline(os.path.join(out, "baseline.json"), FEATURES, data.data.tolist(), [labels[i] for i in model.predict(data.data)])
    with open(os.path.join(out, "progress.jsonl"), "w") as f:
        f.write(json.dumps({"step": 1, "metric": "accuracy", "value": metrics["accuracy"], "time": int(time.time() * 1000)}) + "\n")
    run = log_run(out, p, metrics, {"flywheel.example": "sklearn"})
    print(f"rank 0: wrote {out}; registry run: {run[0] if run else 'none (MLFLOW_TRACKING_URI not set)'}", flush=True)


if __name__ == "__main__":
    main()
