"""The offline preview, start to finish: load, run on mocks, plan, policy verdicts, trust graph.

Example::

    result = run_preview(Path("."), "dev", progress=print)
    if result.mandatory_violations: ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .project import load_project
from .rehearsal import RehearsalResult, rehearse
from .analyzer import PolicyPackServer, Verdict
from .engine import ProgramRun, run_program
from ..testing.mocks import CloudMocks
from .graph import TrustGraph, build_trust_graph
from .report import Plan, build_plan
from .review import Review

# The toolkit's own pack, used when the previewed project has none of its own.
BUNDLED_POLICY_PACK = Path(__file__).resolve().parent.parent.parent / "policy"


@dataclass
class PreviewResult:
    run: ProgramRun
    plan: Plan
    verdicts: list[Verdict]
    graph: TrustGraph
    policy_pack: Path | None
    rehearsal: RehearsalResult | None = None

    @property
    def mandatory_violations(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.enforcement == "mandatory"]

    @property
    def failed(self) -> bool:
        """A mandatory policy is violated, or a trust lets in the wrong token (or keeps out the right one)."""
        return bool(self.mandatory_violations or (self.rehearsal and self.rehearsal.wrong_cells))


def default_policy_pack(project_dir: Path) -> Path | None:
    for candidate in (project_dir / "policy", BUNDLED_POLICY_PACK):
        if (candidate / "PulumiPolicy.yaml").exists():
            return candidate
    return None


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


def load_policy_config(path: Path | None) -> dict[str, Any]:
    """A ``--policy-pack-config`` file: ``{policy name: {property: value}}`` (CLI format)."""
    if path is None:
        return {}
    config = json.loads(Path(path).read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object of policy name -> config")
    # The CLI also accepts {"policy": {"enforcementLevel": ..., ...}}; the level is handled apart.
    return {name: {k: v for k, v in (value or {}).items() if k != "enforcementLevel"}
            for name, value in config.items() if isinstance(value, dict)}


def run_preview(
    project_dir: Path,
    stack: str,
    *,
    policy_pack: Path | None = None,
    policy_config: dict[str, Any] | None = None,
    rehearsal: bool = True,
    stack_references: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> PreviewResult:
    progress(f"loading {project_dir.name or project_dir}/Pulumi.yaml and Pulumi.{stack}.yaml")
    project = load_project(project_dir, stack)
    progress(f"running {project.name} ({stack}) on Pulumi's mock runtime")
    run = run_program(project, CloudMocks(stack_outputs=stack_references or {}))
    plan = build_plan(run)
    progress(f"planned {sum(1 for r in plan.resources if r.created)} resources")

    verdicts: list[Verdict] = []
    pack = policy_pack or default_policy_pack(project.directory)
    if pack is not None:
        progress(f"analyzing with policy pack {pack.name}/ over the analyzer protocol")
        with PolicyPackServer(pack, project=project.name, stack=stack) as server:
            server.configure(policy_config or {})
            verdicts = server.analyze_all(run.monitor.registrations.values())
    review = Review(run.monitor.registrations.values())
    progress("drawing the trust graph")
    graph = build_trust_graph(run, review)
    rehearsed = None
    if rehearsal:
        progress("rehearsing every trust with tokens from a local AWS-shaped issuer on 127.0.0.1")
        rehearsed = rehearse(run, review=review)
    return PreviewResult(run=run, plan=plan, verdicts=verdicts, graph=graph, policy_pack=pack, rehearsal=rehearsed)
