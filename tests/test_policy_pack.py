"""The policy pack, run as its own process and driven over the analyzer gRPC protocol, as the CLI does."""

import json

import pytest
from conftest import ROOT

from fedctl.preview.analyzer import PolicyPackServer
from fedctl.testing.mocks import Registration

PACK = ROOT / "policy"
SAFE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*", "Condition": {
        "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]},
        "Null": {"sts:IdentityTokenAudience": "false"},
        "NumericLessThanEquals": {"sts:DurationSeconds": 300},
        "StringEquals": {"sts:SigningAlgorithm": "RS256"}}}],
}
ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
ROLE_ARN = "arn:aws:iam::123456789012:role/workloads/reports"


def resource(type_, name, inputs, outputs=None, protect=False):
    return Registration(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name, custom=True, parent="",
                        inputs=inputs, outputs=outputs or inputs, protect=protect)


def role_policy(name, policy):
    return resource("aws:iam/rolePolicy:RolePolicy", name, {"role": "reports", "policy": json.dumps(policy)})


def with_condition(**changes):
    policy = json.loads(json.dumps(SAFE_POLICY))
    condition = policy["Statement"][0]["Condition"]
    for key, value in changes.items():
        if value is None:
            condition.pop(key, None)
        else:
            condition[key] = value
    return policy


@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(PACK, project="p", stack="dev") as server:
        yield server


@pytest.fixture(autouse=True)
def default_config(pack):
    pack.configure()


def findings(verdicts, policy):
    return [v.message for v in verdicts if v.policy == policy]


def test_the_pack_declares_mandatory_and_advisory_policies(pack):
    assert pack.policies["token-grants-pinned"] == "mandatory"
    assert pack.policies["token-grants-advice"] == "advisory"
    assert pack.policies["account-federation-protected"] == "mandatory"
    assert pack.policies["azure-credentials-exact"] == "mandatory"


def test_a_pinned_token_grant_passes(pack):
    assert pack.analyze(role_policy("ok", SAFE_POLICY)) == []


def test_a_for_any_value_audience_grant_is_a_mandatory_violation(pack):
    condition = {"ForAnyValue:StringEquals": {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]},
                 "ForAllValues:StringEquals": None}
    verdicts = pack.analyze(role_policy("sample", with_condition(**condition)))
    assert any("lets a caller add any other audience" in m for m in findings(verdicts, "token-grants-pinned"))
    assert {v.enforcement for v in verdicts if v.policy == "token-grants-pinned"} == {"mandatory"}


def test_a_grant_without_a_duration_cap_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(role_policy("uncapped", with_condition(NumericLessThanEquals=None)))
    assert any("does not cap sts:DurationSeconds" in m for m in findings(verdicts, "token-grants-pinned"))


def test_a_grant_without_an_algorithm_restriction_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(role_policy("any-alg", with_condition(StringEquals=None)))
    assert any("does not restrict sts:SigningAlgorithm" in m for m in findings(verdicts, "token-grants-pinned"))


def test_inline_policies_of_a_role_are_checked_too(pack):
    role = resource("aws:iam/role:Role", "inline", {"inlinePolicies": [
        {"name": "tokens", "policy": json.dumps(with_condition(Null=None))}]})
    assert any("lacks Null" in m for m in findings(pack.analyze(role), "token-grants-pinned"))


def test_a_long_lifetime_is_only_advisory(pack):
    verdicts = pack.analyze(role_policy("long", with_condition(NumericLessThanEquals={"sts:DurationSeconds": 1800})))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("token-grants-advice", "advisory")]


def test_the_maximum_duration_is_configurable(pack):
    pack.configure({"token-grants-pinned": {"maxDurationSeconds": 120}})
    verdicts = pack.analyze(role_policy("capped", SAFE_POLICY))
    assert findings(verdicts, "token-grants-pinned") == [
        "capped.policy.Statement[0].Condition.sts:DurationSeconds: 300 is over the allowed maximum of 120 seconds"]


def test_allowed_audiences_per_relying_party_are_configurable(pack):
    pack.configure({"token-grants-pinned": {"allowedAudiences": {"aws": ["https://api.example.com"]}}})
    verdicts = pack.analyze(role_policy("aud", SAFE_POLICY))
    assert any("is not an allowed audience" in m for m in findings(verdicts, "token-grants-pinned"))


def test_an_enforcement_level_can_be_lowered_by_config(pack):
    pack.configure(levels={"token-grants-pinned": "advisory"})
    verdicts = pack.analyze(role_policy("uncapped", with_condition(NumericLessThanEquals=None)))
    assert {v.enforcement for v in verdicts} == {"advisory"}


def test_an_unprotected_account_switch_is_a_mandatory_violation(pack):
    switch = "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation"
    assert findings(pack.analyze(resource(switch, "on", {})), "account-federation-protected")
    assert pack.analyze(resource(switch, "on", {}, protect=True)) == []


