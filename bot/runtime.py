"""Start-up wiring shared by `run` and `demo`: settings → metrics → services → Slack edge → sidecar.

Nothing is built at import time; ``Bot.start`` builds in order and ``Bot.stop`` tears down in reverse,
so the demo and tests can run a whole bot in-process and leave no threads or ports behind.
"""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404 - starts our own worker processes, a fixed argv
import sys
import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog

from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.state import BotState
from handlers import registry
from handlers.services import Services

log = structlog.get_logger("cloudops")


def bot_version() -> str:
    try:
        return version("smart-cloudops-ai")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+src"


@dataclass
class Bot:
    settings: Settings
    metrics: Metrics = field(init=False)
    state: BotState = field(init=False)
    services: Services = field(init=False)
    slack: Any = None
    runner: Any = None
    sidecar: Any = None
    worker: Any = None  # `cloudops-bot worker`: the job stream's consumer
    workers: WorkerProcesses | None = None  # `run` with the redis queue: the worker processes it started

    def __post_init__(self) -> None:
        v = bot_version()
        self.metrics = Metrics(v, commands=registry.verbs(), aws_operations=registry.aws_operations())
        self.metrics.init_actions(registry.action_names())
        problems = registry.action_rule_problems(self.settings.action_rules)
        if problems:  # configuration cannot import the entries, so the names are checked here, at start-up
            raise ConfigError(problems)
        self.state = BotState(version=v)
        self.services = Services.build(self.settings, self.metrics)

    def start(self, *, slack: bool = True, sidecar: bool = True) -> Bot:
        if sidecar:
            from bot.sidecar.server import Sidecar

            self.sidecar = Sidecar(self.settings, self.services, self.state).start()
            log.info("sidecar_listening", url=self.sidecar.url)
        if slack:
            from bot.slack.app import SlackBot
            from bot.slack.socket import SocketRunner

            self.slack = SlackBot(self.settings, self.services, self.state)
            if self.settings.job_queue == "redis":
                from bot.slack.jobstream import JobStream, connect

                self.slack.jobs = JobStream(connect(self.settings.redis_url, self.settings.redis_timeout_s),
                                            self.settings.max_queue)
                self.workers = WorkerProcesses(self.settings.worker_processes).start()
            self.runner = SocketRunner(self.slack, self.settings.slack_app_token)
            self.runner.start()
            log.info("slack_connecting", api_url=self.settings.slack_api_url)
            if self.settings.alarm_channel or self.settings.alarm_routes:
                watcher = self.slack.watch_incidents()
                log.info("alarm_watch", channels=sorted(watcher.channels()))
        return self

    def start_worker(self, stop: threading.Event) -> Bot:
        """Serve the job stream (no socket, no sidecar): answers are posted with the bot token."""
        from bot.slack.app import SlackBot
        from bot.slack.jobstream import StreamWorker, connect

        self.slack = SlackBot(self.settings, self.services, self.state)
        queue = self.slack.queue

        def submit(job: Any) -> None:
            queue.reserve()  # the worker takes entries only while a thread is free: never full
            queue.submit(job)

        client = connect(self.settings.redis_url, self.settings.redis_timeout_s + 1.0)  # reads block 0.5 s
        self.worker = StreamWorker(client, self.slack.run_job, submit, self.settings.workers,
                                   self.settings.job_claim_after_s, give_up=self.slack.give_up_job)
        threading.Thread(target=self.worker.serve, args=(stop,), name="job-stream", daemon=True).start()
        log.info("worker_started", consumer=self.worker.consumer, threads=self.settings.workers)
        return self

    def stop(self, drain_s: float | None = None) -> int:
        aborted = 0
        drain = self.settings.drain_s if drain_s is None else drain_s
        if self.worker is not None and not self.worker.wait_idle(drain):
            log.warning("worker_stopped_with_jobs", running=self.worker.running)  # taken over elsewhere
        if self.slack is not None and self.slack.incidents is not None:
            self.slack.incidents.stop()
        if self.workers is not None:
            self.workers.terminate()  # they drain while the socket side does
        if self.runner is not None:
            aborted = self.runner.stop(drain)
            self.runner = None
        if self.workers is not None:
            self.workers.wait(drain + 5.0)
            self.workers = None
        if self.slack is not None:
            self.slack.queue.shutdown()
            self.slack = None
        if self.sidecar is not None:
            self.sidecar.stop()
            self.sidecar = None
        self.services.close()
        return aborted


class WorkerProcesses:
    """`cloudops-bot worker` children of `run` (CLOUDOPS_JOB_QUEUE=redis on one machine), restarted when
    one exits; a crashed worker's jobs are taken over from the stream by the others or its successor."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._procs: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watch = threading.Thread(target=self._supervise, name="worker-watch", daemon=True)

    def start(self) -> WorkerProcesses:
        with self._lock:
            self._procs = [self._spawn() for _ in range(self._count)]
        self._watch.start()
        return self

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._procs]

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=os.environ.copy())  # nosec B603

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for i, proc in enumerate(self._procs):
                    if proc.poll() is not None and not self._stop.is_set():
                        log.warning("worker_exited", pid=proc.pid, code=proc.returncode)
                        self._procs[i] = self._spawn()

    def terminate(self) -> None:
        """SIGTERM: each worker finishes what it runs (CLOUDOPS_DRAIN_S); the rest stays on the stream."""
        self._stop.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
