"""OrganizationGuardrails: the SCP it writes, judged by the IAM database and by the pack; what it refuses."""

import json

import pytest
from conftest import ROOT, deploy
from hypothesis import given
from hypothesis import strategies as st
from judges.iam_policy import judge_policy

from components import OrganizationGuardrails, ValidationError
from components.rules.guardrails import check_guardrails_args, guardrail_document
from components.rules.policy_audits import (
    TokenRequest,
    check_token_guardrails,
    evaluate_token_request,
    exempts_by_role_name_pattern,
)
from components.rules.policy_documents import token_policy_document
from fedctl.preview.analyzer import PolicyPackServer
from fedctl.preview.rehearsal import INTENDED
from fedctl.testing.mocks import Registration

DEPLOYER = "arn:aws:iam::*:role/federation-deployer"
ARGS = {
    "targets": ["ou-ab12-cdef3456"],
    "switch_principal_arns": [DEPLOYER],
    "allowed_audiences": ["api://AzureADTokenExchange", "https://api.example.com"],
}
SCP_TYPE = "aws:organizations/policy:Policy"


def codes(violations):
    return sorted({v.code for v in violations})


def deny_statement(**condition):
    return {"Effect": "Deny", "Action": "sts:GetWebIdentityToken", "Resource": "*", "Condition": condition}


