"""The three faces of a preview: text for a terminal, Markdown for a pull request, JSON for machines.

All three are rendered from one JSON document (``fedctl preview --json``), by this module alone,
with no Pulumi SDK: so the pull-request comment can be rendered by the *base* branch's trusted
code from the report a pull request's run produced. Every string in the document may come from
the program under review, so the Markdown renderer escapes everything it did not write itself:
no link, no mention, no HTML, no code fence of the report's can escape its place.

The Markdown puts the verdict, what was judged and what was not, and the findings first; the
rehearsal, the trust graph, the plan and the outputs follow in collapsed sections. GitHub caps a
comment at 65,536 characters: a section that does not fit is dropped whole, and the comment says
so and where the full report is.

Nothing rendered here is secret: config secrets were replaced by placeholders when the project was
loaded, and rehearsal tokens never leave the rehearsal (only verdicts do).

Example::

    python -m fedctl.preview.render --markdown --limit 65000 preview.json > comment.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Callable

COMMENT_LIMIT = 65_536
"""GitHub's limit on the body of an issue or pull-request comment, in characters."""
# Trust-graph node kinds -> (Mermaid brackets, graphviz shape). Relying parties pick one of the last five.
SHAPES = {
    "issuer": (('(["', '"])'), "oval"),
    "role": (('["', '"]'), "box"),
    "audience": (('>"', '"]'), "note"),
    "app": (('[/"', '"/]'), "component"),
    "identity": (('[/"', '"/]'), "component"),
    "pool": (('{{"', '"}}'), "hexagon"),
    "service": (('>"', '"]'), "cds"),
    "cluster": (('[["', '"]]'), "box3d"),
}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# Control characters (but tab and newline) and the bidirectional overrides that make text read other than it is.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# -- escaping what the program under review wrote ---------------------------------------------------

def _clean(value: Any) -> str:
    """The value as a string without control characters (a removed one could join two backtick runs)."""
    return _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))


def _short_runs(text: str) -> str:
    """Backtick runs of 15 at most (a zero-width space between): cmark-gfm keeps a fence's length in 8 bits
    and an inline code span's in 1,000, so a longer fence would be closed by a shorter run of the text."""
    return re.sub("`{16,}", lambda run: "\u200b".join(re.findall("`{1,15}", run[0])), text)


def md_text(value: Any) -> str:
    """Plain text in Markdown: no formatting, link, HTML or mention, on one line.

    A ``:`` before ``//`` is escaped, so no ``https://`` starts an autolink; a word joiner follows ``@``,
    which starts neither an e-mail autolink nor a mention (an entity would not do: it is decoded first).
    """
    text = " ".join(_clean(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text).replace("://", "\\://")
    return text.replace("@", "@\u2060")


def md_code(value: Any) -> str:
    """Inline code that the value cannot close: a fence longer than any run of backticks in it."""
    text = _short_runs(" ".join(_clean(value).split()))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def md_block(lines: list[str], language: str = "") -> list[str]:
    """A fenced block its content cannot close."""
    lines = [_short_runs(_clean(line)) for line in lines]
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}|~{3,}", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def md_cell_code(value: Any) -> str:
    """Inline code in a table cell: its pipes escaped, which GFM splits cells at even inside code."""
    return md_code(value).replace("|", "\\|")


def _mermaid_text(text: str) -> str:
    """A Mermaid label: quotes, brackets and markup characters as entity codes."""
    return "".join(ch if ch.isalnum() or ch in " .:/_-@," else f"#{ord(ch)};" for ch in str(text))


# -- the summary every face shares -----------------------------------------------------------------

