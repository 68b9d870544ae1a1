"""The scripted demo, as a newcomer runs it: every command answered in a thread, the incident's
evidence visible, the planted secret absent and `<!channel>` neutralised."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.aws.sandbox import FAKE_ACCESS_KEY_ID, FAKE_SECRET_KEY

SCRIPT = Path(__file__).parent.parent / "bot" / "demo" / "script.txt"


def test_scripted_demo_transcript() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "SLACK_", "CLOUDOPS_"))}
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--script", str(SCRIPT), "--sidecar", "127.0.0.1:0"],
                          env=env, capture_output=True, text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands = [line for line in SCRIPT.read_text().splitlines() if line and not line.startswith("#")]
    assert out.count("\n$ ") == len(commands)
    assert out.count("  ↳ ") >= len(commands), "a command was not answered in a thread"
    assert "(no answer" not in out and "(no reply" not in out
    assert "502 Bad Gateway" in out  # the 502 burst
    assert "api-prod-5xx-high" in out and "api-1-cpu-high" in out  # the alarms
    peak = float(out.split("peak ")[1].split(",")[0])
    assert peak > 90  # the CPU spike
    assert FAKE_SECRET_KEY not in out and FAKE_ACCESS_KEY_ID not in out
    assert "[REDACTED:aws_secret_access_key]" in out
    assert "<!channel>" not in out and "&lt;!channel&gt;" in out
    assert "did you mean `/cloudops status`" in out
    assert "evidence-only" in out and "sidecar: http://127.0.0.1:" in out
    assert "Traceback" not in out + proc.stderr


def test_demo_without_a_terminal_or_input_runs_the_embedded_session() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "SLACK_", "CLOUDOPS_"))}
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--sidecar", "127.0.0.1:0"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "running the embedded session" in proc.stdout
    commands = [line for line in SCRIPT.read_text().splitlines() if line and not line.startswith("#")]
    assert proc.stdout.count("\n$ ") == len(commands)
