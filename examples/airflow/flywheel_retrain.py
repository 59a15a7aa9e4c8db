"""Airflow DAG: ask Flywheel to retrain a model after the nightly data refresh.

Two ways, pick one with the Airflow Variable ``flywheel_transport`` ("kafka" or "http"):

* kafka: produce a plain JSON record to ``flywheel.training.requests`` (triggers/kafka/README.md). Flywheel's
  KafkaSource (Knative) or KafkaBridge (embedded) turns it into ``dev.flywheel.training.requested`` with
  ``trigger.reason = kafka``, from the champion's training spec plus the fields given here.
* http: POST a binary-mode CloudEvent ``dev.flywheel.training.requested`` to the broker ingress (``POST /events``) with
  the bearer token. The event id is derived from the DAG run, so a retried task cannot start a second training.

Connections/Variables used: ``flywheel_url`` (e.g. http://flywheel:8080), Airflow connection ``flywheel`` whose password
is the Flywheel token, ``flywheel_kafka_brokers`` (e.g. kafka:9092), ``flywheel_model`` (default iris).
Requires ``apache-airflow>=2.4``; the kafka path needs ``confluent-kafka``, the http path only ``requests``.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.models import Variable
from airflow.operators.python import PythonOperator

TOPIC = "flywheel.training.requests"


def _request(model: str, run_id: str) -> dict:
    # Only the fields to change: the rest comes from the champion version's training spec.
    return {"model": model, "params": {"data_snapshot": run_id}}


def request_via_kafka(model: str, run_id: str, **_: object) -> None:
    from confluent_kafka import Producer  # imported here so the http path does not need it

    producer = Producer({"bootstrap.servers": Variable.get("flywheel_kafka_brokers"), "enable.idempotence": True})
    errors: list[str] = []
    producer.produce(
        TOPIC,
        key=model.encode(),
        value=json.dumps(_request(model, run_id)).encode(),
        headers={"content-type": "application/json", "airflow-run-id": run_id},
        on_delivery=lambda err, _msg: errors.append(str(err)) if err else None,
    )
    producer.flush(30)
    if errors:
        raise RuntimeError(f"Kafka delivery failed: {errors[0]}")


def request_via_http(model: str, run_id: str, **_: object) -> None:
    import requests

    token = BaseHook.get_connection("flywheel").password
    spec = _request(model, run_id)
    event_id = hashlib.sha256(f"airflow:{model}:{run_id}".encode()).hexdigest()[:32]
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/airflow/dags/flywheel_retrain",
        "ce-type": "dev.flywheel.training.requested",
        "ce-subject": model,
    }
    # training.requested carries a complete spec: resolve it from the champion through the registry's REST API.
    base = Variable.get("flywheel_url").rstrip("/")
    champion = requests.get(
        f"{base}/api/2.0/mlflow/registered-models/alias",
        params={"name": model, "alias": "champion"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    champion.raise_for_status()
    tags = {t["key"]: t["value"] for t in champion.json()["model_version"].get("tags", [])}
    full = json.loads(tags["flywheel.training_spec"])
    full["params"] = {**full.get("params", {}), **spec["params"]}
    full["trigger"] = {"reason": "api", "eventId": event_id, "user": "airflow"}
    resp = requests.post(f"{base}/events", headers=headers, data=json.dumps(full), timeout=30)
    if resp.status_code != 202:
        raise RuntimeError(f"Flywheel ingress answered {resp.status_code}: {resp.text[:200]}")


with DAG(
    dag_id="flywheel_retrain",
    start_date=datetime(2026, 1, 1),
    schedule="0 3 * * *",
    catchup=False,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=2)},
    tags=["flywheel", "mlops"],
) as dag:
    transport = Variable.get("flywheel_transport", default_var="kafka")
    PythonOperator(
        task_id="request_retrain",
        python_callable=request_via_kafka if transport == "kafka" else request_via_http,
        op_kwargs={"model": Variable.get("flywheel_model", default_var="iris"), "run_id": "{{ run_id }}"},
    )
