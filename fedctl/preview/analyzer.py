"""Drive a Python policy pack over the analyzer gRPC protocol, the way the Pulumi CLI does.

The pack runs as its own process (``python <pack>/__main__.py``), prints its port, and serves
``pulumirpc.Analyzer``. We ask it what policies it has (``GetAnalyzerInfo``), configure it
(``Configure``: each policy's enforcement level and properties, ``ConfigureStack``), then ask it to
analyze every resource (``Analyze``) and the whole stack (``AnalyzeStack``).

Example::

    with PolicyPackServer(Path("policy")) as pack:
        pack.configure({"token-grants-pinned": {"maxDurationSeconds": 900}})
        verdicts = pack.analyze_run(run)
"""

from __future__ import annotations

import difflib
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi.runtime.rpc import UNKNOWN

import components
from components.rules.errors import ConfigurationError

from ..testing.mocks import Registration

_LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
           analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
START_TIMEOUT_SECONDS = 60
CALL_TIMEOUT_SECONDS = 60


class PolicyPackError(ConfigurationError):
    """The pack could not be started, was misconfigured, or answered with an error (exit 2)."""

    code = "policy-pack"


LEVEL_NAMES = ("advisory", "mandatory", "disabled", "remediate")
BUNDLED_PACK = "fedctl.preview.policy_pack"
"""The pack shipped in the package, served by ``python -m`` when a project has no ``policy/`` of its own."""


@dataclass(frozen=True)
class Verdict:
    """One violation reported by a policy."""

    policy: str
    enforcement: str
    resource: str
    message: str
    urn: str = ""

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "enforcement": self.enforcement, "resource": self.resource,
                "message": self.message, "urn": self.urn}


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(_jsonable(values), struct)
    return struct


def _jsonable(value: Any) -> Any:
    if isinstance(value, Unknown) or value == UNKNOWN:
        return UNKNOWN  # the engine's sentinel: the pack then knows the value is unknown, not a string
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _finding(diagnostic: analyzer_pb2.AnalyzeDiagnostic) -> str:
    """pulumi-policy puts the policy's description before each finding; keep the finding alone."""
    prefix = diagnostic.description + "\n"
    message = diagnostic.message
    return message[len(prefix):] if diagnostic.description and message.startswith(prefix) else message


class PolicyPackServer:
    """A policy pack process and a gRPC channel to it; stops the process on exit."""

    def __init__(self, pack_dir: Path | None = None, *, project: str = "project", stack: str = "stack"):
        """``pack_dir``: a Python policy pack directory; None for the pack shipped in the package."""
        self.pack_dir = Path(pack_dir).resolve() if pack_dir is not None else None
        self.project, self.stack = project, stack
        self._process: subprocess.Popen | None = None
        self._channel: grpc.Channel | None = None
        self.info: analyzer_pb2.AnalyzerInfo | None = None

    @property
    def description(self) -> str:
        return f"{self.pack_dir.name}/" if self.pack_dir is not None else "the outbound-federation pack (bundled)"

    def __enter__(self) -> "PolicyPackServer":
        if self.pack_dir is None:
            command, cwd = [sys.executable, "-u", "-m", BUNDLED_PACK], None
        else:
            entry = self.pack_dir / "__main__.py"
            if not (self.pack_dir / "PulumiPolicy.yaml").exists() or not entry.exists():
                raise PolicyPackError(f"{self.pack_dir} is not a Python policy pack (it needs PulumiPolicy.yaml and "
                                      "__main__.py)")
            command, cwd = [sys.executable, "-u", str(entry)], self.pack_dir
        env = {**os.environ, "PULUMI_PROJECT": self.project, "PULUMI_STACK": self.stack, "PULUMI_DRY_RUN": "true"}
        # The pack imports the rules as the installed package; hand it the very package this
        # preview runs (a checkout, a worktree), so both judge with the same rules.
        package_root = str(Path(components.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
        self._process = subprocess.Popen(
            command, cwd=cwd, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT_SECONDS)
        return self

    def _read_port(self) -> int:
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self._process.stdout.readline()), daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            self.__exit__(None, None, None)
            raise PolicyPackError(f"the policy pack did not start within {START_TIMEOUT_SECONDS} s") from None
        try:
            return int(first.strip())
        except ValueError:
            self._process.kill()
            error = self._process.stderr.read().decode(errors="replace").strip().splitlines()
            raise PolicyPackError(f"the policy pack failed to start: {error[-1] if error else first!r}") from None

    def __exit__(self, *exc_info: object) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr) if self._process else ():
            stream.close()

    @property
    def policies(self) -> dict[str, str]:
        """Policy name -> its declared enforcement level."""
        return {p.name: _LEVELS.get(p.enforcementLevel, "advisory") for p in self.info.policies}

    def configure(self, properties: Mapping[str, Mapping[str, Any]] | None = None,
                  levels: Mapping[str, str] | None = None) -> None:
        """Send every policy its enforcement level and config, as the CLI does before analyzing.

        The pack replaces its whole config with what it receives, so every policy is sent, with
        its declared level unless ``levels`` overrides it (``all`` sets every policy's). A policy
        name the pack does not have, or an unknown level, is refused: a typo must not silently
        leave a policy as it was.
        """
        properties, levels = dict(properties or {}), dict(levels or {})
        known = list(self.policies)
        for name in list(properties) + [n for n in levels if n != "all"]:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                raise PolicyPackError(f"policy config names {name!r}, which the pack {self.description} does not have"
                                      + (f"; did you mean {close[0]!r}?" if close else f" (policies: {', '.join(known)})"))
        for name, level in levels.items():
            if level not in LEVEL_NAMES:
                raise PolicyPackError(f"policy config gives {name!r} the enforcement level {level!r}: use one of "
                                      f"{', '.join(LEVEL_NAMES)}")
        by_name = {v: k for k, v in _LEVELS.items()}
        config = {
            name: analyzer_pb2.PolicyConfig(
                enforcementLevel=by_name[levels.get(name, levels.get("all", declared))],
                properties=_struct(properties.get(name, {})),
            )
            for name, declared in self.policies.items()
        }
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config), timeout=CALL_TIMEOUT_SECONDS)
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack=self.stack, project=self.project, dry_run=True),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    def _verdicts(self, response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Verdict]:
        return [
            Verdict(policy=d.policyName, enforcement=_LEVELS.get(d.enforcementLevel, "advisory"),
                    resource=(d.urn or default_urn).split("::")[-1], message=_finding(d), urn=d.urn or default_urn)
            for d in response.diagnostics
        ]

    def analyze(self, resource: Registration) -> list[Verdict]:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type, properties=_struct(resource.inputs), urn=resource.urn, name=resource.name,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent),
        )
        return self._verdicts(self.stub.Analyze(request, timeout=CALL_TIMEOUT_SECONDS), resource.urn)

    def analyze_stack(self, resources: Iterable[Registration]) -> list[Verdict]:
        request = analyzer_pb2.AnalyzeStackRequest(resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type, properties=_struct(r.outputs or r.inputs), urn=r.urn, name=r.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
                parent=r.parent, dependencies=r.dependencies,
            )
            for r in resources
        ])
        return self._verdicts(self.stub.AnalyzeStack(request, timeout=CALL_TIMEOUT_SECONDS), "")

    def analyze_all(self, resources: Iterable[Registration]) -> list[Verdict]:
        """Every custom resource one by one, then the stack: what `pulumi preview --policy-pack` asks."""
        resources = sorted((r for r in resources if r.custom), key=lambda r: r.urn)
        verdicts = [v for r in resources for v in self.analyze(r)]
        return verdicts + self.analyze_stack(resources)
