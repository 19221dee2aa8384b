"""Fixtures of the infra tests: the real Pulumi program run once under mocks with Pulumi.dev.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from program_mocks import ROOT, STACK, Deployment, run_main, stack_config


@pytest.fixture(scope="session")
def dev_config() -> dict[str, str]:
    return stack_config(ROOT / f"Pulumi.{STACK}.yaml")


@pytest.fixture(scope="session")
def deployment(dev_config) -> Iterator[Deployment]:
    yield run_main(dev_config)


def pytest_configure(config) -> None:
    # pulumi-aws warns about its own deprecated aliases when its modules are imported.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