def credential(name, **inputs):
    values = {"issuer": ISSUER, "subject": ROLE_ARN, "audiences": ["api://AzureADTokenExchange"], **inputs}
    return resource("azure-native:managedidentity:FederatedIdentityCredential", name, values)


def test_an_exact_azure_credential_passes(pack):
    assert pack.analyze(credential("ok")) == []


def test_an_azure_credential_with_two_audiences_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(credential("two", audiences=["api://AzureADTokenExchange", "x"]))
    assert any("has 2 audiences" in m for m in findings(verdicts, "azure-credentials-exact"))


def test_an_azure_credential_with_a_wildcard_subject_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(credential("wild", subject="arn:aws:iam::123456789012:role/*"))
    assert any("must not contain '*'" in m for m in findings(verdicts, "azure-credentials-exact"))


def test_a_flexible_azure_credential_is_refused(pack):
    flexible = resource("azuread:index/applicationFlexibleFederatedIdentityCredential:"
                        "ApplicationFlexibleFederatedIdentityCredential", "flex",
                        {"claimsMatchingExpression": "claims['sub'] matches 'arn:aws:iam::*'", "issuer": ISSUER})
    assert findings(pack.analyze(flexible), "azure-credentials-exact")


def test_an_owner_role_assignment_is_advisory(pack):
    owner = resource("azure-native:authorization:RoleAssignment", "owner", {
        "roleDefinitionId": "/subscriptions/00000000-1111-2222-3333-444444444444/providers/"
                            "Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"})
    assert [v.enforcement for v in pack.analyze(owner)] == ["advisory"]


def es384_stack(algorithms):
    policy = with_condition(StringEquals={"sts:SigningAlgorithm": algorithms})
    role = resource("aws:iam/role:Role", "reports", {}, {"arn": ROLE_ARN, "name": "reports"})
    return [role, role_policy("reports-token", policy), credential("reports-aws")]


def test_a_role_trusted_by_azure_that_cannot_use_rs256_fails_the_stack(pack):
    verdicts = pack.analyze_stack(es384_stack(["ES384"]))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("azure-trusted-roles-allow-rs256", "mandatory")]
    assert verdicts[0].resource == "reports-aws"


def test_a_role_trusted_by_azure_that_may_also_use_es384_is_advisory(pack):
    verdicts = pack.analyze_stack(es384_stack(["RS256", "ES384"]))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("azure-trusted-roles-es384-advice", "advisory")]


def test_a_pack_that_cannot_start_is_reported(tmp_path):
    from fedctl.preview.analyzer import PolicyPackError

    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('broken pack')\n")
    with pytest.raises(PolicyPackError, match="failed to start") as caught:
        with PolicyPackServer(tmp_path):
            pass
    assert caught.value.exit_code == 2


def test_a_directory_that_is_not_a_pack_is_refused_before_anything_runs(tmp_path):
    from fedctl.preview.analyzer import PolicyPackError

    with pytest.raises(PolicyPackError, match="is not a Python policy pack"):
        with PolicyPackServer(tmp_path):
            pass


def provider(name, **inputs):
    values = {"oidc": {"issuerUri": ISSUER}, "attributeCondition":
              "'https://sts.amazonaws.com/' in assertion && assertion['https://sts.amazonaws.com/'].aws_account"
              f" == '123456789012' && assertion.sub in ['{ROLE_ARN}']", **inputs}
    return resource("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", name, values)


def test_a_pinned_gcp_provider_passes(pack):
    assert pack.analyze(provider("ok")) == []


def test_a_gcp_provider_without_a_condition_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(provider("open", attributeCondition=None))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("gcp-trust-pinned", "mandatory")]


