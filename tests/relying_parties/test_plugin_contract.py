"""A relying party is one plug-in: a kind that lives only in this file flows through every shared part.

``echo`` is a made-up relying party: it trusts each role by its exact ``sub`` for the audience
``echo:<greeting>``. Everything about it is defined here (its settings and check, audience,
component, exports, pack audit, plan lines, graph node, mock answer, rehearsal judge and runtime
exchange), registered for each test with ``KINDS.registered``, and the stack config, composition,
policy pack, plan, graph, rehearsal and CLI handle it without a single edit to a shared module.
The last tests check that the shared modules name no kind at all.
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
from dataclasses import replace
from typing import Any, Mapping

import pulumi
import pytest
from conftest import ROOT

from components.relying_parties import KINDS, Audit, PlannedTrust, RelyingPartyKind, ReviewHooks, Verdict
from components.rules import Violation
from components.stack.config import parse_stack_config
from fedctl.preview.engine import run_program
from fedctl.preview.graph import build_trust_graph
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, REJECT, rehearse
from fedctl.preview.report import build_plan

ECHO_TYPE = "echo:index:Listener"
COMMAND = "echo"
EXCHANGED: list[tuple[str, str]] = []


# -- the plug-in ----------------------------------------------------------------------------------

def echo_audience_of(settings: Mapping[str, Any]) -> str:
    """The one audience rule of the kind."""
    return f"echo:{settings.get('greeting', 'hello')}"


def check_echo(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    greeting = args.get("greeting", "hello")
    if not isinstance(greeting, str) or not greeting.isalpha():
        return [Violation(f"{prefix}{spell('greeting')}", greeting, "must be letters only", code="echo.greeting")]
    return []


def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    return echo_audience_of(settings)


class EchoTrust(pulumi.ComponentResource):
    def __init__(self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__("outbound-federation:index:EchoTrust", name, {}, opts)
        self.audience = pulumi.Output.from_input(echo_audience_of(args))
        for label, subject in args["subjects"].items():
            pulumi.CustomResource(ECHO_TYPE, f"{name}-{label}", {
                "issuer": args["issuer"], "subject": subject, "audience": self.audience, "greeting": None},
                opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"audience": self.audience})


def deploy(deployment: Any) -> dict:
    trust = EchoTrust(deployment.name, {**deployment.settings, "issuer": deployment.issuer,
                                        "subjects": dict(deployment.subjects)})
    return {"audience": trust.audience}


def audit_echo(resource: Any, config: Mapping[str, Any]) -> list[Violation]:
    if resource.type == ECHO_TYPE and "*" in str(resource.props.get("subject")):
        return [Violation(f"{resource.name}.subject", resource.props.get("subject"), "must name one role",
                          code="echo.subject.wildcard")]
    return []


def echo_trusts(review: Any) -> list[PlannedTrust]:
    found = []
    for listener in review.of_type(ECHO_TYPE):
        inputs = listener.inputs

        def judge(token: str, jwks: Mapping[str, Any], inputs=inputs) -> Verdict:
            claims, reason = review.verify(token, issuer=inputs["issuer"], audiences=[inputs["audience"]], jwks=jwks,
                                           algorithms=("RS256", "ES384"), subjects=[inputs["subject"]])
            return Verdict(claims is not None, reason or "echoes it")

        found.append(PlannedTrust(relying_party=f"echo listener {listener.name}", kind="echo",
                                  node_id=f"echo:{listener.name}", node_label=f"echo {listener.name}",
                                  node_shape="service", issuer=inputs["issuer"], audience=inputs["audience"],
                                  roles=[inputs["subject"]], judge=judge, judged_by="the echo rules"))
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loud", action="store_true")


def exchange(exported: Mapping[str, Any], workload: str, options: argparse.Namespace, *, supplier_for: Any,
             progress: Any = None) -> Any:
    from fedctl.exchange import ExchangeResult

    supplier = supplier_for(exported["audience"], "RS256")
    EXCHANGED.append((exported["audience"], supplier))
    return ExchangeResult("echo", workload, "the echo listener", None, 1)


def diagnose(exported: Mapping[str, Any], workload: str, token: Any, options: argparse.Namespace, *, kind: str,
             progress: Any = None) -> list[Any]:
    """``fedctl doctor``'s step 4: an echo listener trusts the audience it echoes."""
    from components.relying_parties.diagnosis import FAIL, PASS, Step

    echoed = token.claims.get("aud") == exported["audience"]
    return [Step("trust.echo", "Does the listener echo it", PASS if echoed else FAIL, "the listener's audience",
                 f"aud {token.claims.get('aud')}", finding="" if echoed else "trust.aud-differs")]


