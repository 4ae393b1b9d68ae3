"""Shared fixtures: the mock runtime with a realistic stand-in cloud, and a way to run a program on it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def cloud(monkeypatch):
    """A fresh mock runtime per test; yields the monitor that recorded every registration."""
    import pulumi
    from fedctl.testing.mocks import CloudMocks, RecordingMonitor

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    pulumi.runtime.set_all_config({})
    mocks = CloudMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="outbound-federation", stack="dev", preview=False, monitor=monitor)
    yield monitor
    pulumi.runtime.set_all_config({})


def deploy(build: Callable[[], Any]) -> Any:
    """Run ``build`` on the mock runtime and return what it returned, with every Output resolved.

    Waits for all registrations to finish, so the monitor's record is complete afterwards.
    """
    import pulumi

    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        value = build()
        return pulumi.Output.from_input(value).apply(lambda resolved: result.setdefault("value", resolved))

    run()
    return result.get("value")


def validation_error_behind(raised):
    """The ValidationError behind a failed deployment. Pulumi wraps an error raised while an Output
    resolves in ValueErrors and chains the original, as a cause or a context (a cause may even be
    the wrapper itself), so both links are followed."""
    from components.rules.errors import ValidationError

    todo, seen = [raised.value], set()
    while todo:
        error = todo.pop(0)
        if isinstance(error, ValidationError):
            return error
        seen.add(id(error))
        todo += [e for e in (error.__cause__, error.__context__) if e is not None and id(e) not in seen]
    raise AssertionError(f"no ValidationError behind {raised.value!r}")


class FakeClock:
    """A clock the test moves by hand (for token lifetimes, refresh windows, key-refresh pacing)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def issuer():
    """A local AWS-shaped issuer serving its discovery document and keys on 127.0.0.1."""
    from fedctl.testing.issuer import LocalIssuer

    local = LocalIssuer()
    with local.serve():
        yield local