def scp(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


# -- the document ---------------------------------------------------------------------------------

def test_the_guardrail_document_passes_the_iam_database():
    document = guardrail_document({**ARGS, "max_duration_seconds": 900, "allowed_signing_algorithms": ["RS256"]})
    assert [f for f in judge_policy(document) if f.level == "error"] == []


def test_the_guardrail_denies_and_never_allows():
    assert {s["Effect"] for s in guardrail_document(ARGS)["Statement"]} == {"Deny"}


def test_the_audience_allow_list_is_denied_with_for_any_value():
    statement = guardrail_document(ARGS)["Statement"][1]
    assert statement["Condition"] == {
        "ForAnyValue:StringNotEquals": {"sts:IdentityTokenAudience": ARGS["allowed_audiences"]}}


def test_the_guardrail_passes_its_own_audit():
    assert check_token_guardrails(guardrail_document(ARGS), "content") == []


def test_the_default_lifetime_cap_is_a_quarter_of_an_hour():
    statement = guardrail_document(ARGS)["Statement"][2]
    assert statement["Condition"] == {"NumericGreaterThan": {"sts:DurationSeconds": 900}}


def test_no_algorithm_statement_unless_algorithms_are_restricted():
    assert "DenyTokenAlgorithmsOutsideAllowList" not in [s["Sid"] for s in guardrail_document(ARGS)["Statement"]]


# -- what the arguments may be --------------------------------------------------------------------

def test_valid_arguments_pass():
    assert check_guardrails_args(ARGS) == []


def test_a_guardrail_attached_nowhere_is_refused():
    assert "guardrails.targets.count" in codes(check_guardrails_args({**ARGS, "targets": []}))


@pytest.mark.parametrize("target", ["ou-ab12", "o-abc123defg", "12345678901", "R-ab12", "root"])
def test_a_target_organizations_would_not_recognise_is_refused(target):
    assert codes(check_guardrails_args({**ARGS, "targets": [target]})) == ["guardrails.target.format"]


@pytest.mark.parametrize("target", ["r-ab12", "ou-ab12-cdef3456", "111122223333"])
def test_roots_ous_and_accounts_are_targets(target):
    assert check_guardrails_args({**ARGS, "targets": [target]}) == []


@pytest.mark.parametrize("exempt", ["*", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/*"])
def test_an_exemption_of_every_role_is_refused(exempt):
    found = check_guardrails_args({**ARGS, "switch_principal_arns": [exempt]})
    assert codes(found) == ["guardrails.switch-principal.too-broad"]


def test_an_exemption_that_is_not_a_role_arn_is_refused():
    found = check_guardrails_args({**ARGS, "switch_principal_arns": ["arn:aws:iam::111122223333:user/admin"]})
    assert codes(found) == ["guardrails.switch-principal.format"]


def test_an_exemption_by_role_name_pattern_is_a_warning():
    found = check_guardrails_args({**ARGS, "switch_principal_arns": ["arn:aws:iam::*:role/*-deployer"]})
    assert [(v.code, v.severity) for v in found] == [("guardrails.switch-principal.wildcard-role-name", "warning")]


def test_audiences_follow_the_token_rules():
    found = check_guardrails_args({**ARGS, "allowed_audiences": ["api://*", "a b"]})
    assert codes(found) == ["aws.audience.whitespace", "aws.audience.wildcard"]


def test_the_lifetime_cap_is_within_what_sts_allows():
    assert codes(check_guardrails_args({**ARGS, "max_duration_seconds": 7200})) == ["aws.duration.range"]


def test_a_document_over_the_scp_limit_is_refused_at_preview():
    audiences = [f"https://relying-party-{i:03}.example.com/federation/aws" for i in range(100)]
    found = check_guardrails_args({**ARGS, "allowed_audiences": audiences})
    assert codes(found) == ["guardrails.document.too-large"]


def test_an_unknown_argument_is_refused():
    assert codes(check_guardrails_args({**ARGS, "allowedAudiences": []})) == ["guardrails.unknown-argument"]


# -- the audit of any SCP -------------------------------------------------------------------------

def test_a_for_all_values_audience_deny_is_bypassable():
    document = scp(deny_statement(**{"ForAllValues:StringNotEquals": {"sts:IdentityTokenAudience": ["a"]}}))
    assert codes(check_token_guardrails(document, "content")) == ["guardrail.audience.bypassable"]


def test_an_audience_deny_without_a_set_operator_is_a_finding():
    document = scp(deny_statement(StringNotEquals={"sts:IdentityTokenAudience": ["a"]}))
    assert codes(check_token_guardrails(document, "content")) == ["guardrail.audience.set-operator"]


def test_a_deny_list_of_audiences_is_not_a_finding():
    document = scp(deny_statement(**{"ForAnyValue:StringEquals": {"sts:IdentityTokenAudience": ["https://evil"]}}))
    assert check_token_guardrails(document, "content") == []


def test_a_switch_deny_exempting_everyone_is_a_finding():
    document = scp({"Effect": "Deny", "Action": "iam:*OutboundWebIdentityFederation", "Resource": "*",
                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["*"]}}})
    assert codes(check_token_guardrails(document, "content")) == ["guardrail.switch.exempts-everyone"]


def test_allow_statements_of_an_scp_are_not_judged():
    document = scp({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert check_token_guardrails(document, "content") == []


@given(st.from_regex(r"arn:aws:iam::(\*|\d{12}):role/[a-z-]{1,20}", fullmatch=True))
def test_an_exact_role_name_is_never_a_name_pattern(arn):
    assert not exempts_by_role_name_pattern(arn)


def test_the_guardrail_denies_a_request_that_adds_a_foreign_audience():
    # The point of ForAnyValue: one allowed audience does not carry a foreign one through, even
    # when the role's own policy would allow both.
    both = ("api://AzureADTokenExchange", "https://evil.example.com")
    documents = [token_policy_document(list(both)), guardrail_document(ARGS)]
    decision = evaluate_token_request(documents, TokenRequest(both, "RS256", 300))
    assert not decision.allowed and "DenyTokenAudiencesOutsideAllowList" in decision.reason


def test_the_guardrail_lets_an_allowed_request_through():
    documents = [token_policy_document(ARGS["allowed_audiences"]), guardrail_document(ARGS)]
    assert evaluate_token_request(documents, TokenRequest(("api://AzureADTokenExchange",), "RS256", 300)).allowed


def test_the_guardrail_denies_a_lifetime_over_its_cap():
    documents = [token_policy_document(ARGS["allowed_audiences"], 3600), guardrail_document(ARGS)]
    decision = evaluate_token_request(documents, TokenRequest(("api://AzureADTokenExchange",), "RS256", 1800))
    assert not decision.allowed and "DenyTokenLifetimesOverCap" in decision.reason


# -- the component --------------------------------------------------------------------------------

def test_the_component_creates_one_scp_and_one_attachment_per_target(cloud):
    deploy(lambda: OrganizationGuardrails("org", {**ARGS, "targets": ["r-ab12", "111122223333"]}).policy_id)
    policy = cloud.named("org-policy")
    assert policy.type == SCP_TYPE and policy.inputs["type"] == "SERVICE_CONTROL_POLICY"
    attachments = sorted((r.name, r.inputs["targetId"]) for r in cloud.registrations.values()
                         if r.type == "aws:organizations/policyAttachment:PolicyAttachment")
    assert attachments == [("org-attachment-111122223333", "111122223333"), ("org-attachment-r-ab12", "r-ab12")]


def test_the_component_sends_the_document_it_exports(cloud):
    document = deploy(lambda: OrganizationGuardrails("org", ARGS).document)
    assert cloud.named("org-policy").inputs["content"] == document
    assert json.loads(document) == guardrail_document(ARGS)


def test_the_component_refuses_broken_arguments_before_registering_anything(cloud):
    with pytest.raises(ValidationError) as caught:
        OrganizationGuardrails("org", {**ARGS, "switch_principal_arns": ["*"]})
    assert caught.value.codes == ["guardrails.switch-principal.too-broad"]
    assert cloud.registrations == {}


# -- through the pack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(ROOT / "policy", project="p", stack="dev") as server:
        server.configure()
        yield server


def scp_resource(name, document):
    inputs = {"content": json.dumps(document), "type": "SERVICE_CONTROL_POLICY"}
    return Registration(urn=f"urn:pulumi:dev::p::{SCP_TYPE}::{name}", type=SCP_TYPE, name=name, custom=True,
                        parent="", inputs=inputs, outputs=inputs)


def test_the_pack_passes_our_guardrail(pack):
    assert pack.analyze(scp_resource("ours", guardrail_document(ARGS))) == []


def test_the_pack_finds_a_bypassable_hand_written_guardrail(pack):
    document = scp(deny_statement(**{"ForAllValues:StringNotEquals": {"sts:IdentityTokenAudience": ["a"]}}))
    verdicts = pack.analyze(scp_resource("theirs", document))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("organization-guardrails-effective", "mandatory")]


def test_the_pack_ignores_other_organizations_policy_types(pack):
    document = scp(deny_statement(**{"ForAllValues:StringNotEquals": {"sts:IdentityTokenAudience": ["a"]}}))
    resource = scp_resource("tags", document)
    resource.inputs["type"] = "TAG_POLICY"
    assert pack.analyze(resource) == []


# -- through the stack's config -------------------------------------------------------------------

def stack_codes(workloads, guardrails, accounts=None):
    from components.stack.config import parse_stack_config

    try:
        parse_stack_config({}, workloads, "dev", accounts, guardrails)
    except ValidationError as error:
        return error.codes
    return []


GUARDRAIL_CONFIG = {"targets": ["r-ab12"], "switchPrincipalArns": [DEPLOYER], "allowedAudiences": ["https://a"]}
WORKLOAD = {"name": "exporter", "trustedServices": ["lambda.amazonaws.com"], "audiences": ["https://a"]}


def test_a_broken_guardrail_in_config_is_reported_with_its_config_path():
    from components.stack.config import parse_stack_config

    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, [WORKLOAD], "dev", None, {**GUARDRAIL_CONFIG, "switchPrincipalArns": ["*"]})
    assert [v.field for v in caught.value.violations] == ["guardrails.switchPrincipalArns[0]"]


def test_a_workload_audience_the_organisation_denies_fails_at_preview():
    workloads = [{**WORKLOAD, "audiences": ["https://a", "https://b"]}]
    assert stack_codes(workloads, GUARDRAIL_CONFIG) == ["config.guardrails.audience-denied"]


def test_a_workload_lifetime_over_the_organisation_cap_fails_at_preview():
    workloads = [{**WORKLOAD, "maxDurationSeconds": 1800}]
    assert stack_codes(workloads, GUARDRAIL_CONFIG) == ["config.guardrails.duration-denied"]


def test_a_workload_without_an_allowed_algorithm_fails_at_preview():
    workloads = [{**WORKLOAD, "signingAlgorithms": ["ES384"]}]
    guardrails = {**GUARDRAIL_CONFIG, "allowedSigningAlgorithms": ["RS256"]}
    assert stack_codes(workloads, guardrails) == ["config.guardrails.algorithm-denied"]


def test_an_ou_guardrail_is_not_held_against_workloads_the_config_cannot_place():
    workloads = [{**WORKLOAD, "audiences": ["https://b"]}]
    assert stack_codes(workloads, {**GUARDRAIL_CONFIG, "targets": ["ou-ab12-cdef3456"]}) == []


def test_a_guardrail_on_a_named_account_applies_to_its_workloads():
    accounts = [{"name": "payments", "accountId": "111111111111",
                 "assumeRoleArn": "arn:aws:iam::111111111111:role/deployer"}]
    workloads = [{**WORKLOAD, "account": "payments", "audiences": ["https://b"]}]
    guardrails = {**GUARDRAIL_CONFIG, "targets": ["111111111111"]}
    assert stack_codes(workloads, guardrails, accounts) == ["config.guardrails.audience-denied"]


# -- in the rehearsal -----------------------------------------------------------------------------

def rehearse_with(guardrails):
    from dataclasses import replace

    from fedctl.preview.engine import run_program
    from fedctl.preview.project import load_project
    from fedctl.preview.rehearsal import rehearse

    workloads = [{"name": "exporter", "trustedServices": ["lambda.amazonaws.com"],
                  "azureManagedIdentity": {"identityName": "aws-exporter", "resourceGroupName": "reports",
                                           "location": "westeurope"}}]
    project = load_project(ROOT, "dev")
    config = {**project.config, "outbound-federation:workloads": json.dumps(workloads),
              "outbound-federation:guardrails": json.dumps(guardrails)}
    return rehearse(run_program(replace(project, config=config)))


def test_a_relying_party_audience_the_organisation_denies_is_a_wrong_cell():
    # The audience comes from the relying party, not from the workload's config: only the
    # rehearsal, evaluating the planned SCP with the role's policy, can see the conflict.
    result = rehearse_with({**GUARDRAIL_CONFIG, "allowedAudiences": ["https://api.example.com"]})
    [wrong] = result.wrong_cells
    assert wrong.scenario == INTENDED and "DenyTokenAudiencesOutsideAllowList" in wrong.reason


def test_a_relying_party_audience_the_organisation_allows_rehearses_clean():
    result = rehearse_with({**GUARDRAIL_CONFIG, "allowedAudiences": ["api://AzureADTokenExchange"]})
    assert result.wrong_cells == [] and result.cases


def test_a_guardrail_on_an_ou_is_named_in_the_notes_not_applied():
    result = rehearse_with({**GUARDRAIL_CONFIG, "targets": ["ou-ab12-cdef3456"], "allowedAudiences": ["https://x"]})
    assert result.wrong_cells == []
    assert any("ou-ab12-cdef3456" in note for note in result.notes)