MODULE = __name__
ECHO = RelyingPartyKind(
    key="echo",
    title="echo listener",
    settings=("greeting",),
    check=check_echo,
    audience=f"{MODULE}:stack_audience",
    deploy=f"{MODULE}:deploy",
    audits=(Audit(name="echo-exact", description="Echo listeners name one role.", advice="echo-advice",
                  advice_description="Nothing to advise.", check=audit_echo),),
    review=ReviewHooks(
        describers={ECHO_TYPE: lambda inputs, outputs: [f"echoes {inputs.get('subject')}"]},
        trusts=echo_trusts,
        mock_resources={ECHO_TYPE: lambda name, inputs, cloud: {"greeting": "hello back"}},
    ),
    runtime=MODULE,
)


@pytest.fixture
def echo():
    with KINDS.registered(ECHO) as kind:
        yield kind


WORKLOADS = [{"name": "listener", "trustedServices": ["lambda.amazonaws.com"], "echo": {"greeting": "hi"}}]


def project_with(workloads: list[dict]) -> Any:
    project = load_project(ROOT, "dev")
    config = {**project.config, "outbound-federation:workloads": json.dumps(workloads)}
    return replace(project, config=config)


# -- it flows through every shared part -----------------------------------------------------------

def test_the_stack_config_takes_the_kinds_section_under_its_key(echo):
    spec = parse_stack_config({}, WORKLOADS, "dev")
    [party] = spec.relying_parties
    assert (party.kind, party.settings, party.workloads) == ("echo", {"greeting": "hi"}, ["listener"])


def test_the_kinds_settings_are_checked_with_their_config_paths(echo):
    with pytest.raises(Exception) as refused:
        parse_stack_config({}, [{**WORKLOADS[0], "echo": {"greting": "hi", "greeting": "h1"}}], "dev")
    assert sorted((v.field, v.code) for v in refused.value.violations) == [
        ("workloads[0].echo.greeting", "echo.greeting"), ("workloads[0].echo.greting", "config.unknown-setting")]


def test_an_unregistered_kind_is_an_unknown_setting():
    with pytest.raises(Exception) as refused:
        parse_stack_config({}, WORKLOADS, "dev")
    assert "config.unknown-setting" in [v.code for v in refused.value.violations]


@pytest.fixture
def run(echo):
    return run_program(project_with(WORKLOADS))


def test_the_stack_deploys_it_and_exports_its_audience(run):
    assert run.outputs["workloads"]["listener"]["echo"] == {"audience": "echo:hi"}


def test_the_role_pins_the_kinds_audience(run):
    [policy] = run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")
    pinned = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]["ForAllValues:StringEquals"]
    assert pinned == {"sts:IdentityTokenAudience": ["echo:hi"]}


def test_its_mock_answer_and_its_urn_come_from_the_kind(run):
    [listener] = run.monitor.of_type(ECHO_TYPE)
    assert listener.outputs["greeting"] == "hello back"
    assert listener.urn.endswith("outbound-federation:index:EchoTrust$echo:index:Listener::dev-listener-echo-dev-listener")


def test_the_plan_shows_its_lines(run, echo):
    plan = build_plan(run)
    lines = [line for resource in plan.resources for line in resource.details]
    assert any(line.startswith("echoes arn:aws:iam::123456789012:role/") for line in lines)


def test_the_graph_draws_its_node_with_the_audience_on_the_edge(run, echo):
    graph = build_trust_graph(run)
    assert graph.nodes["echo:dev-listener-echo-dev-listener"].kind == "service"
    assert [e.label for e in graph.edges if e.target == "echo:dev-listener-echo-dev-listener"] == ["echo:hi"]


