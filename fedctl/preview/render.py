"""The three faces of a preview: text for a terminal, Markdown for a pull request, JSON for machines.

Nothing rendered here is secret: config secrets were replaced by placeholders when the project was
loaded, and rehearsal tokens never leave the rehearsal (only verdicts do).
"""

from __future__ import annotations

import json
from typing import Any

from .pipeline import PreviewResult
from .report import PlannedResource, Plan, _short_type


def _flags(resource: PlannedResource) -> str:
    flags = [f for f, on in (("protected", resource.protect), ("retained on delete", resource.retain_on_delete)) if on]
    return f"  [{', '.join(flags)}]" if flags else ""


def _output_lines(value: Any, indent: str) -> list[str]:
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{indent}{key}:")
                lines += _output_lines(item, indent + "  ")
            else:
                lines.append(f"{indent}{key}: {item}")
        return lines
    if isinstance(value, list):
        return [f"{indent}- {item}" for item in value]
    return [f"{indent}{value}"]


def _plan_lines(plan: Plan, bullet: str, indent: str) -> list[str]:
    lines = []
    for group in plan.groups:
        lines.append(f"{group.component.name}  ({_short_type(group.component.type)}){_flags(group.component)}")
        lines += [f"{indent}{detail}" for detail in group.component.details]
        for member in group.members:
            lines.append(f"{indent}{bullet} {_short_type(member.type)}  {member.name}{_flags(member)}")
            lines += [f"{indent}{indent}{indent}{detail}" for detail in member.details]
        lines.append("")
    for resource in plan.loose:
        mark = "=" if resource.read else bullet
        lines.append(f"{mark} {_short_type(resource.type)}  {resource.name}{_flags(resource)}"
                     + ("  (read, not created)" if resource.read else ""))
        lines += [f"{indent}{indent}{detail}" for detail in resource.details]
    return lines


def summary_line(result: PreviewResult) -> str:
    custom = sum(1 for r in result.plan.resources if r.created)
    mandatory = len(result.mandatory_violations)
    advisory = len(result.verdicts) - mandatory
    wrong = len(result.rehearsal.wrong_cells) if result.rehearsal else 0
    reasons = [text for text, count in (("mandatory policy violations", mandatory), ("wrong rehearsal cells", wrong))
               if count]
    verdict = f"FAILED: {' and '.join(reasons)}" if reasons else "passed"
    rehearsed = (f"; {len(result.rehearsal.cases)} rehearsal cases, {wrong} wrong" if result.rehearsal else "")
    return (f"{custom} resources to create in {len(result.plan.groups)} components; "
            f"{mandatory} mandatory and {advisory} advisory policy findings{rehearsed}; preview {verdict}.")


def _rehearsal_groups(result: PreviewResult) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for case in result.rehearsal.cases:
        groups.setdefault(case.relying_party, []).append(case)
    return list(groups.items())


def _rehearsal_text(result: PreviewResult) -> list[str]:
    if result.rehearsal is None:
        return []
    rehearsal = result.rehearsal
    lines = [f"Trust rehearsal: {rehearsal.tokens_minted} tokens from a local AWS-shaped issuer on 127.0.0.1, "
             "judged by each relying party's rules:"]
    for party, cases in _rehearsal_groups(result):
        lines.append(f"  {party}")
        for case in cases:
            mark = "ok   " if case.ok else "WRONG"
            lines.append(f"    {mark} {case.role.rsplit('/', 1)[-1]:<40.40} {case.scenario:<28} "
                         f"{case.outcome}ed ({case.reason})")
    lines += [f"  note: {note}" for note in rehearsal.notes]
    return lines + [""]


