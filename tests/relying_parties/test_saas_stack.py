"""SaaS presets through the stack: the audience pinned, the exports to paste, no cloud resource, and a
manual step in the plan, the graph and the rehearsal."""

from __future__ import annotations

import json
from dataclasses import replace

import pulumi
import pytest
from conftest import ROOT, deploy

from components.relying_parties.saas.component import SaasManualTrust
from components.rules.errors import ValidationError
from components.stack.config import parse_stack_config
from fedctl.preview.engine import run_program
from fedctl.preview.graph import build_trust_graph
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, PENDING, REJECT, rehearse
from fedctl.preview.render import judged_lines, render_text
from fedctl.preview.report import build_plan
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
RECORD = "outbound-federation:index:SaasManualTrust"
LAMBDA = {"trustedServices": ["lambda.amazonaws.com"]}
WORKLOADS = [
    {"name": "chat", **LAMBDA, "saas": {"preset": "openai"}},
    {"name": "summarize", **LAMBDA, "saas": {"preset": "openai"}},
    {"name": "claude", **LAMBDA, "saas": {"preset": "anthropic"}},
    {"name": "billing", **LAMBDA, "saas": {"preset": "generic", "audience": "https://api.billing.example"}},
]


def run_with(workloads):
    project = load_project(ROOT, "dev")
    return run_program(replace(project, config={**project.config,
                                                 "outbound-federation:workloads": json.dumps(workloads)}))


@pytest.fixture(scope="module")
def stack_run():
    return run_with(WORKLOADS)


def exported(run, workload):
    return run.outputs["workloads"][workload]["saas"]


def pinned_audiences(run, workload):
    role_name = run.outputs["workloads"][workload]["roleName"]
    [policy] = [p for p in run.monitor.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role_name]
    return json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]["ForAllValues:StringEquals"][
        "sts:IdentityTokenAudience"]


# -- the config -------------------------------------------------------------------------------------

def test_config_errors_name_the_setting_as_written():
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, [{"name": "wa", **LAMBDA, "saas": {"preset": "gemini"}},
                                {"name": "wb", **LAMBDA, "saas": {"preset": "generic"}},
                                {"name": "wc", **LAMBDA, "saas": {"preset": "generic", "audience": "https://x/*"}},
                                {"name": "wd", **LAMBDA, "saas": {"preset": "openai", "audiance": "x"}}], "dev")
    assert {(v.field, v.code) for v in refused.value.violations} == {
        ("workloads[0].saas.preset", "saas.preset.unknown"),
        ("workloads[1].saas.audience", "saas.audience.missing"),
        ("workloads[2].saas.audience", "saas.audience.wildcard"),
        ("workloads[3].saas.audiance", "config.unknown-setting")}


def test_workloads_of_one_account_and_preset_share_one_provider_and_count_against_its_limit():
    many = [{"name": f"w{i}", **LAMBDA, "saas": {"preset": "openai"}} for i in range(51)]
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, many, "dev")
    assert [(v.field, v.code) for v in refused.value.violations] == [("workloads[0].saas.subjects",
                                                                      "saas.mappings.count")]


# -- exports and the role ---------------------------------------------------------------------------

@pytest.mark.parametrize("workload, audience", [
    ("chat", "https://api.openai.com/v1"), ("claude", "https://api.anthropic.com"),
    ("billing", "https://api.billing.example")])
def test_the_role_pins_exactly_the_vendors_audience(stack_run, workload, audience):
    assert pinned_audiences(stack_run, workload) == [audience]
    assert exported(stack_run, workload)["audience"] == audience


def test_the_exports_hold_what_the_vendor_needs_for_each_role(stack_run):
    openai = exported(stack_run, "chat")
    roles = {w: stack_run.outputs["workloads"][w]["roleArn"] for w in ("chat", "summarize")}
    assert (openai["preset"], openai["issuer"]) == ("openai", stack_run.outputs["issuer"])
    assert openai["subjects"] == {"dev-chat": roles["chat"], "dev-summarize": roles["summarize"]}
    assert openai["mappingRules"]["dev-chat"]["claims"] == {"sub": roles["chat"]}
    assert openai["mappingRules"]["dev-chat"]["attributes"] == {"aws_account": ACCOUNT}
    assert exported(stack_run, "summarize") == openai  # one provider, one mapping per role


def test_the_anthropic_export_is_the_federation_rules_match(stack_run):
    rule = exported(stack_run, "claude")["mappingRules"]["dev-claude"]["match"]
    assert rule["subject_prefix"] == stack_run.outputs["workloads"]["claude"]["roleArn"]
    assert rule["audience"] == "https://api.anthropic.com" and f'== "{ACCOUNT}"' in rule["condition"]


