"""Run the built image against local peers and check what an operator and a Slack user would notice.

Started by scripts/container-smoke.sh after the build. The peers run here on the host (Slack emulator,
a seeded moto, the model server) and the container shares the host's network (`buildah run --network
host`), so the bot reaches them on 127.0.0.1 exactly as it would reach Slack and AWS through env vars.

Checks, each printed as a line: the bot process runs as uid 10001; the image's own HEALTHCHECK command
passes against the running sidecar (and fails against a closed port, so it is not vacuous); /metrics
answers; `/cloudops status web-1` gets its answer in the thread; the bot wrote nothing outside /tmp
(so a read-only root filesystem is fine); SIGTERM stops it cleanly. Figures: start-up time, reply time,
resident memory, plus the build time and image size handed over by the shell script.
"""

# This script exists to drive the buildah CLI with arguments it builds itself (no user input).

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import seed_incident
from cloudops_demo.slack import SlackEmulator
from tests.peers.llm_server import FakeLLMServer, Scripted

EXPECTED_UID = 10001
CHANNEL = "C-smoke"
VENV_MARKER = "/opt/venv/bin/cloudops-bot"  # the console script inside the image, not the host's .venv
# Written by the runtime itself (buildah's chroot run) or by the dynamic loader, not by the bot.
RUNTIME_PATHS = ("etc/hosts", "etc/resolv.conf", "etc/hostname", "run/.containerenv", "dev", "proc", "sys",
                 "run/secrets", "tmp")


class SmokeFailure(Exception):
    """One check failed; the message says what a user would have noticed."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until ``predicate``; returns the seconds it took or raises with ``what``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")


def _buildah(*args: str, timeout: float = 60.0) -> str:
    out = subprocess.run(["buildah", *args], check=True, capture_output=True, text=True, timeout=timeout)
    return out.stdout.strip()


def _healthcheck_command(image: str) -> list[str]:
    """The HEALTHCHECK test of the image as built (Docker format), without its CMD/CMD-SHELL marker."""
    info = json.loads(_buildah("inspect", "--type", "image", image))
    test = (info.get("Docker", {}).get("config", {}).get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] not in {"CMD", "CMD-SHELL"}:
        raise SmokeFailure(f"the image has no HEALTHCHECK (got {test!r}); was it built with --format docker?")
    return list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


def _bot_pid(timeout: float = 30.0) -> int:
    """The image's cloudops-bot process, found by its path inside the image."""
    found: list[int] = []

    def scan() -> bool:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # The interpreter itself, not buildah's chroot-exec wrapper whose argv names the script too.
            names = [a.decode(errors="replace") for a in argv[:2]]
            if len(names) == 2 and Path(names[0]).name.startswith("python") and names[1].endswith(VENV_MARKER):
                found.append(int(entry.name))
                return True
        return False

    _wait(scan, timeout, "the cloudops-bot process to start inside the container")
    return found[0]


def _proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _written_outside_tmp(container: str) -> list[str]:
    """Paths the container's upper layer holds that a read-only root filesystem would have refused."""
    merged = _buildah("mount", container)
    try:
        upper = Path(merged).parent / "diff"
        if not upper.is_dir():  # another storage driver: nothing to compare against
            return []
        changed = []
        for path in sorted(upper.rglob("*")):
            rel = path.relative_to(upper).as_posix()
            if path.is_dir() and (any(path.iterdir()) or rel == "run"):  # buildah's empty /run mount point
                continue
            if any(rel == p or rel.startswith(f"{p}/") for p in RUNTIME_PATHS):
                continue
            changed.append(rel)
        return changed
    finally:
        _buildah("umount", container)


@contextmanager
def _container(image: str) -> Iterator[str]:
    name = f"cloudops-smoke-{os.getpid()}"
    container = _buildah("from", "--pull=never", "--name", name, image)
    try:
        yield container
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False, timeout=60)


