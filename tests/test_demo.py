"""The scripted demo, as a newcomer runs it: every command answered in a thread, the incident's
evidence visible, the planted secret absent and `<!channel>` neutralised."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import DEMO_MISSING
from cloudops_demo.main import lines_from, parse_line
from cloudops_demo.sandbox import FAKE_ACCESS_KEY_ID, FAKE_SECRET_KEY

SCRIPT = Path(__file__).parent.parent / "cloudops_demo" / "script.txt"


@pytest.fixture(scope="module")
def embedded_run() -> subprocess.CompletedProcess[str]:
    """One demo run as CI or `make demo < /dev/null` starts it (no terminal, nothing piped in: the embedded
    session, which is SCRIPT); every test here reads its transcript."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "SLACK_", "CLOUDOPS_"))}
    return subprocess.run([sys.executable, "-m", "bot", "demo", "--sidecar", "127.0.0.1:0"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)


def test_scripted_demo_transcript(embedded_run: subprocess.CompletedProcess[str]) -> None:
    proc = embedded_run
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
    assert not re.search(r"^Traceback", out + proc.stderr, re.MULTILINE)  # the seeded log's traceback is inline
    mention = out[out.index("why is checkout returning 502s?"):]
    assert "Likely causes" in mention and "orders-svc" in mention and "/ecs/api-prod" in mention


def test_demo_without_a_terminal_or_input_runs_the_embedded_session(
        embedded_run: subprocess.CompletedProcess[str]) -> None:
    assert embedded_run.returncode == 0, embedded_run.stderr[-3000:]
    assert "running the embedded session" in embedded_run.stdout
    commands = [line for line in SCRIPT.read_text().splitlines() if line and not line.startswith("#")]
    assert embedded_run.stdout.count("\n$ ") == len(commands)


def _ns(**given: str) -> argparse.Namespace:
    return argparse.Namespace(**{"once": None, "script": None, **given})


def test_commands_come_from_once_then_script_then_piped_input(tmp_path: Path) -> None:
    script = tmp_path / "commands.txt"
    script.write_text("/cloudops alarms\n@CloudOps why?\n", encoding="utf-8")
    piped = io.StringIO("/cloudops status\n")
    assert lines_from(_ns(once="/cloudops help", script=str(script)), piped) == (["/cloudops help"], False)
    assert lines_from(_ns(script=str(script)), piped) == (["/cloudops alarms", "@CloudOps why?"], False)
    lines, interactive = lines_from(_ns(), piped)
    assert list(lines) == ["/cloudops status\n"] and not interactive
    assert [parse_line(line) for line in ("/cloudops alarms", "@CloudOps why?", "# note", "status web-1")] == [
        ("command", "alarms"), ("mention", "why?"), None, ("command", "status web-1")]


@pytest.mark.parametrize("missing", ["moto", "cloudops_demo"])  # a plain `pip install`; the image
def test_demo_without_its_extra_says_how_to_install_it_in_one_line(missing: str) -> None:
    """Without the demo extra `cloudops-bot demo` says what to install, whatever its arguments, no traceback."""
    hide = (f"import sys; sys.modules[{missing!r}] = None; from bot.__main__ import main; "
            "sys.exit(main(['demo', '--once', '/cloudops alarms']))")
    proc = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [DEMO_MISSING]
    assert "pip install 'smart-cloudops-ai[demo]'" in DEMO_MISSING
