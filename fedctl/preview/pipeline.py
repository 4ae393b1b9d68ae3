"""The offline preview, start to finish: load, run on mocks, plan, policy verdicts, trust graph.

Example::

    result = run_preview(Path("."), "dev", progress=print)
    if result.mandatory_violations: ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from components.rules.facts import (
    ENABLEMENT_TYPE,
    GROUP_POLICY_TYPE,
    INSTANCE_PROFILE_TYPE,
    MANAGED_POLICY_TYPE,
    NATIVE_MANAGED_POLICY_TYPE,
    NATIVE_ROLE_POLICY_TYPE,
    NATIVE_ROLE_TYPE,
    ORGANIZATIONS_POLICY_TYPE,
    ROLE_POLICY_ATTACHMENT_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    USER_POLICY_TYPE,
)

from .project import load_project
from .rehearsal import RehearsalResult, rehearse
from .analyzer import PolicyPackError, PolicyPackServer, Verdict
from .engine import ProgramRun, run_program
from ..testing.mocks import CloudMocks
from .graph import TrustGraph, build_trust_graph
from .report import Plan, build_plan
from .review import Review

# What the AWS side of the pack and the rehearsal judge; each relying party adds its own types.
CORE_JUDGED_TYPES = frozenset({
    ROLE_TYPE, ROLE_POLICY_TYPE, MANAGED_POLICY_TYPE, USER_POLICY_TYPE, GROUP_POLICY_TYPE, ENABLEMENT_TYPE,
    ROLE_POLICY_ATTACHMENT_TYPE, NATIVE_ROLE_TYPE, NATIVE_ROLE_POLICY_TYPE, NATIVE_MANAGED_POLICY_TYPE,
    INSTANCE_PROFILE_TYPE, ORGANIZATIONS_POLICY_TYPE,
})


@dataclass(frozen=True)
class PolicyConfig:
    """A ``--policy-pack-config`` file: each policy's enforcement level and properties (CLI format)."""

    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)


@dataclass
class PreviewResult:
    run: ProgramRun
    plan: Plan
    verdicts: list[Verdict]
    graph: TrustGraph
    policy_pack: str | None
    """Which pack judged the program, or None when the user turned policies off (--no-policy-pack)."""
    rehearsal: RehearsalResult | None = None

    @property
    def mandatory_violations(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.enforcement == "mandatory"]

    @property
    def unjudged(self) -> list[Verdict]:
        """Policies that could not run on a resource because a value it needs is unknown offline."""
        return [v for v in self.verdicts if v.message.startswith("can't run policy")]

    @property
    def failed(self) -> bool:
        """A mandatory policy is violated, or a trust lets in the wrong token (or keeps out the right one)."""
        return bool(self.mandatory_violations or (self.rehearsal and self.rehearsal.wrong_cells))

    def not_judged(self) -> list[dict[str, str]]:
        """The resources no rule of ours judges (an S3 bucket, a VPC): a pass says nothing about them."""
        from components.relying_parties import KINDS

        judged = CORE_JUDGED_TYPES | KINDS.judged_types()
        return [{"type": r.type, "name": r.name} for r in self.plan.resources
                if r.custom and not r.read and r.type not in judged and not r.type.startswith("pulumi:")]

    def to_document(self) -> dict[str, Any]:
        """The report every face is rendered from (``fedctl preview --json``)."""
        unjudged = self.unjudged
        verdicts = sorted((v for v in self.verdicts if v not in unjudged),
                          key=lambda v: (v.enforcement != "mandatory", v.policy, v.urn, v.message))
        return {
            "project": self.plan.project,
            "stack": self.plan.stack,
            "failed": self.failed,
            "resources": [r.to_json() for r in self.plan.resources],
            "violations": [v.to_json() for v in verdicts],
            "mandatoryViolations": len(self.mandatory_violations),
            "unjudged": [v.to_json() for v in unjudged],
            "policyPack": self.policy_pack,
            "notJudged": self.not_judged() if self.policy_pack else [],
            "unknownInvokes": self.run.unknown_invokes,
            "outputs": self.plan.outputs,
            "warnings": self.plan.warnings,
            "trustGraph": self.graph.to_json(),
            "rehearsal": self.rehearsal.to_json() if self.rehearsal else None,
        }