def test_impersonation_by_a_whole_pool_is_a_mandatory_violation(pack):
    member = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/aws/*"
    binding = resource("gcp:serviceaccount/iAMBinding:IAMBinding", "everyone",
                       {"role": "roles/iam.workloadIdentityUser", "members": [member]})
    assert findings(pack.analyze(binding), "gcp-trust-pinned")


# -- unsafe trust is a finding wherever it is written -----------------------------------------------

POOL = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/aws"


def mandatory(verdicts, policy):
    return [v for v in verdicts if v.policy == policy and v.enforcement == "mandatory"]


def open_trust(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}])
def test_a_role_any_principal_can_assume_is_a_mandatory_violation(pack, principal):
    role = resource("aws:iam/role:Role", "open", {"assumeRolePolicy": open_trust(principal)},
                    {"arn": "arn:aws:iam::123456789012:role/open"})
    assert mandatory(pack.analyze(role), "role-trust-closed")


def test_another_accounts_root_without_a_condition_is_a_mandatory_violation(pack):
    role = resource("aws:iam/role:Role", "cross", {"assumeRolePolicy": open_trust({"AWS": "arn:aws:iam::999999999999:root"}),
                                                   "arn": "arn:aws:iam::123456789012:role/cross"})
    assert mandatory(pack.analyze(role), "role-trust-closed")


def test_a_role_trusting_a_service_passes(pack):
    role = resource("aws:iam/role:Role", "service", {"assumeRolePolicy": open_trust({"Service": "lambda.amazonaws.com"})})
    assert pack.analyze(role) == []


def test_an_aws_native_role_is_judged_like_any_other(pack):
    role = resource("aws-native:iam:Role", "native", {"assumeRolePolicyDocument": json.loads(open_trust("*")),
                                                      "policies": [{"policyName": "t", "policyDocument": {
                                                          "Version": "2012-10-17", "Statement": [
                                                              {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}}]})
    verdicts = pack.analyze(role)
    assert mandatory(verdicts, "role-trust-closed") and mandatory(verdicts, "token-grants-pinned")


def test_an_aws_native_managed_policy_with_an_open_token_grant_is_a_mandatory_violation(pack):
    policy = resource("aws-native:iam:ManagedPolicy", "grant", {"policyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*"}]}})
    assert mandatory(pack.analyze(policy), "token-grants-pinned")


@pytest.mark.parametrize("role", ["roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser"])
def test_any_role_granted_to_a_whole_pool_is_a_mandatory_violation(pack, role):
    member = resource("gcp:serviceaccount/iAMMember:IAMMember", "pool-wide", {"role": role, "member": f"{POOL}/*"})
    assert mandatory(pack.analyze(member), "gcp-trust-pinned")


def test_a_grant_to_every_role_of_an_aws_account_is_a_mandatory_violation(pack):
    member = resource("gcp:serviceaccount/iAMMember:IAMMember", "account-wide",
                      {"role": "roles/iam.workloadIdentityUser", "member": f"{POOL}/attribute.aws_account/123456789012"})
    assert mandatory(pack.analyze(member), "gcp-trust-pinned")


def test_bindings_written_as_iam_policy_data_are_judged(pack):
    policy = resource("gcp:serviceaccount/iAMPolicy:IAMPolicy", "policy-data", {"policyData": json.dumps({
        "bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [f"{POOL}/*"]}]})})
    assert mandatory(pack.analyze(policy), "gcp-trust-pinned")


def test_a_grant_to_one_principal_passes(pack):
    member = resource("gcp:serviceaccount/iAMMember:IAMMember", "exact", {
        "role": "roles/iam.workloadIdentityUser",
        "member": "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/aws/subject/123456789012:x"})
    assert pack.analyze(member) == []


@pytest.mark.parametrize("bypass", ["true", "assertion.aud == 'https://any.example.com'", "1 == 1"])
def test_a_condition_with_an_alternative_that_does_not_pin_the_account_is_a_mandatory_violation(pack, bypass):
    pinned = provider("x").inputs["attributeCondition"]
    verdicts = pack.analyze(provider("bypass", attributeCondition=f"({pinned}) || {bypass}"))
    assert mandatory(verdicts, "gcp-trust-pinned") and "every alternative" in verdicts[0].message


def test_a_condition_whose_every_alternative_pins_the_account_passes(pack):
    pinned = provider("x").inputs["attributeCondition"]
    other = pinned.replace(ROLE_ARN, "arn:aws:iam::123456789012:role/other")
    assert pack.analyze(provider("both", attributeCondition=f"({pinned}) || ({other})")) == []


def test_a_credential_of_the_classic_azure_provider_is_judged(pack):
    credential = resource("azure:armmsi/federatedIdentityCredential:FederatedIdentityCredential", "classic", {
        "issuer": ISSUER, "subject": "arn:aws:iam::123456789012:role/*", "audience": ["api://AzureADTokenExchange"]})
    assert mandatory(pack.analyze(credential), "azure-credentials-exact")


# -- trusts on other issuers get no AWS rule ----------------------------------------------------------

GITHUB = "https://token.actions.githubusercontent.com"


def test_a_github_actions_credential_on_entra_gets_no_false_mandatory_finding(pack):
    credential = resource(
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential", "github", {
            "issuer": GITHUB, "subject": "repo:acme/infra:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]})
    assert mandatory(pack.analyze(credential), "azure-credentials-exact") == []


def test_a_github_actions_provider_on_gcp_gets_no_false_mandatory_finding(pack):
    github = provider("github", oidc={"issuerUri": GITHUB}, attributeCondition="assertion.repository == 'acme/infra'")
    assert pack.analyze(github) == []


def test_a_github_credential_still_gets_entras_own_exact_match_rules(pack):
    credential = resource(
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential", "github", {
            "issuer": GITHUB, "subject": "repo:acme/*", "audiences": ["api://AzureADTokenExchange"]})
    assert mandatory(pack.analyze(credential), "azure-credentials-exact")
