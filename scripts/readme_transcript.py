"""Regenerate the README's demo transcript: run `cloudops-bot demo --script cloudops_demo/readme-script.txt`
and put its output between the transcript markers, so the README shows real output, not prose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- demo-transcript:begin -->", "<!-- demo-transcript:end -->"


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "SLACK_", "CLOUDOPS_"))}
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--script", "cloudops_demo/readme-script.txt",
                           "--sidecar", "127.0.0.1:0"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    block = f"{BEGIN}\n```text\n{proc.stdout.rstrip()}\n```\n{END}"
    readme.write_text(head + block + tail, encoding="utf-8")
    print(f"README transcript updated ({len(proc.stdout.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