def default_policy_pack(project_dir: Path) -> Path | None:
    """The project's own ``policy/`` pack, or None for the one shipped in the package."""
    candidate = project_dir / "policy"
    return candidate if (candidate / "PulumiPolicy.yaml").exists() else None


def load_stack_reference(spec: str) -> tuple[str, dict[str, Any]]:
    """``org/project/stack=outputs.json``: the outputs a referenced stack would give.

    The file is what ``pulumi stack output --json`` prints, or the ``outputs`` of a
    ``fedctl preview --json`` report.
    """
    name, separator, path = spec.partition("=")
    if not separator or not name or not path:
        raise ValueError(f"--stack-reference {spec!r}: expected NAME=FILE (e.g. acme/outbound-federation/dev=out.json)")
    document = json.loads(Path(path).read_text())
    if isinstance(document, dict) and isinstance(document.get("outputs"), dict) and "resources" in document:
        document = document["outputs"]  # a fedctl preview --json report
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object of stack outputs")
    return name, document


def load_policy_config(path: Path | None) -> PolicyConfig:
    """A ``--policy-pack-config`` file as the Pulumi CLI reads it.

    Each key is a policy name (or ``all``) and its value an enforcement level (``"disabled"``) or
    an object with an optional ``enforcementLevel`` and the policy's properties.
    """
    if path is None:
        return PolicyConfig()
    try:
        config = json.loads(Path(path).read_text())
    except ValueError as error:
        raise PolicyPackError(f"{path}: not JSON: {error}") from None
    if not isinstance(config, dict):
        raise PolicyPackError(f"{path}: expected a JSON object of policy name -> level or config")
    properties: dict[str, dict[str, Any]] = {}
    levels: dict[str, str] = {}
    for name, value in config.items():
        if isinstance(value, str):
            levels[name] = value
        elif isinstance(value, dict):
            if "enforcementLevel" in value:
                levels[name] = value["enforcementLevel"]
            properties[name] = {k: v for k, v in value.items() if k != "enforcementLevel"}
        else:
            raise PolicyPackError(f"{path}: {name!r} must be an enforcement level or an object")
    return PolicyConfig(properties=properties, levels=levels)


def run_preview(
    project_dir: Path,
    stack: str,
    *,
    policy_pack: Path | None = None,
    use_policy_pack: bool = True,
    policy_config: PolicyConfig | None = None,
    rehearsal: bool = True,
    stack_references: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> PreviewResult:
    project = load_project(project_dir, stack)
    progress(f"loaded {project.name} ({stack}) from {project.directory.name or project.directory}/Pulumi.yaml "
             f"and {project.stack_file.name}")
    progress(f"running {project.name} ({stack}) on Pulumi's mock runtime")
    run = run_program(project, CloudMocks(stack_outputs=stack_references or {}))
    plan = build_plan(run)
    progress(f"planned {sum(1 for r in plan.resources if r.created)} resources")

    verdicts: list[Verdict] = []
    pack_used = None
    if use_policy_pack:
        with PolicyPackServer(policy_pack or default_policy_pack(project.directory), project=project.name,
                              stack=stack) as server:
            progress(f"analyzing with {server.description} over the analyzer protocol")
            config = policy_config or PolicyConfig()
            server.configure(config.properties, config.levels)
            verdicts = server.analyze_all(run.monitor.registrations.values())
            pack_used = server.description
    with Review(run.monitor.registrations.values()) as review:
        progress("drawing the trust graph")
        graph = build_trust_graph(run, review)
        rehearsed = None
        if rehearsal:
            progress("rehearsing every trust with tokens from a local AWS-shaped issuer on 127.0.0.1")
            rehearsed = rehearse(run, review=review)
    return PreviewResult(run=run, plan=plan, verdicts=verdicts, graph=graph, policy_pack=pack_used,
                         rehearsal=rehearsed)