def test_no_cloud_resource_is_created_for_a_saas_party(stack_run):
    records = stack_run.monitor.of_type(RECORD)
    assert len(records) == 3 and not any(r.custom for r in records)
    assert [child for record in records for child in stack_run.monitor.children_of(record.urn)] == []
    saas_free = run_with([{"name": "chat", **LAMBDA, "audiences": ["https://api.openai.com/v1"]}])
    created = {r.type for r in stack_run.monitor.registrations.values() if r.custom}
    assert created == {r.type for r in saas_free.monitor.registrations.values() if r.custom}


# -- plan, graph, rehearsal -------------------------------------------------------------------------

def test_the_plan_shows_the_manual_step(stack_run):
    [record] = [r for r in build_plan(stack_run).resources if r.name == "dev-claude-saas"]
    assert "preset: anthropic" in record.details
    assert any(line.startswith("manual_step: in the Claude Console") for line in record.details)


def test_the_graph_links_each_role_to_its_vendor_with_the_audience(stack_run):
    graph = build_trust_graph(stack_run)
    edges = {(e.source.split("/")[-1], e.label) for e in graph.edges if e.target == "saas:dev-chat-saas"}
    assert {label for _, label in edges} == {"https://api.openai.com/v1"} and len(edges) == 2


@pytest.fixture(scope="module")
def rehearsed(stack_run):
    return rehearse(stack_run)


def cases_of(result, party):
    return {(c.role.rsplit("/", 1)[-1].split("-role")[0], c.scenario): c for c in result.cases if c.relying_party == party}


@pytest.mark.parametrize("party", ["OpenAI trust dev-chat-saas", "Anthropic trust dev-claude-saas",
                                   "SaaS trust dev-billing-saas"])
def test_the_intended_case_is_a_manual_step_pending_and_never_a_pass(rehearsed, party):
    intended = [c for c in rehearsed.cases if c.relying_party == party and c.scenario == INTENDED]
    assert intended and {(c.expected, c.outcome) for c in intended} == {(ACCEPT, PENDING)}
    assert all(c.reason.startswith("in ") and "mappingRules" in c.reason for c in intended)


@pytest.mark.parametrize("party", ["OpenAI trust dev-chat-saas", "Anthropic trust dev-claude-saas",
                                   "SaaS trust dev-billing-saas"])
def test_every_other_token_is_rejected_by_the_vendors_rules(rehearsed, party):
    others = {scenario: c.outcome for (_, scenario), c in cases_of(rehearsed, party).items() if scenario != INTENDED}
    assert set(others) == {"neighbouring role", "same role, another account", "another audience", "expired token"}
    assert set(others.values()) == {REJECT}


def test_the_reasons_are_the_vendors_checks(rehearsed):
    cases = cases_of(rehearsed, "OpenAI trust dev-chat-saas")
    assert cases[("dev-chat", "neighbouring role")].reason == "bad_subject"
    assert cases[("dev-chat", "another audience")].reason == "bad_audience"
    assert cases[("dev-chat", "expired token")].reason == "expired"
    assert rehearsed.wrong_cells == []


def test_the_report_lists_each_manual_step_and_does_not_fail(stack_run, rehearsed):
    from fedctl.preview.pipeline import PreviewResult

    result = PreviewResult(run=stack_run, plan=build_plan(stack_run), verdicts=[], graph=build_trust_graph(stack_run),
                           policy_pack=None, rehearsal=rehearsed)
    document = result.to_document()
    pending = [text for heading, text in judged_lines(document) if heading == "Manual step pending"]
    assert len(pending) == 4 and not document["failed"]
    assert "manual steps pending" in render_text(document)


# -- the record on its own ---------------------------------------------------------------------------

def test_the_record_refuses_a_role_of_another_account_when_it_resolves(cloud):
    other = pulumi.Output.from_input("arn:aws:iam::210987654321:role/chat")
    with pytest.raises(Exception, match="belongs to account 210987654321"):
        deploy(lambda: SaasManualTrust("chat", {"preset": "openai", "issuer": ISSUER, "aws_account_id": ACCOUNT,
                                                "subjects": {"chat": other}}).mapping_rules)


def test_the_record_refuses_bad_settings_before_registering(cloud):
    with pytest.raises(ValidationError) as refused:
        SaasManualTrust("chat", {"preset": "generic", "issuer": ISSUER, "aws_account_id": ACCOUNT,
                                 "subjects": {"chat": f"arn:aws:iam::{ACCOUNT}:role/chat"}})
    assert [v.code for v in refused.value.violations] == ["saas.audience.missing"]
    assert cloud.registrations == {}