def summary_line(document: dict[str, Any]) -> str:
    created = sum(1 for r in document["resources"] if r["custom"] and not r["read"])
    components = sum(1 for r in document["resources"] if not r["custom"] and r["parent"] is None)
    mandatory = document["mandatoryViolations"]
    advisory = len(document["violations"]) - mandatory
    rehearsal = document.get("rehearsal")
    wrong = rehearsal["wrongCells"] if rehearsal else 0
    reasons = [text for text, count in (("mandatory policy violations", mandatory), ("wrong rehearsal cells", wrong))
               if count]
    unjudged = len(document.get("unjudged") or [])
    verdict = f"FAILED: {' and '.join(reasons)}" if reasons else \
        f"could not check everything: {unjudged} policy judgements need unknown values" if unjudged else "passed"
    policies = (f"{mandatory} mandatory and {advisory} advisory policy findings" if document.get("policyPack")
                else "no policy pack run (--no-policy-pack)")
    rehearsed = ""
    if rehearsal:
        rehearsed = f"; {len(rehearsal['cases'])} rehearsal cases, {wrong} wrong"
        if rehearsal.get("pending"):
            rehearsed += f", {rehearsal['pending']} manual steps pending"
    return f"{created} resources to create in {components} components; {policies}{rehearsed}; preview {verdict}."


