"""TailscaleFederatedTrust on the mock runtime, through the stack's config, in the rehearsal and the pack."""

from __future__ import annotations

import json
from dataclasses import replace

import pulumi
import pulumi_tailscale as tailscale
import pytest
from conftest import ROOT, deploy

from components import FederatedRole, TailscaleFederatedTrust, ValidationError
from components.relying_parties.tailscale import rules as tailscale_rules
from components.stack.config import parse_stack_config
from fedctl.preview.analyzer import PolicyPackServer
from fedctl.preview.engine import ProgramError, run_program
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, PENDING, REJECT, rehearse
from fedctl.preview.report import build_plan
from fedctl.preview.review import Review
from fedctl.testing.mocks import Registration, issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-deploy"
IDENTITY = "tailscale:index/federatedIdentity:FederatedIdentity"
BASE = {"issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"ci": ROLE}, "scopes": ["auth_keys"],
        "tags": ["tag:ci"]}


def trust(name="ci", **changes):
    return TailscaleFederatedTrust(name, {**BASE, **changes})


def camel_to_snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# -- the component ----------------------------------------------------------------------------------

def test_each_role_gets_an_identity_with_its_exact_arn_the_issuer_and_the_audience(cloud):
    audience = deploy(lambda: trust().audience)
    identity = cloud.named("ci-ci")
    assert identity.type == IDENTITY
    assert (identity.inputs["issuer"], identity.inputs["subject"]) == (ISSUER, ROLE)
    assert identity.inputs["audience"] == audience == "api.tailscale.com/ci"
    assert (identity.inputs["scopes"], identity.inputs["tags"]) == (["auth_keys"], ["tag:ci"])


def test_the_registered_inputs_are_the_tailscale_sdks_own_argument_names(cloud):
    deploy(lambda: trust().client_ids)
    inputs = {camel_to_snake(key): value for key, value in cloud.named("ci-ci").inputs.items()}
    args = tailscale.FederatedIdentityArgs(**inputs)  # a misspelt or unknown argument raises TypeError
    assert args.subject == ROLE and args.description == "AWS ci"


def test_the_client_ids_are_the_identities_ids(cloud):
    client_ids = deploy(lambda: trust().client_ids)
    assert client_ids == {"ci": cloud.named("ci-ci").id}
    assert client_ids["ci"].startswith("kFAKE") and client_ids["ci"].endswith("CNTRL")


def test_every_identity_is_a_child_of_the_component(cloud):
    deploy(lambda: trust(subjects={"ci": ROLE, "ops": f"arn:aws:iam::{ACCOUNT}:role/ops"}).client_ids)
    component = cloud.named("ci")
    assert sorted(r.name for r in cloud.children_of(component.urn)) == ["ci-ci", "ci-ops"]


def test_an_explicit_audience_and_description_are_used(cloud):
    deploy(lambda: trust(audience="ts-ci-deploy", description="CI deploys").audience)
    identity = cloud.named("ci-ci").inputs
    assert (identity["audience"], identity["description"]) == ("ts-ci-deploy", "CI deploys")


