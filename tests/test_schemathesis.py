"""schemathesis against the sidecar's own OpenAPI description: generated requests (valid and invalid)
must never produce a 5xx or a response that breaks the documented schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloudops_demo.sandbox import SeededIncident
from tests.sidecar_client import TOKEN, running_sidecar


def test_sidecar_holds_its_openapi_contract_under_generated_requests(incident: SeededIncident) -> None:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    with running_sidecar() as run:
        proc = subprocess.run(
            [exe, "run", f"{run.url}/openapi.json", "-H", f"Authorization: Bearer {TOKEN}",
             "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
             "--max-examples", "10", "--seed", "7", "--max-time", "40", "--no-color"],
            capture_output=True, text=True, timeout=180,
        )
    report = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    cases = re.search(r"(\d+) generated, \1 passed", proc.stdout)  # every generated request, and many of them
    assert cases is not None and int(cases.group(1)) >= 100, report