def _rehearsal_markdown(result: PreviewResult) -> list[str]:
    if result.rehearsal is None:
        return []
    lines = ["### Trust rehearsal", "",
             f"{result.rehearsal.tokens_minted} tokens from a local AWS-shaped issuer, judged by each relying "
             "party's documented rules.", ""]
    for party, cases in _rehearsal_groups(result):
        lines += [f"**{party}**", "", "| | role | token | expected | outcome | why |", "|---|---|---|---|---|---|"]
        for case in cases:
            lines.append(f"| {'✅' if case.ok else '❌'} | `{case.role.split(':role/')[-1]}` | {case.scenario} | "
                         f"{case.expected} | {case.outcome} | {case.reason} |")
        lines.append("")
    lines += [f"- {note}" for note in result.rehearsal.notes]
    return lines + [""]


def render_text(result: PreviewResult) -> str:
    plan = result.plan
    lines = [f"Preview of {plan.project} (stack {plan.stack}): offline, on Pulumi's mock runtime. "
             "Nothing was created.", ""]
    lines += _plan_lines(plan, "+", "  ")
    if plan.warnings:
        lines += ["Warnings:"] + [f"  ! {w}" for w in plan.warnings] + [""]
    lines.append("Policies" + (f" ({result.policy_pack.name}/):" if result.policy_pack else ": no policy pack found"))
    if not result.verdicts and result.policy_pack:
        lines.append("  every policy passed")
    for verdict in result.verdicts:
        lines.append(f"  [{verdict.enforcement}] {verdict.policy} on {verdict.resource or 'the stack'}:")
        lines += [f"      {line}" for line in verdict.message.splitlines()]
    lines += [""]
    lines += _rehearsal_text(result)
    lines += ["Trust graph:"] + [f"  {e.source.split(':', 1)[-1]} -> {e.target.split(':', 1)[-1]}"
                                 + (f"  ({e.label})" if e.label else "") for e in result.graph.edges]
    lines += ["", "Outputs:"] + _output_lines(plan.outputs, "  ") + ["", summary_line(result)]
    return "\n".join(lines)


def render_markdown(result: PreviewResult) -> str:
    plan = result.plan
    status = ":x:" if result.failed else ":white_check_mark:"
    lines = [f"## {status} Offline preview of `{plan.project}` (stack `{plan.stack}`)", "",
             "Run on Pulumi's mock runtime, with no cloud credentials. Nothing was created.", "",
             f"**{summary_line(result)}**", ""]
    if result.verdicts:
        lines += ["### Policy findings", "", "| level | policy | resource | finding |", "|---|---|---|---|"]
        for verdict in result.verdicts:
            message = verdict.message.replace("|", "\\|").replace("\n", "<br>")
            lines.append(f"| {verdict.enforcement} | `{verdict.policy}` | `{verdict.resource or 'stack'}` | {message} |")
        lines.append("")
    lines += _rehearsal_markdown(result)
    lines += ["### Trust graph", "", "```mermaid", result.graph.mermaid(), "```", ""]
    lines += ["<details><summary>Planned resources</summary>", "", "```"]
    lines += _plan_lines(plan, "+", "  ")
    lines += ["```", "</details>", ""]
    if plan.warnings:
        lines += ["### Warnings", ""] + [f"- {w}" for w in plan.warnings] + [""]
    lines += ["<details><summary>Stack outputs</summary>", "", "```json",
              json.dumps(plan.outputs, indent=2, default=str), "```", "</details>"]
    return "\n".join(lines)


def render_json(result: PreviewResult) -> str:
    plan = result.plan
    document = {
        "project": plan.project,
        "stack": plan.stack,
        "resources": [r.to_json() for r in plan.resources],
        "violations": [v.to_json() for v in result.verdicts],
        "mandatoryViolations": len(result.mandatory_violations),
        "outputs": plan.outputs,
        "warnings": plan.warnings,
        "trustGraph": result.graph.to_json(),
        "policyPack": result.policy_pack.name if result.policy_pack else None,
        "rehearsal": result.rehearsal.to_json() if result.rehearsal else None,
        "failed": result.failed,
    }
    return json.dumps(document, indent=2, default=str)
