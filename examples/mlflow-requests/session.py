#!/usr/bin/env python3
"""An ordinary MLflow session over plain REST, using only `requests`.

It makes the same calls MLflow's Python client makes: create an experiment and a run, log params, metrics and a batch,
upload an artifact through the mlflow-artifacts proxy, register a model, create a version, set an alias and resolve the
download URI. Point it at Flywheel's embedded registry (or any MLflow server):

    MLFLOW_TRACKING_URI=http://localhost:8080 MLFLOW_TRACKING_TOKEN=... /usr/bin/python3 session.py

The last line printed is a JSON summary.
"""
import json
import os
import sys
import time
import uuid

import requests

URI = os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000").rstrip("/")
API = f"{URI}/api/2.0"
SESSION = requests.Session()
if os.environ.get("MLFLOW_TRACKING_TOKEN"):
    SESSION.headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
elif os.environ.get("MLFLOW_TRACKING_USERNAME"):
    SESSION.auth = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))


class MlflowError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.error_code = body.get("error_code", "") if isinstance(body, dict) else ""
        super().__init__(f"HTTP {status} {self.error_code}: {body.get('message', '') if isinstance(body, dict) else body}")


def call(method, endpoint, **params):
    """GET sends query parameters; POST/PATCH/DELETE send a JSON body, as MLflow's client does."""
    url = f"{API}/{endpoint}"
    if method == "GET":
        resp = SESSION.get(url, params=params, timeout=30)
    else:
        resp = SESSION.request(method, url, json=params, timeout=30)
    body = resp.json() if resp.content else {}
    if resp.status_code != 200:
        raise MlflowError(resp.status_code, body)
    return body


def now_ms():
    return int(time.time() * 1000)


