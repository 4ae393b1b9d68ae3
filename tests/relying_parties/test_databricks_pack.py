"""Databricks federation policies judged by the policy pack, run as its own process over the analyzer protocol."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT

from fedctl.preview.analyzer import PolicyPackServer
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.testing.mocks import Registration

PACK = ROOT / "policy"
POLICY = "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy"
ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
GITHUB = "https://token.actions.githubusercontent.com"
ROLE_ARN = "arn:aws:iam::123456789012:role/workloads/jobs"
ACCOUNT = "00000000-0000-4000-8000-00000000dbac"  # the Databricks provider's account in Pulumi.dev.yaml
EXACT = "databricks-policies-exact"
ADVICE = "databricks-advice"
COUNT = "databricks-policies-per-service-principal"
RS256 = "databricks-trusted-roles-allow-rs256"


def resource(type_, name, inputs, outputs=None):
    return Registration(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name, custom=True, parent="",
                        inputs=inputs, outputs=outputs or inputs)


def policy(name="jobs", service_principal=1234567890123456, **oidc):
    values = {"issuer": ISSUER, "subject": ROLE_ARN, "subjectClaim": "sub", "audiences": [ACCOUNT], **oidc}
    return resource(POLICY, name, {"servicePrincipalId": service_principal, "policyId": name,
                                   "oidcPolicy": {k: v for k, v in values.items() if v is not None}})


@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(PACK, project="p", stack="dev") as server:
        yield server


@pytest.fixture(autouse=True)
def default_config(pack):
    pack.configure()


def found(verdicts):
    """(policy, enforcement, the field the finding is about) of each verdict."""
    return sorted((v.policy, v.enforcement, v.message.split(":", 1)[0]) for v in verdicts)


def test_the_pack_declares_the_databricks_policies(pack):
    assert {name: pack.policies[name] for name in (EXACT, ADVICE, COUNT, RS256)} == {
        EXACT: "mandatory", ADVICE: "advisory", COUNT: "mandatory", RS256: "mandatory"}


def test_an_exact_policy_on_an_aws_issuer_passes(pack):
    assert pack.analyze(policy()) == []


def test_a_wildcard_subject_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(policy(subject="arn:aws:iam::123456789012:role/*"))
    assert found(verdicts) == [(EXACT, "mandatory", "jobs.oidcPolicy.subject")]


def test_a_wildcard_audience_is_a_mandatory_violation(pack):
    assert found(pack.analyze(policy(audiences=["databricks*"]))) == [
        (EXACT, "mandatory", "jobs.oidcPolicy.audiences[0]")]


def test_a_policy_without_a_subject_is_a_mandatory_violation(pack):
    assert found(pack.analyze(policy(subject=None))) == [(EXACT, "mandatory", "jobs.oidcPolicy.subject")]


def test_another_subject_claim_on_an_aws_issuer_is_a_mandatory_violation(pack):
    assert found(pack.analyze(policy(subjectClaim="email"))) == [(EXACT, "mandatory", "jobs.oidcPolicy.subjectClaim")]


def test_a_broken_aws_issuer_is_a_mandatory_violation(pack):
    assert found(pack.analyze(policy(issuer=ISSUER + "/"))) == [(EXACT, "mandatory", "jobs.oidcPolicy.issuer")]


def test_an_issuer_that_is_not_https_is_a_mandatory_violation(pack):
    assert found(pack.analyze(policy(issuer="http://issuer.example.com"))) == [
        (EXACT, "mandatory", "jobs.oidcPolicy.issuer")]


def test_a_github_actions_policy_is_only_pointed_out(pack):
    verdicts = pack.analyze(policy(issuer=GITHUB, subject="repo:acme/infra:ref:refs/heads/main",
                                   subjectClaim="sub", audiences=["https://github.com/acme"]))
    assert found(verdicts) == [(ADVICE, "advisory", "jobs.oidcPolicy.issuer")]


def test_a_github_policy_still_gets_databricks_exact_matching(pack):
    verdicts = pack.analyze(policy(issuer=GITHUB, subject="repo:acme/*"))
    assert (EXACT, "mandatory", "jobs.oidcPolicy.subject") in found(verdicts)


def test_pinned_keys_on_an_aws_issuer_are_advisory(pack):
    verdicts = pack.analyze(policy(jwksUri=ISSUER + "/.well-known/jwks.json"))
    assert found(verdicts) == [(ADVICE, "advisory", "jobs.oidcPolicy.jwksUri")]


def test_allowed_audiences_for_databricks_are_configurable(pack):
    pack.configure({EXACT: {"allowedAudiences": {"databricks": ["databricks"]}}})
    assert found(pack.analyze(policy())) == [(EXACT, "mandatory", "jobs.oidcPolicy.audiences[0]")]
    assert pack.analyze(policy(audiences=["databricks"])) == []


def test_a_policy_id_out_of_databricks_charset_is_a_mandatory_violation(pack):
    bad = policy()
    bad.inputs["policyId"] = "Jobs_Policy"
    assert found(pack.analyze(bad)) == [(EXACT, "mandatory", "jobs.policyId")]


def test_twenty_one_policies_on_one_service_principal_fail_the_stack(pack):
    policies = [policy(f"p{i:02d}", subject=f"arn:aws:iam::123456789012:role/r{i}") for i in range(21)]
    verdicts = pack.analyze_stack(policies)
    assert [(v.policy, v.enforcement, v.resource) for v in verdicts] == [(COUNT, "mandatory", "p20")]


def test_twenty_policies_on_one_service_principal_and_more_on_another_pass(pack):
    policies = [policy(f"p{i:02d}", subject=f"arn:aws:iam::123456789012:role/r{i}") for i in range(20)]
    policies += [policy(f"q{i:02d}", service_principal=42, subject=f"arn:aws:iam::123456789012:role/q{i}")
                 for i in range(5)]
    assert pack.analyze_stack(policies) == []


def es384_stack(algorithms):
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*", "Condition": {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [ACCOUNT]},
            "Null": {"sts:IdentityTokenAudience": "false"},
            "NumericLessThanEquals": {"sts:DurationSeconds": 300},
            "StringEquals": {"sts:SigningAlgorithm": algorithms}}}]}
    role = resource("aws:iam/role:Role", "jobs-role", {}, {"arn": ROLE_ARN, "name": "jobs"})
    grant = resource("aws:iam/rolePolicy:RolePolicy", "jobs-token", {"role": "jobs", "policy": json.dumps(document)})
    return [role, grant, policy()]


def test_a_role_trusted_by_databricks_that_cannot_use_rs256_fails_the_stack(pack):
    verdicts = pack.analyze_stack(es384_stack(["ES384"]))
    assert [(v.policy, v.enforcement, v.resource) for v in verdicts] == [(RS256, "mandatory", "jobs")]


def test_a_role_trusted_by_databricks_that_may_also_use_es384_is_advisory(pack):
    verdicts = pack.analyze_stack(es384_stack(["RS256", "ES384"]))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("databricks-trusted-roles-es384-advice", "advisory")]


def test_what_the_stack_makes_passes_every_databricks_policy(pack):
    project = load_project(ROOT, "dev")
    workloads = [{"name": "jobs", "trustedServices": ["lambda.amazonaws.com"], "databricks": {"accountId": ACCOUNT}}]
    run = run_program(replace(project, config={**project.config,
                                               "outbound-federation:workloads": json.dumps(workloads)}))
    verdicts = pack.analyze_all(run.monitor.registrations.values())
    assert [v for v in verdicts if v.policy.startswith("databricks")] == []
