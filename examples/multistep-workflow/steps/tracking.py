"""The few tracking calls the steps make, over MLflow's REST API with the standard library only.

With the `mlflow` package installed, use mlflow.log_metric / mlflow.log_artifact instead: they pick up
MLFLOW_RUN_ID and MLFLOW_TRACKING_URI, which `mlflow-ts run` sets for every step.
"""
import json
import os
import time
import urllib.parse
import urllib.request

URI = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
RUN_ID = os.environ["MLFLOW_RUN_ID"]


def _post(endpoint, body):
    request = urllib.request.Request(
        f"{URI}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def log_metric(key, value, step=0):
    _post("runs/log-metric", {"run_id": RUN_ID, "key": key, "value": value,
                              "timestamp": int(time.time() * 1000), "step": step})


def log_artifact(name, data: bytes):
    """Uploads through the server's artifact proxy (runs whose artifact URI is mlflow-artifacts:/)."""
    with urllib.request.urlopen(f"{URI}/api/2.0/mlflow/runs/get?run_id={RUN_ID}") as response:
        artifact_uri = json.load(response)["run"]["info"]["artifact_uri"]
    if not artifact_uri.startswith("mlflow-artifacts:"):
        raise SystemExit(f"this example uploads through the artifact proxy; the run's artifacts go to {artifact_uri}")
    path = urllib.parse.urlparse(artifact_uri).path.lstrip("/")
    request = urllib.request.Request(f"{URI}/api/2.0/mlflow-artifacts/artifacts/{path}/{name}", data=data, method="PUT")
    urllib.request.urlopen(request).read()