def judged_lines(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(heading, text) of what was judged, what was not, and what needs a person: plain text, unescaped."""
    lines = []
    pack = document.get("policyPack")
    lines.append(("Policies", f"judged by {pack}" if pack else "not run: no policy judged this program"))
    rehearsal = document.get("rehearsal")
    if rehearsal:
        judges = rehearsal.get("judges") or {}
        lines.append(("Rehearsal", f"{len(judges)} relying parties judged" if judges else "no relying party to judge"))
        for skipped in rehearsal.get("skipped") or []:
            lines.append(("Not rehearsed", skipped))
        for case in rehearsal["cases"]:
            if case["outcome"] == "pending":
                lines.append(("Manual step pending", f"{case['relyingParty']}: {case['reason']}"))
    else:
        lines.append(("Rehearsal", "not run (--no-rehearsal)"))
    not_judged = document.get("notJudged") or []
    if not_judged:
        counted: dict[str, int] = {}
        for resource in not_judged:
            counted[resource["type"]] = counted.get(resource["type"], 0) + 1
        kinds = ", ".join(f"{t} ({n})" if n > 1 else t for t, n in sorted(counted.items()))
        lines.append(("Not judged by this pack", f"{len(not_judged)} resources outside federation: {kinds}. "
                                                 "Passing here says nothing about their security."))
    for verdict in document.get("unjudged") or []:
        lines.append(("Could not judge", f"{verdict['policy']} on {verdict['resource'] or 'the stack'}: a value it "
                                         "needs is only known after deployment"))
    for token in document.get("unknownInvokes") or []:
        lines.append(("Unknown", f"{token}: not answered offline; values from it are unknown"))
    return lines


# -- text ------------------------------------------------------------------------------------------

def _flags(resource: dict[str, Any]) -> str:
    flags = [f for f, on in (("protected", resource["protect"]), ("retained on delete", resource["retainOnDelete"]),
                             ("adopted", bool(resource.get("importId")))) if on]
    return f"  [{', '.join(flags)}]" if flags else ""


def short_type(type_token: str) -> str:
    package, module, name = (type_token.split(":") + ["", ""])[:3]
    module = module.split("/")[0]
    return f"{package}:{module}/{name}" if module and module != "index" else f"{package}:{name}"


def plan_lines(document: dict[str, Any], bullet: str = "+", indent: str = "  ") -> list[str]:
    resources = document["resources"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in resources:
        children.setdefault(resource["top"], []).append(resource)
    lines = []
    for component in (r for r in resources if r["top"] is None and not r["custom"]):
        lines.append(f"{component['name']}  ({short_type(component['type'])}){_flags(component)}")
        lines += [f"{indent}{detail}" for detail in component["details"]]
        for member in children.get(component["urn"], []):
            lines.append(f"{indent}{bullet} {short_type(member['type'])}  {member['name']}{_flags(member)}")
            lines += [f"{indent * 3}{detail}" for detail in member["details"]]
        lines.append("")
    for resource in (r for r in resources if r["top"] is None and r["custom"]):
        mark = "=" if resource["read"] else bullet
        lines.append(f"{mark} {short_type(resource['type'])}  {resource['name']}{_flags(resource)}"
                     + ("  (read, not created)" if resource["read"] else ""))
        lines += [f"{indent * 2}{detail}" for detail in resource["details"]]
    return lines


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


def _rehearsal_groups(rehearsal: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in rehearsal["cases"]:
        groups.setdefault(case["relyingParty"], []).append(case)
    return list(groups.items())


def render_text(document: dict[str, Any]) -> str:
    lines = [f"Preview of {document['project']} (stack {document['stack']}): offline, on Pulumi's mock runtime. "
             "Nothing was created.", ""]
    lines += plan_lines(document)
    if document["warnings"]:
        lines += ["Warnings:"] + [f"  ! {w}" for w in document["warnings"]] + [""]
    pack = document.get("policyPack")
    lines.append(f"Policies ({pack}):" if pack else "Policies: none run (--no-policy-pack)")
    if pack and not document["violations"]:
        lines.append("  every policy passed")
    for verdict in document["violations"]:
        lines.append(f"  [{verdict['enforcement']}] {verdict['policy']} on {verdict['resource'] or 'the stack'}:")
        lines += [f"      {line}" for line in verdict["message"].splitlines()]
    lines.append("")
    rehearsal = document.get("rehearsal")
    if rehearsal:
        lines.append(f"Trust rehearsal: {rehearsal['tokensMinted']} tokens from a local AWS-shaped issuer on "
                     "127.0.0.1, judged by each relying party's rules:")
        for party, cases in _rehearsal_groups(rehearsal):
            lines.append(f"  {party}  (judged by {rehearsal['judges'].get(party, 'its rules')})")
            for case in cases:
                mark = "ok   " if case["ok"] and case["outcome"] != "pending" else "WRONG" if not case["ok"] else "TODO "
                lines.append(f"    {mark} {case['role'].rsplit('/', 1)[-1]:<40.40} {case['scenario']:<28} "
                             f"{case['outcome']} ({case['reason']})")
        lines += [f"  note: {note}" for note in rehearsal["notes"]] + [""]
    graph = document["trustGraph"]
    lines += ["Trust graph:"] + [f"  {e['source'].split(':', 1)[-1]} -> {e['target'].split(':', 1)[-1]}"
                                 + (f"  ({e['label']})" if e["label"] else "") for e in graph["edges"]]
    lines += ["", "Outputs:"] + _output_lines(document["outputs"], "  ") + [""]
    lines += [f"{heading}: {text}" for heading, text in judged_lines(document)]
    lines += ["", summary_line(document)]
    return "\n".join(lines)


# -- Markdown --------------------------------------------------------------------------------------

def mermaid(graph: dict[str, Any]) -> list[str]:
    """The trust graph as Mermaid, every label escaped."""
    ids = {node["id"]: f"n{index}" for index, node in enumerate(graph["nodes"])}
    lines = ["flowchart LR"]
    for node in graph["nodes"]:
        left, right = SHAPES.get(node["kind"], SHAPES["role"])[0]
        text = _mermaid_text(node["label"]) + (f"<br/>{_mermaid_text(node['detail'])}" if node["detail"] else "")
        lines.append(f"  {ids[node['id']]}{left}{text}{right}")
    for edge in graph["edges"]:
        arrow = f' -- "{_mermaid_text(edge["label"])}" --> ' if edge["label"] else " --> "
        lines.append(f"  {ids[edge['source']]}{arrow}{ids[edge['target']]}")
    return lines


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _findings_section(document: dict[str, Any]) -> list[str]:
    if not document["violations"]:
        return []
    lines = ["### Policy findings", "", "| level | policy | resource | finding |", "|---|---|---|---|"]
    for verdict in document["violations"]:
        lines.append(f"| {md_text(verdict['enforcement'])} | {md_cell_code(verdict['policy'])} | "
                     f"{md_cell_code(verdict['resource'] or 'stack')} | {md_text(verdict['message'])} |")
    return lines + [""]


def _rehearsal_section(document: dict[str, Any]) -> list[str]:
    rehearsal = document.get("rehearsal")
    if not rehearsal or not rehearsal["cases"]:
        return []
    body = [f"{int(rehearsal['tokensMinted'])} tokens from a local AWS-shaped issuer, judged by each relying party's "
            "documented rules.", ""]
    for party, cases in _rehearsal_groups(rehearsal):
        body += [f"**{md_text(party)}** (judged by {md_text(rehearsal['judges'].get(party, 'its rules'))})", "",
                 "| | role | token | expected | outcome | why |", "|---|---|---|---|---|---|"]
        for case in cases:
            mark = "⏳" if case["outcome"] == "pending" else "✅" if case["ok"] else "❌"
            body.append(f"| {mark} | {md_cell_code(case['role'].split(':role/')[-1])} | {md_text(case['scenario'])} | "
                        f"{md_text(case['expected'])} | {md_text(case['outcome'])} | {md_text(case['reason'])} |")
        body.append("")
    body += [f"- {md_text(note)}" for note in rehearsal["notes"]]
    wrong = int(rehearsal["wrongCells"])
    return _details(f"Trust rehearsal: {len(rehearsal['cases'])} cases, {wrong} wrong", body)


def _graph_section(document: dict[str, Any]) -> list[str]:
    return _details("Trust graph", md_block(mermaid(document["trustGraph"]), "mermaid"))


def _plan_section(document: dict[str, Any]) -> list[str]:
    created = sum(1 for r in document["resources"] if r["custom"] and not r["read"])
    return _details(f"Planned resources ({created} to create)", md_block(plan_lines(document)))


def _outputs_section(document: dict[str, Any]) -> list[str]:
    return _details("Stack outputs", md_block(json.dumps(document["outputs"], indent=2, default=str).splitlines(),
                                              "json"))


def _warnings_section(document: dict[str, Any]) -> list[str]:
    if not document["warnings"]:
        return []
    return _details(f"Warnings ({len(document['warnings'])})", [f"- {md_text(w)}" for w in document["warnings"]])


SECTIONS: list[tuple[str, Callable[[dict[str, Any]], list[str]]]] = [
    ("policy findings", _findings_section),
    ("trust rehearsal", _rehearsal_section),
    ("warnings", _warnings_section),
    ("trust graph", _graph_section),
    ("planned resources", _plan_section),
    ("stack outputs", _outputs_section),
]


def render_markdown(document: dict[str, Any], *, limit: int = COMMENT_LIMIT,
                    full_report: str = "the job summary of the preview run") -> str:
    """The pull-request comment: the verdict and what was judged first, then whole sections that fit."""
    failed = document["failed"]
    head = [f"## {':x:' if failed else ':white_check_mark:'} Offline preview of {md_code(document['project'])} "
            f"(stack {md_code(document['stack'])})", "",
            "Run on Pulumi's mock runtime, with no cloud credentials. Nothing was created.", "",
            f"**{md_text(summary_line(document))}**", ""]
    head += [f"- **{heading}**: {md_text(text)}" for heading, text in judged_lines(document)] + [""]
    kept: list[str] = list(head)
    dropped: list[str] = []
    reserve = 400  # room for the note saying what was dropped
    for name, build in SECTIONS:
        section = build(document)
        if not section:
            continue
        if len("\n".join(kept + section)) + reserve <= limit:
            kept += section
        else:
            dropped.append(name)
    if dropped:
        kept += [f"_Left out to fit GitHub's comment limit: {', '.join(dropped)}. The full report is in "
                 f"{md_text(full_report)}._"]
    return "\n".join(kept)


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str)


def main(argv: list[str] | None = None) -> int:
    """Render a ``fedctl preview --json`` report: what the trusted comment workflow runs."""
    parser = argparse.ArgumentParser(prog="python -m fedctl.preview.render",
                                     description="Render a fedctl preview JSON report as text or Markdown.")
    parser.add_argument("report", help="the report (fedctl preview --json), or - for stdin")
    face = parser.add_mutually_exclusive_group()
    face.add_argument("--markdown", action="store_true")
    face.add_argument("--text", action="store_true")
    parser.add_argument("--limit", type=int, default=COMMENT_LIMIT, help="most characters of Markdown to print")
    parser.add_argument("--full-report", default="the job summary of the preview run",
                        help="where the full report is, for the note when sections are left out")
    options = parser.parse_args(argv)
    text = sys.stdin.read() if options.report == "-" else open(options.report, encoding="utf-8").read()
    document = json.loads(text)
    if options.markdown:
        print(render_markdown(document, limit=options.limit, full_report=options.full_report))
    else:
        print(render_text(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