def _kill_if_running(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def _run_args(container: str, env: dict[str, str], *cmd: str) -> list[str]:
    flags = [f"--env={k}={v}" for k, v in sorted(env.items())]
    return ["buildah", "run", "--isolation", "chroot", "--network", "host", *flags, container, "--", *cmd]


def smoke(image: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"checks": 0}

    def ok(msg: str) -> None:
        figures["checks"] += 1
        print(f"  ok  {msg}", flush=True)
    with ExitStack() as stack:
        moto = stack.enter_context(MotoSandbox())
        incident = seed_incident(moto.endpoint_url)
        slack = stack.enter_context(SlackEmulator())
        llm = stack.enter_context(FakeLLMServer(api_key="sk-smoke", model="gpt-smoke"))
        llm.script(Scripted(content="web-1 looks healthy: running and both status checks pass."))
        port = _free_port()
        env = {
            "SLACK_BOT_TOKEN": "xoxb-smoke", "SLACK_APP_TOKEN": "xapp-smoke", "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-smoke", "OPENAI_BASE_URL": llm.base_url, "CLOUDOPS_LLM_MODEL": "gpt-smoke",
            "AWS_ENDPOINT_URL": moto.endpoint_url, "AWS_REGION": incident.region,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true", "CLOUDOPS_SIDECAR_ADDR": f"127.0.0.1:{port}",
            "CLOUDOPS_LOG_FORMAT": "json",
        }
        container = stack.enter_context(_container(image))
        log_path = Path(os.environ.get("SMOKE_CACHE", ".cache/container-smoke")) / "bot.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = stack.enter_context(log_path.open("wb"))
        started = time.monotonic()
        proc = subprocess.Popen(_run_args(container, env, "cloudops-bot", "run"),
                                stdout=log_file, stderr=subprocess.STDOUT)
        stack.callback(_kill_if_running, proc)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(lambda: _get(f"{base}/healthz", 1)[0] == 200, 60, "the sidecar's /healthz")
            slack.wait_connected(1, timeout=30)
            code, body = _get(f"{base}/status")
            if code != 200 or not json.loads(body)["slack"]["connected"]:
                raise SmokeFailure(f"/status says the bot is not ready: HTTP {code} {body[:300]!r}")
            figures["startup_s"] = round(time.monotonic() - started, 1)
            ok(f"started and connected to Slack in {figures['startup_s']} s; /status 200")

            pid = _bot_pid()
            uids = _proc_status(pid)["Uid"].split()
            if {int(u) for u in uids} != {EXPECTED_UID}:
                raise SmokeFailure(f"the bot runs as uid {uids}, not {EXPECTED_UID}")
            ok(f"the bot process runs as uid {EXPECTED_UID} (pid {pid} on the host)")

            check = _healthcheck_command(image)
            run = subprocess.run(_run_args(container, {"CLOUDOPS_SIDECAR_ADDR": env["CLOUDOPS_SIDECAR_ADDR"]},
                                           *check), capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                raise SmokeFailure(f"the image's HEALTHCHECK failed: {run.stderr[-500:]}")
            dead = subprocess.run(_run_args(container, {"CLOUDOPS_SIDECAR_ADDR": f"127.0.0.1:{_free_port()}"},
                                            *check), capture_output=True, text=True, timeout=60)
            if dead.returncode == 0:
                raise SmokeFailure("the HEALTHCHECK passes even with nothing listening: it checks nothing")
            ok("the image's HEALTHCHECK passes against the sidecar and fails against a closed port")

            code, body = _get(f"{base}/metrics")
            text = body.decode(errors="replace")
            if code != 200 or "cloudops_" not in text:
                raise SmokeFailure(f"/metrics answered HTTP {code} without cloudops_ metrics")
            ok(f"/metrics answers ({sum(1 for line in text.splitlines() if line.startswith('cloudops_'))} "
               "cloudops_ samples)")

            t0 = time.monotonic()
            slack.send_slash_command("status web-1", channel=CHANNEL, user="U-SMOKE")
            _wait(lambda: bool(slack.channel_messages(CHANNEL)), 30, "the visible parent message")
            parent = slack.channel_messages(CHANNEL)[0]
            replies = slack.wait_thread_replies(CHANNEL, parent["ts"], 1, timeout=60)
            figures["reply_s"] = round(time.monotonic() - t0, 2)
            answer = json.dumps(replies[0])
            instance = incident.instances["web-1"]
            if instance not in answer or "running" not in answer:
                raise SmokeFailure(f"the thread reply does not show {instance} running: {answer[:500]}")
            ok(f"/cloudops status web-1 answered in its thread in {figures['reply_s']} s ({instance}, running)")

            status = _proc_status(pid)
            figures["rss_mib"] = round(int(status["VmRSS"].split()[0]) / 1024, 1)
            figures["threads"] = int(status["Threads"])

            t0 = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            rc = proc.wait(timeout=60)
            figures["stop_s"] = round(time.monotonic() - t0, 1)
            if rc != 0:
                raise SmokeFailure(f"after SIGTERM the bot exited with {rc}, not 0")
            ok(f"SIGTERM stops it cleanly in {figures['stop_s']} s (exit 0)")
        except Exception:
            log_file.flush()
            tail = log_path.read_text(errors="replace").splitlines()[-25:]
            print("--- the bot's last log lines ---", *tail, sep="\n", file=sys.stderr)
            raise

        written = _written_outside_tmp(container)
        if written:
            raise SmokeFailure(f"the bot wrote outside /tmp (a read-only root filesystem would break): {written}")
        ok("nothing written outside /tmp: fine on a read-only root filesystem")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", required=True)
    parser.add_argument("--build-seconds", type=float, default=None)
    parser.add_argument("--image-bytes", type=int, default=None)
    ns = parser.parse_args(argv)
    print(f"== running {ns.image} against the Slack emulator, moto and the model server", flush=True)
    try:
        figures = smoke(ns.image)
    except (SmokeFailure, TimeoutError, subprocess.SubprocessError) as exc:
        print(f"container-smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    if ns.build_seconds is not None:
        figures["build_s"] = ns.build_seconds
    if ns.image_bytes is not None:
        figures["image_mib"] = round(ns.image_bytes / 1024 / 1024)
    checks = figures.pop("checks")
    print("== figures: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    print(f"smoke: {checks} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
