"""Run a Pulumi Python program on the SDK's mock runtime, as the engine would, and keep the record.

The program sees its stack config, stack name and project name exactly as under ``pulumi
preview``; every registration and invoke goes to :class:`~fedctl.testing.mocks.CloudMocks`.
What comes back: the stack outputs, every registration (with parents and dependencies), and the
warnings the program logged.

Example::

    run = run_program(load_project(".", "dev"))
    print(run.outputs["issuer"], len(run.monitor.registrations))
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pulumi

from .project import SECRET_PLACEHOLDER, PulumiProject
from components.rules.errors import ConfigurationError, MissingDependencyError

from ..dependencies import missing_dependency_for
from ..testing.mocks import CloudMocks, RecordingMonitor


class ProgramError(ConfigurationError):
    """The program failed on the mock runtime (bad config, a broken rule, a bug): exit 2.

    ``registrations`` holds what the program had registered before it failed, so callers can
    prove that invalid input left nothing half-created. ``location`` is the file and line of the
    user's program that raised (``__main__.py:12``), when the failure passed through it.
    """

    code = "program"

    def __init__(self, message: str, registrations: dict | None = None, location: str | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.registrations = registrations or {}
        self.location = location


def program_location(error: BaseException, program_dir: Path) -> str | None:
    """``file:line`` of the last frame of the user's program in the error's traceback, if any."""
    import traceback

    program_dir = program_dir.resolve()
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        if program_dir in path.parents and not any(part in (".venv", "site-packages", "venv") for part in path.parts):
            found = f"{path.relative_to(program_dir)}:{frame.lineno}"
    return found


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


@dataclass
class ProgramRun:
    project: PulumiProject
    monitor: RecordingMonitor
    outputs: dict[str, Any]
    log: list[tuple[str, str]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [message for level, message in self.log if level == "warning"]

    @property
    def unknown_invokes(self) -> list[str]:
        """Data-source reads the mock cloud could not answer: their values were unknown to the program."""
        return sorted(self.monitor.mocks.unknown_invokes)


@contextlib.contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while the program registers its resources.

    The SDK keeps every Output, future and task of a run alive until the run ends (about 100 KiB
    per resource), and each full collection walks all of it again: with the collector on, a
    run's time grows faster than its resource count (500 benchmark workloads took 42 s, 6x the
    time of 100; two thirds of it in the collector). Those collections free almost nothing, so
    pausing them costs about 10% more peak memory and makes the run linear (12 s for 500).
    Reference counting still frees everything acyclic; the cycles left are collected by the next
    full collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                # Hand what the run allocated to the oldest generation in one step (as if it had
                # survived the young collections it skipped), so re-enabling does not start with a
                # young collection walking every object of the run.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@contextlib.contextmanager
def _inside(directory: Path) -> Iterator[None]:
    """Run with the program's directory as cwd and first on sys.path, as the language host does."""
    previous_cwd, previous_path = os.getcwd(), list(sys.path)
    os.chdir(directory)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path


def run_program(project: PulumiProject, mocks: CloudMocks | None = None, *, preview: bool = True) -> ProgramRun:
    """Run the project's program for its stack on the mock runtime; raise ProgramError if it fails."""
    mocks = mocks or CloudMocks()
    monitor = RecordingMonitor(mocks)
    collector = _Collector()
    logger = logging.getLogger(f"fedctl.preview.program.{id(monitor)}")
    logger.propagate = False
    logger.addHandler(collector)

    saved_env = os.environ.pop("PULUMI_CONFIG", None)
    # A fresh root stack per run: set_mocks keeps an existing one, and with it the previous
    # program's exports.
    pulumi.runtime.settings.reset_options(project=project.name, stack=project.stack)
    pulumi.runtime.set_all_config(dict(project.config), list(project.secret_keys))
    pulumi.runtime.set_mocks(
        mocks, project=project.name, stack=project.stack, preview=preview, logger=logger, monitor=monitor,
    )
    outputs: dict[str, Any] = {}
    program = project.main / "__main__.py"
    if not program.exists():
        raise ProgramError(f"{project.main.name}/__main__.py not found: only Python programs can be previewed")

    @pulumi.runtime.test
    def execute():
        with _inside(project.main):
            runpy.run_path(str(program), run_name="__main__")
        exported = pulumi.runtime.settings.get_root_resource().outputs

        async def resolve() -> None:
            for key, value in exported.items():
                output = pulumi.Output.from_input(value)
                # A secret export is shown as a placeholder, whatever produced it.
                outputs[key] = SECRET_PLACEHOLDER if await output.is_secret() else await output.future()

        return asyncio.ensure_future(resolve())

    try:
        with paused_cyclic_gc():
            execute()
    except ImportError as error:
        # The program imports a package that is not installed: say which install gives it.
        raise missing_dependency_for(error, program_location(error, project.main)) from error
    except MissingDependencyError:
        raise
    except Exception as error:  # surface the program's own message, which names the field and rule
        message = str(error) if not isinstance(error, (KeyError, TypeError, AttributeError)) else \
            f"{type(error).__name__}: {error}"
        unanswered = [r.inputs.get("name") for r in monitor.registrations.values()
                      if r.type == "pulumi:pulumi:StackReference" and r.inputs.get("name") not in mocks.stack_outputs]
        if unanswered:
            message += (f" (the program reads {', '.join(map(str, unanswered))} by StackReference and no outputs "
                        "were given for it: pass --stack-reference NAME=outputs.json)")
        raise ProgramError(message, dict(monitor.registrations), program_location(error, project.main)) from error
    finally:
        pulumi.runtime.set_all_config({})
        if saved_env is not None:
            os.environ["PULUMI_CONFIG"] = saved_env
        logger.removeHandler(collector)
    return ProgramRun(project=project, monitor=monitor, outputs=outputs, log=collector.records)