def test_a_subject_pattern_replaces_the_exact_arn_when_asked_for(cloud):
    subjects = deploy(lambda: trust(subject_pattern=f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-*").identity_subjects)
    assert cloud.named("ci-ci").inputs["subject"] == subjects["ci"] == f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-*"


def test_audience_for_equals_the_trusts_audience(cloud):
    assert TailscaleFederatedTrust.audience_for("ci") == deploy(lambda: trust().audience)


def test_a_role_can_pin_the_audience_before_the_trust_exists(cloud):
    def build():
        role = FederatedRole("ci", {"trusted_services": ["codebuild.amazonaws.com"],
                                    "audiences": [TailscaleFederatedTrust.audience_for("ci-ts")]})
        return trust("ci-ts", subjects={"ci": role.subject}).client_ids
    deploy(build)
    policy = json.loads(cloud.of_type("aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    pinned = policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
    assert pinned == [cloud.named("ci-ts-ci").inputs["audience"]]


def test_bad_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as refused:
        trust(scopes=["Devices"], tags=["ci"], audience="a b", subject_pattern="*")
    assert {v.code for v in refused.value.violations} >= {
        "tailscale.scope.format", "tailscale.tag.format", "tailscale.audience.whitespace",
        "tailscale.subject-pattern.any"}
    assert cloud.registrations == {}


def test_an_output_role_of_another_account_fails_when_it_resolves(cloud):
    with pytest.raises(Exception, match="belongs to account 210987654321"):
        deploy(lambda: trust(subjects={"ci": pulumi.Output.from_input(ROLE.replace(ACCOUNT, "210987654321"))})
               .client_ids)


def test_an_output_role_the_pattern_misses_fails_when_it_resolves(cloud):
    with pytest.raises(Exception, match="does not match the trusted role"):
        deploy(lambda: trust(subjects={"ci": pulumi.Output.from_input(f"arn:aws:iam::{ACCOUNT}:role/batch")},
                             subject_pattern=f"arn:aws:iam::{ACCOUNT}:role/workloads/*").client_ids)


# -- through the stack ----------------------------------------------------------------------------------

CI = {"name": "ci", "trustedServices": ["codebuild.amazonaws.com"],
      "tailscale": {"scopes": ["auth_keys"], "tags": ["tag:ci"]}}
OPS = {"name": "ops", "trustedServices": ["lambda.amazonaws.com"],
       "tailscale": {"scopes": ["devices:core:read"], "subjectPattern": f"arn:aws:iam::{ACCOUNT}:role/dev-ops*"}}


def run_with(workloads):
    project = load_project(ROOT, "dev")
    return run_program(replace(project, config={**project.config,
                                                 "outbound-federation:workloads": json.dumps(workloads)}))


@pytest.fixture(scope="module")
def stack_run():
    return run_with([CI, OPS])


def test_the_stack_exports_the_audience_and_client_id_the_exchange_needs(stack_run):
    exported = stack_run.outputs["workloads"]["ci"]["tailscale"]
    assert exported["audience"] == "api.tailscale.com/dev-ci-tailscale"
    assert exported["clientId"] == stack_run.monitor.named("dev-ci-tailscale-dev-ci").id
    assert exported["identitySubject"] == stack_run.outputs["workloads"]["ci"]["roleArn"]


def test_the_role_pins_the_identitys_audience(stack_run):
    identity = stack_run.monitor.named("dev-ci-tailscale-dev-ci")
    policies = [json.loads(p.inputs["policy"]) for p in stack_run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")]
    pinned = [p["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] for p in policies]
    assert [identity.inputs["audience"]] in pinned


def test_config_errors_name_the_setting_as_written():
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, [{**CI, "tailscale": {"scopes": ["devices:core"], "subjectPattern": "arn:aws:iam::*:role/x",
                                                     "descripton": "x"}}], "dev")
    assert {(v.field, v.code) for v in refused.value.violations} >= {
        ("workloads[0].tailscale.tags", "tailscale.tags.required"),
        ("workloads[0].tailscale.subjectPattern", "tailscale.subject-pattern.account-wildcard"),
        ("workloads[0].tailscale.descripton", "config.unknown-setting")}


def test_a_workload_whose_label_would_be_too_long_is_refused_on_its_name():
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, [{**CI, "name": "w" * 40}], "s" * 30)
    assert ("workloads[0].name", "config.credential-name.length") in {
        (v.field, v.code) for v in refused.value.violations}


def test_a_pattern_that_misses_the_workloads_role_fails_the_program():
    with pytest.raises(ProgramError, match="does not match the trusted role"):
        run_with([{**OPS, "tailscale": {"scopes": ["dns:read"],
                                        "subjectPattern": f"arn:aws:iam::{ACCOUNT}:role/batch-*"}}])


def test_the_plan_shows_each_identitys_issuer_subject_audience_and_scopes(stack_run):
    plan = build_plan(stack_run)
    [identity] = [r for r in plan.resources if r.name == "dev-ops-tailscale-dev-ops"]
    assert identity.details[1:] == [f"subject: arn:aws:iam::{ACCOUNT}:role/dev-ops*",
                                    "audience: api.tailscale.com/dev-ops-tailscale", "scopes: devices:core:read"]


# -- the rehearsal ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rehearsed(stack_run):
    return rehearse(stack_run)


def cases(result, identity):
    return {c.scenario: c for c in result.cases if c.relying_party == f"Tailscale identity {identity}"}


@pytest.mark.parametrize("identity", ["dev-ci-tailscale-dev-ci", "dev-ops-tailscale-dev-ops"])
def test_the_intended_role_is_accepted_and_every_other_token_rejected(rehearsed, identity):
    found = cases(rehearsed, identity)
    assert found[INTENDED].outcome == ACCEPT
    assert {scenario: c.outcome for scenario, c in found.items() if scenario != INTENDED} == {
        "neighbouring role": REJECT, "same role, another account": REJECT, "another audience": REJECT,
        "expired token": REJECT}
    assert rehearsed.wrong_cells == []


def test_the_pattern_trusts_the_roles_it_matches_and_refuses_the_others_by_subject(rehearsed):
    found = cases(rehearsed, "dev-ops-tailscale-dev-ops")
    assert found[INTENDED].role.split(":role/")[1].startswith("dev-ops")
    assert found["neighbouring role"].reason == "bad_subject"
    assert found["same role, another account"].reason == "bad_subject"


def hand_written(subject, issuer=ISSUER, audience="api.tailscale.com/kFAKE1CNTRL"):
    role = Registration(urn="urn:pulumi:dev::p::aws:iam/role:Role::ci", type="aws:iam/role:Role", name="ci",
                        custom=True, parent="", inputs={}, outputs={"arn": ROLE})
    other = Registration(urn="urn:pulumi:dev::p::aws:iam/role:Role::ops", type="aws:iam/role:Role", name="ops",
                         custom=True, parent="", inputs={}, outputs={"arn": f"arn:aws:iam::{ACCOUNT}:role/ops"})
    identity = Registration(urn=f"urn:pulumi:dev::p::{IDENTITY}::by-hand", type=IDENTITY, name="by-hand",
                            custom=True, parent="", inputs={"issuer": issuer, "subject": subject, "audience": audience,
                                                            "scopes": ["dns:read"]}, outputs={})
    return Review([role, other, identity])


def test_a_hand_written_star_subject_lets_the_neighbour_and_other_accounts_in_and_fails_the_rehearsal():
    result = rehearse(None, review=hand_written("*"))
    assert {c.scenario for c in result.wrong_cells} == {"neighbouring role", "same role, another account"}


def test_a_hand_written_exact_subject_is_judged_with_its_role_pending_its_token_policy():
    found = {c.scenario: c for c in rehearse(None, review=hand_written(ROLE)).cases}
    assert found[INTENDED].outcome == PENDING  # the role's token policy is not in this program
    assert found["neighbouring role"].outcome == REJECT


def test_an_identity_on_another_issuer_is_not_rehearsed_and_says_why():
    result = rehearse(None, review=hand_written("repo:org/*", issuer="https://token.actions.githubusercontent.com"))
    assert result.cases == [] and "not an AWS account issuer" in result.skipped[0]


# -- the policy pack, as its own process ------------------------------------------------------------

@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(ROOT / "policy", project="p", stack="dev") as server:
        server.configure()
        yield server


def identity_resource(**props):
    inputs = {"issuer": ISSUER, "subject": ROLE, "audience": "api.tailscale.com/x", "scopes": ["dns:read"], **props}
    return Registration(urn=f"urn:pulumi:dev::p::{IDENTITY}::by-hand", type=IDENTITY, name="by-hand", custom=True,
                        parent="", inputs=inputs, outputs=inputs)


def test_the_pack_declares_the_tailscale_policies(pack):
    assert pack.policies["tailscale-identities-exact"] == "mandatory"
    assert pack.policies["tailscale-advice"] == "advisory"


def test_the_stacks_own_identities_pass_the_pack(pack, stack_run):
    verdicts = pack.analyze_all(stack_run.monitor.of_type(IDENTITY))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("tailscale-advice", "advisory")]  # the ops wildcard


@pytest.mark.parametrize("subject", ["*", "arn:aws:iam::*:role/ci-*"])
def test_a_subject_of_any_role_or_any_account_is_a_mandatory_finding(pack, subject):
    verdicts = pack.analyze(identity_resource(subject=subject))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("tailscale-identities-exact", "mandatory")]


def test_a_wildcard_within_the_account_is_advisory(pack):
    verdicts = pack.analyze(identity_resource(subject=f"arn:aws:iam::{ACCOUNT}:role/ci-*"))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("tailscale-advice", "advisory")]


def test_an_unfamiliar_issuer_is_advisory(pack):
    verdicts = pack.analyze(identity_resource(issuer="https://issuer.example.com", subject="*"))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("tailscale-advice", "advisory")]


def test_the_exact_subject_helper_agrees_with_the_audit():
    assert tailscale_rules.judge_subject(ROLE, "subject") == []
