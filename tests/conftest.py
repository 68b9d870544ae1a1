"""Session-wide fixtures: one seeded moto server for every test that needs AWS."""

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """moto keeps one state per process, so a test that resets it must not run before tests that rely on
    the session's seeded incident."""
    items.sort(key=lambda item: item.get_closest_marker("wipes_aws") is not None)