def test_the_rehearsal_judges_it_with_its_own_judge(run, echo):
    result = rehearse(run)
    cases = {c.scenario: c for c in result.cases if c.relying_party.startswith("echo listener")}
    assert cases[INTENDED].outcome == ACCEPT and result.judges["echo listener dev-listener-echo-dev-listener"]
    assert {c.outcome for s, c in cases.items() if s != INTENDED} == {REJECT}
    assert result.wrong_cells == []


def test_the_policy_pack_runs_its_audit(echo):
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

    from fedctl.preview.policy_pack import build_policies

    [mandatory] = [p for p in build_policies() if p.name == "echo-exact"]
    reported = []
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(ECHO_TYPE, {"subject": "arn:aws:iam::123456789012:role/*"}, "urn", "l", options, None, {})
    mandatory.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == ["l.subject: 'arn:aws:iam::123456789012:role/*' must name one role"]


def test_fedctl_exchange_offers_it_and_hands_it_the_exported_audience(echo, tmp_path, capsys):
    from fedctl.cli import main

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"listener": {"echo": {"audience": "echo:hi"}}}}))
    EXCHANGED.clear()
    assert main(["exchange", "echo", "--workload", "listener", "--outputs", str(outputs), "--region", "eu-west-1",
                 "--loud"]) == 0
    assert EXCHANGED[0][0] == "echo:hi" and EXCHANGED[0][1].audiences == ("echo:hi",)
    assert "echo: the trust works" in capsys.readouterr().out


def test_fedctl_doctor_runs_its_diagnose_hook_and_its_exchange(echo, tmp_path, capsys, issuer, monkeypatch):
    from fedctl.cli import main
    from fedctl.testing.standins.iam import IamStandin
    from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"listener": {"roleArn": ROLE_ARN, "echo": {"audience": "echo:hi"}}}}))
    with IamStandin(issuer.issuer).serve() as iam, StsStandin(issuer).serve() as sts:
        code = main(["doctor", "--workload", "listener", "--outputs", str(outputs), "--json", "--sts-endpoint",
                     sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--loud"])
    steps = {s["code"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert code == 0 and steps["trust.echo"]["relyingParty"] == "echo"
    assert steps["exchange"]["status"] == "pass" and sts.requests[-1]["Audience"] == ["echo:hi"]


# -- the shared layer names no kind ---------------------------------------------------------------

SHARED = [ROOT / "__main__.py", ROOT / "components" / "checks.py", ROOT / "components" / "schema.py",
          ROOT / "components" / "__init__.py", ROOT / "fedctl" / "cli.py", ROOT / "fedctl" / "exchange.py",
          ROOT / "fedctl" / "doctor.py", ROOT / "components" / "relying_parties" / "diagnosis.py",
          ROOT / "fedctl" / "testing" / "mocks.py", *(ROOT / "components" / "stack").glob("*.py"),
          *(ROOT / "components" / "rules").glob("*.py"), *(ROOT / "fedctl" / "preview").glob("*.py"),
          *(ROOT / "policy").glob("*.py")]


def code_words(path) -> set[str]:
    """Every identifier and string constant a module's code uses (docstrings and comments aside)."""
    gc.collect()
    gc.disable()  # python/cpython#106905: a collection inside ast.parse can fail it on 3.11
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    finally:
        gc.enable()
    # Bare strings are documentation (docstrings, attribute docstrings): they may give examples.
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.add(node.value)
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            words |= {alias.name for alias in node.names} | {getattr(node, "module", None) or ""}
    return words


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_shared_module_names_no_relying_party(path):
    kinds = [kind for kind in KINDS]
    named = set()
    for word in code_words(path):
        text = word.lower()
        for kind in kinds:
            if kind.key.lower() in text.replace("_", "") or kind.title.lower() in text:
                named.add(word)
        if any(marker in text for marker in ("azuread", "azure-native", "gcp:", "entra", "pulumi_gcp", "pulumi_azure",
                                             "googleapis", "google-executable")):
            named.add(word)
    assert named == set()
