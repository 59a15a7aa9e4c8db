"""Log a training run to an MLflow-compatible registry over plain REST (MLflow REST API 2.0), using only `requests`.

Only rank 0 may talk to the registry (docs/artifacts.md): call `log_run` from rank 0 alone. It reads
MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (bearer) and MLFLOW_EXPERIMENT_NAME, creates the experiment if needed, a
run with params, metrics and tags, and writes run.json so Flywheel's log-model reuses this run.
"""
import json
import os
import time

import requests


class RegistryError(Exception):
    pass


def _session():
    s = requests.Session()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def _call(s, base, method, endpoint, **params):
    url = f"{base}/api/2.0/mlflow/{endpoint}"
    resp = s.get(url, params=params, timeout=30) if method == "GET" else s.post(url, json=params, timeout=30)
    body = resp.json() if resp.content else {}
    if resp.status_code != 200:
        raise RegistryError(f"{endpoint}: HTTP {resp.status_code} {body.get('error_code', '')}")
    return body


def log_run(artifact_dir, params, metrics, tags=None):
    """Returns (run_id, experiment_id), or None when no registry is configured."""
    base = os.environ.get("MLFLOW_TRACKING_URI", "").rstrip("/")
    if not base.startswith("http"):
        return None
    s = _session()
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "Default")
    try:
        exp_id = _call(s, base, "GET", "experiments/get-by-name", experiment_name=name)["experiment"]["experiment_id"]
    except RegistryError as e:
        if "RESOURCE_DOES_NOT_EXIST" not in str(e):
            raise
        exp_id = _call(s, base, "POST", "experiments/create", name=name)["experiment_id"]
    now = int(time.time() * 1000)
    all_tags = {"flywheel.job_id": os.environ.get("FLYWHEEL_JOB_ID", ""), **(tags or {})}
    run = _call(s, base, "POST", "runs/create", experiment_id=exp_id, start_time=now,
                tags=[{"key": k, "value": str(v)} for k, v in all_tags.items()])["run"]["info"]
    run_id = run["run_id"]
    _call(s, base, "POST", "runs/log-batch", run_id=run_id,
          params=[{"key": k, "value": str(v)} for k, v in params.items()],
          metrics=[{"key": k, "value": float(v), "timestamp": now, "step": 0} for k, v in metrics.items()])
    _call(s, base, "POST", "runs/update", run_id=run_id, status="FINISHED", end_time=int(time.time() * 1000))
    with open(os.path.join(artifact_dir, "run.json"), "w") as f:
        json.dump({"run_id": run_id, "experiment_id": exp_id}, f)
    return run_id, exp_id


def params_from_env(defaults):
    """The spec's params (FLYWHEEL_PARAMS, a JSON object of strings) over the defaults, converted to the defaults' types."""
    given = json.loads(os.environ.get("FLYWHEEL_PARAMS", "{}") or "{}")
    out = dict(defaults)
    for k, v in given.items():
        out[k] = type(defaults[k])(v) if k in defaults and not isinstance(defaults[k], str) else v
    return out


def write_baseline(path, columns, rows, predictions, bins=10):
    """baseline.json (docs/artifacts.md, version 1): per-feature histograms and prediction frequencies."""
    features = {}
    for i, name in enumerate(columns):
        values = [float(r[i]) for r in rows]
        lo, hi = min(values), max(values)
        width = (hi - lo) / bins or 1.0
        edges = [lo + width * b for b in range(bins + 1)]
        counts = [0] * bins
        for v in values:
            counts[min(int((v - lo) / width), bins - 1)] += 1
        features[name] = {"type": "numeric", "edges": [round(e, 6) for e in edges], "counts": counts}
    freq = {}
    for p in predictions:
        freq[str(p)] = freq.get(str(p), 0) + 1
    total = len(predictions) or 1
    baseline = {"version": 1, "features": features, "rows": len(rows),
                "predictions": {"type": "categorical", "frequencies": {k: v / total for k, v in freq.items()}}}
    with open(path, "w") as f:
        json.dump(baseline, f)
