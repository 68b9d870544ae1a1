"""Session-wide fixtures: one seeded moto server for every test that needs AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.aws.sandbox import SeededIncident
from bot.emulators.aws import MotoSandbox
from tests.harness import aws_sandbox


@pytest.fixture(scope="session")
def aws() -> Iterator[tuple[MotoSandbox, SeededIncident]]:
    with aws_sandbox() as pair:
        yield pair


@pytest.fixture(scope="session")
def incident(aws: tuple[MotoSandbox, SeededIncident]) -> SeededIncident:
    return aws[1]
