"""Regenerate the chart images in docs/images from the real code path, so the docs show real output.

A moto sandbox seeded with the demo incident (the same one `cloudops-bot demo` uses), then the real
handlers: `/cloudops metrics api-1 cpu 3h` and the evidence pack of the `api-1-cpu-high` alarm. Their
replies carry ChartSpecs; bot.charts draws them exactly as the Slack edge does before uploading.
No Slack, no model, no network beyond loopback.

    .venv/bin/python scripts/render_doc_charts.py      # writes docs/images/{metrics,alarm}-chart.png
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.aws import cloudwatch  # noqa: E402  (after the sys.path line: runnable without installing)
from bot.charts import render_chart  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.models import ChartSpec, Request, Source  # noqa: E402
from cloudops_demo.aws import MotoSandbox  # noqa: E402
from cloudops_demo.sandbox import seed_incident  # noqa: E402
from handlers import dispatch  # noqa: E402
from handlers.incident import evidence_pack  # noqa: E402
from handlers.services import Services  # noqa: E402

OUT = ROOT / "docs" / "images"
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "docs", "AWS_SECRET_ACCESS_KEY": "docs", "AWS_SESSION_TOKEN": "docs",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def write(spec: ChartSpec, name: str) -> None:
    start = time.perf_counter()
    png = render_chart(spec)
    took = (time.perf_counter() - start) * 1000
    (OUT / name).write_bytes(png)
    print(f"docs/images/{name}: {len(png):,} bytes, 900x360, {spec.points} points, drawn in {took:.0f} ms")


def main() -> int:
    os.environ.update(FAKE_AWS)
    os.environ.pop("AWS_PROFILE", None)
    sandbox = MotoSandbox().start()
    os.environ["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
    try:
        incident = seed_incident(sandbox.endpoint_url)
        services = Services.build(Settings.from_values(aws_region="us-east-1"), Metrics())
        OUT.mkdir(parents=True, exist_ok=True)
        request = Request(text=f"metrics {incident.spiking_instance} cpu 3h", source=Source.CLI)
        reply, _, outcome = dispatch.handle(request, services)
        if outcome != "ok" or not reply.charts:
            print(reply.plain_text(), file=sys.stderr)
            return 1
        write(reply.charts[0], "metrics-chart.png")
        alarm = next(a for a in cloudwatch.describe_alarms(services.aws, "ALARM") if a.name == "api-1-cpu-high")
        evidence = evidence_pack(alarm, services, Request(text="", source=Source.CLI))
        if not evidence.charts:
            print(evidence.plain_text(), file=sys.stderr)
            return 1
        write(evidence.charts[0], "alarm-chart.png")
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
