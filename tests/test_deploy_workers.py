"""deploy/k8s-workers, the topology past one machine: Socket Mode pods that only ack and admit, worker pods
that answer from the Redis stream and scale on their own. Built with the real kustomize (kubectl) and
checked against the API schemas and the bot's own settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import SPECS

ROOT = Path(__file__).resolve().parents[1]
KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")


def _built() -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy" / "k8s-workers")], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_socket_pods_ack_onto_the_stream_and_worker_pods_answer_from_it() -> None:
    docs = _built()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    front, worker = deployments["cloudops-bot"], deployments["cloudops-bot-worker"]
    assert _env(front)["CLOUDOPS_JOB_QUEUE"] == "redis" and _env(front)["CLOUDOPS_WORKER_PROCESSES"] == "0"
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker"]
    assert _env(worker)["CLOUDOPS_JOB_QUEUE"] == "redis"
    assert "optional" not in _env(worker)["CLOUDOPS_REDIS_URL"]["secretKeyRef"]  # no stream, no answers
    env_names = {spec.env for spec in SPECS.values()} | {"CLOUDOPS_CONFIG"}
    for d in deployments.values():
        assert set(_env(d)) <= env_names, f"{d['metadata']['name']} sets variables the bot does not read"
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "cloudops-bot-worker"
    drain = float(SPECS["drain_s"].default)
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > drain


def test_the_overlay_passes_the_api_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in _built():
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