def main():
    suffix = uuid.uuid4().hex[:8]
    exp_name = os.environ.get("MLFLOW_EXPERIMENT_NAME", f"requests-session-{suffix}")
    model_name = os.environ.get("MODEL_NAME", f"requests-model-{suffix}")

    # Experiment: get by name, create when missing (RESOURCE_DOES_NOT_EXIST is 404).
    try:
        exp_id = call("GET", "mlflow/experiments/get-by-name", experiment_name=exp_name)["experiment"]["experiment_id"]
    except MlflowError as e:
        if e.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        exp_id = call("POST", "mlflow/experiments/create", name=exp_name, tags=[])["experiment_id"]

    # Run.
    run = call("POST", "mlflow/runs/create", experiment_id=exp_id, start_time=now_ms(), run_name="requests-run",
               tags=[{"key": "mlflow.user", "value": "requests"}, {"key": "mlflow.source.type", "value": "LOCAL"}])["run"]
    run_id = run["info"]["run_id"]
    artifact_uri = run["info"]["artifact_uri"]

    # Params, metrics, tags, batch (note: log-parameter, not log-param).
    call("POST", "mlflow/runs/log-parameter", run_id=run_id, run_uuid=run_id, key="alpha", value="0.5")
    for step, rmse in enumerate([0.9, 0.7, 0.55]):
        call("POST", "mlflow/runs/log-metric", run_id=run_id, run_uuid=run_id, key="rmse", value=rmse, timestamp=now_ms(), step=step)
    call("POST", "mlflow/runs/set-tag", run_id=run_id, run_uuid=run_id, key="stage", value="dev")
    call("POST", "mlflow/runs/log-batch", run_id=run_id,
         metrics=[{"key": "mae", "value": 0.4, "timestamp": now_ms(), "step": 0}],
         params=[{"key": "l1_ratio", "value": "0.1"}], tags=[{"key": "team", "value": "ml"}])
    # Params are immutable: a different value for a logged key is INVALID_PARAMETER_VALUE (HTTP 400).
    try:
        call("POST", "mlflow/runs/log-parameter", run_id=run_id, run_uuid=run_id, key="alpha", value="0.9")
        raise SystemExit("expected INVALID_PARAMETER_VALUE when changing a param")
    except MlflowError as e:
        assert e.status == 400 and e.error_code == "INVALID_PARAMETER_VALUE", e

    # Artifact upload through the proxy: mlflow-artifacts:/<path> -> PUT /api/2.0/mlflow-artifacts/artifacts/<path>.
    if not artifact_uri.startswith("mlflow-artifacts:"):
        raise SystemExit(f"this example uploads through the artifacts proxy; the run's artifact_uri is {artifact_uri}")
    proxy_path = artifact_uri[len("mlflow-artifacts:"):].lstrip("/")
    mlmodel = "artifact_path: model\nflavors:\n  python_function: {loader_module: mlflow.sklearn}\n"
    resp = SESSION.put(f"{API}/mlflow-artifacts/artifacts/{proxy_path}/model/MLmodel", data=mlmodel.encode(), timeout=30)
    resp.raise_for_status()
    listed = call("GET", "mlflow-artifacts/artifacts", path=f"{proxy_path}/model").get("files", [])
    run_listing = call("GET", "mlflow/artifacts/list", run_id=run_id, path="model").get("files", [])

    call("POST", "mlflow/runs/update", run_id=run_id, run_uuid=run_id, status="FINISHED", end_time=now_ms())
    fetched = call("GET", "mlflow/runs/get", run_id=run_id, run_uuid=run_id)["run"]
    history = call("GET", "mlflow/metrics/get-history", run_id=run_id, run_uuid=run_id, metric_key="rmse").get("metrics", [])

    # Registry: model (RESOURCE_ALREADY_EXISTS is HTTP 400), version from the run, alias, download URI.
    try:
        call("POST", "mlflow/registered-models/create", name=model_name, tags=[], description="from session.py")
    except MlflowError as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = call("POST", "mlflow/model-versions/create", name=model_name, source=f"runs:/{run_id}/model", run_id=run_id, tags=[])["model_version"]
    for _ in range(50):
        if version["status"] == "READY":
            break
        time.sleep(0.1)
        version = call("GET", "mlflow/model-versions/get", name=model_name, version=version["version"])["model_version"]
    call("POST", "mlflow/registered-models/alias", name=model_name, alias="champion", version=version["version"])
    by_alias = call("GET", "mlflow/registered-models/alias", name=model_name, alias="champion")["model_version"]
    download_uri = call("GET", "mlflow/model-versions/get-download-uri", name=model_name, version=version["version"])["artifact_uri"]
    # MLflow answers the version's source verbatim: a runs:/ URI is resolved against the run's artifact root, as its client does.
    if download_uri.startswith("runs:/"):
        source_run, _, sub = download_uri[len("runs:/"):].partition("/")
        root = call("GET", "mlflow/runs/get", run_id=source_run)["run"]["info"]["artifact_uri"]
        download_uri = f"{root.rstrip('/')}/{sub}" if sub else root
    downloaded = SESSION.get(f"{API}/mlflow-artifacts/artifacts/{download_uri[len('mlflow-artifacts:'):].lstrip('/')}/MLmodel", timeout=30)
    downloaded.raise_for_status()

    summary = {
        "experiment_id": exp_id,
        "run_id": run_id,
        "run_status": fetched["info"]["status"],
        "params": {p["key"]: p["value"] for p in fetched["data"].get("params", [])},
        "metrics": {m["key"]: m["value"] for m in fetched["data"].get("metrics", [])},
        "rmse_history": [m["value"] for m in history],
        "artifacts": [f["path"] for f in listed],
        "run_artifacts": [f["path"] for f in run_listing],
        "model": model_name,
        "version": version["version"],
        "version_status": version["status"],
        "alias_version": by_alias["version"],
        "download_uri": download_uri,
        "downloaded_matches": downloaded.text == mlmodel,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MlflowError as e:
        print(f"session failed: {e}", file=sys.stderr)
        sys.exit(1)
