"""Session-wide fixtures: one seeded moto server for every test that needs AWS.

Under pytest-xdist (`make test` runs `pytest -n 4`) "session" means one worker process: each worker has its
own moto state (moto keeps it per process), its own seeded incident and its own free ports. A test that
changes the seeded state must either undo its change or be marked ``wipes_aws`` (it then runs after every
other test of its worker; `--dist load`, xdist's default, hands each worker its tests in collection order).
A module that seeds resources of its own does so in a region no other module uses (the seeded incident
lives in us-east-1), since every module of a worker shares that worker's moto.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudops_demo.aws import MotoSandbox
from cloudops_demo.sandbox import SeededIncident
from tests.harness import aws_sandbox


@pytest.fixture(scope="session")
def aws() -> Iterator[tuple[MotoSandbox, SeededIncident]]:
    with aws_sandbox() as pair:
        yield pair


@pytest.fixture(scope="session")
def incident(aws: tuple[MotoSandbox, SeededIncident]) -> SeededIncident:
    return aws[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "wipes_aws: resets the process-wide moto state; runs after everything else")
    dist = config.getoption("dist", "no")
    if dist not in ("no", "load"):  # other modes (worksteal, loadscope…) may run a seeded test after a wipe
        raise pytest.UsageError(f"--dist {dist}: the wipes_aws ordering needs --dist load (the default of -n)")


# Modules of a few long tests (40 s, 15 s), started first so that the other workers do not sit idle at the
# end while one of them finishes it: xdist's load scheduling hands tests out in collection order.
LONG_FIRST = ("tests/test_schemathesis.py", "tests/test_run_process.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """moto keeps one state per process, so a test that resets it must not run before tests that rely on
    the session's seeded incident."""
    items.sort(key=lambda item: (item.get_closest_marker("wipes_aws") is not None,
                                 item.nodeid.split("::")[0] not in LONG_FIRST))
