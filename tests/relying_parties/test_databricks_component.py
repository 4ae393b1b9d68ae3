"""DatabricksServicePrincipalTrust on the mock runtime: what it registers, what it outputs, what it refuses."""

import json

import pulumi
import pulumi._types as pulumi_types
import pulumi_databricks as databricks
import pytest
from conftest import deploy

from components import DatabricksServicePrincipalTrust, FederatedRole, ValidationError
from components.relying_parties.databricks import rules
from fedctl.testing.mocks import issuer_for_account, stable_uuid

ACCOUNT = "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11"
ISSUER = issuer_for_account("123456789012")
ROLE = "arn:aws:iam::123456789012:role/workloads/jobs-runner"
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_DataEngineer_0123456789abcdef")
EXISTING = 1234567890123456
SP = "databricks:index/servicePrincipal:ServicePrincipal"
POLICY = "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy"
LOOKUP = "databricks:index/getServicePrincipal:getServicePrincipal"
BASE = {"issuer": ISSUER, "account_id": ACCOUNT, "subjects": {"jobs-runner": ROLE}}


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


def trust(name="jobs", **extra):
    return DatabricksServicePrincipalTrust(name, {**BASE, **extra})


# -- what it registers, in the provider's own terms -------------------------------------------------

def test_a_policy_copies_issuer_role_arn_and_audience_exactly_with_sub_as_the_claim(cloud):
    deploy(lambda: trust(subjects={"sso": SSO_ROLE}).audience)
    policy = cloud.named("jobs-policy-sso")
    assert policy.type == POLICY
    assert policy.inputs["oidcPolicy"] == {"issuer": ISSUER, "subject": SSO_ROLE, "subjectClaim": "sub",
                                           "audiences": [ACCOUNT]}
    assert policy.inputs["policyId"] == "sso"


def test_the_inputs_are_what_the_databricks_sdk_declares(cloud):
    deploy(lambda: trust(description="nightly jobs").audience)
    policy, principal = cloud.named("jobs-policy-jobs-runner").inputs, cloud.named("jobs-sp").inputs
    wire = pulumi_types.input_type_py_to_pulumi_names
    types = pulumi_types.input_type_types(databricks.ServicePrincipalFederationPolicyArgs)
    assert set(policy) <= set(wire(databricks.ServicePrincipalFederationPolicyArgs).values())
    assert set(policy["oidcPolicy"]) <= set(wire(databricks.ServicePrincipalFederationPolicyOidcPolicyArgs).values())
    assert set(principal) <= set(wire(databricks.ServicePrincipalArgs).values())
    assert types["servicePrincipalId"] is int and float(policy["servicePrincipalId"]).is_integer()
    assert isinstance(policy["policyId"], str) and isinstance(policy["description"], str)
    assert all(isinstance(a, str) for a in policy["oidcPolicy"]["audiences"])


def test_the_type_tokens_are_the_sdks():
    from components.relying_parties.databricks import facts
    from pulumi.type_token import _PULUMI_TYPE

    assert getattr(databricks.ServicePrincipalFederationPolicy, _PULUMI_TYPE) == facts.POLICY_TYPE == POLICY
    assert getattr(databricks.ServicePrincipal, _PULUMI_TYPE) == facts.SERVICE_PRINCIPAL_TYPE == SP


def test_a_new_service_principal_holds_the_policies_and_gives_its_ids(cloud):
    number, application = deploy(lambda: outputs(trust(display_name="aws-jobs-runner"), "service_principal_id",
                                                 "application_id"))
    principal = cloud.named("jobs-sp")
    assert principal.type == SP and principal.inputs == {"displayName": "aws-jobs-runner"}
    assert number == int(principal.id) and isinstance(number, int)
    assert application == principal.outputs["applicationId"]
    assert cloud.named("jobs-policy-jobs-runner").inputs["servicePrincipalId"] == number


def test_a_new_service_principal_is_named_after_the_component_by_default(cloud):
    deploy(lambda: trust().audience)
    assert cloud.named("jobs-sp").inputs["displayName"] == "jobs"


def test_an_existing_service_principal_is_looked_up_and_only_gets_policies(cloud):
    number, application = deploy(lambda: outputs(trust(service_principal_id=EXISTING), "service_principal_id",
                                                 "application_id"))
    assert cloud.of_type(SP) == []
    [lookup] = [i for i in cloud.invocations if i.token == LOOKUP]
    assert lookup.args["scimId"] == str(EXISTING)
    assert number == EXISTING
    assert application == stable_uuid("databricks-application", str(EXISTING))
    assert cloud.named("jobs-policy-jobs-runner").inputs["servicePrincipalId"] == EXISTING


def test_an_existing_service_principal_given_as_a_string_of_digits_is_the_number(cloud):
    deploy(lambda: trust(service_principal_id=str(EXISTING)).audience)
    assert cloud.named("jobs-policy-jobs-runner").inputs["servicePrincipalId"] == EXISTING


def test_one_policy_per_trusted_role_named_by_its_key(cloud):
    ids = deploy(lambda: trust(subjects={"Dev_jobs": ROLE, "dev-sso": SSO_ROLE}).policy_ids)
    subjects = {r.inputs["policyId"]: r.inputs["oidcPolicy"]["subject"] for r in cloud.of_type(POLICY)}
    assert ids == ["dev-jobs", "dev-sso"]
    assert subjects == {"dev-jobs": ROLE, "dev-sso": SSO_ROLE}


def test_a_custom_audience_is_every_policys_only_audience(cloud):
    audience = deploy(lambda: trust(audience="databricks", subjects={"a": ROLE, "b": SSO_ROLE}).audience)
    assert audience == "databricks"
    assert [r.inputs["oidcPolicy"]["audiences"] for r in cloud.of_type(POLICY)] == [["databricks"], ["databricks"]]


def test_every_child_is_parented_to_the_component_and_named_after_it(cloud):
    deploy(lambda: trust(subjects={"a": ROLE, "b": SSO_ROLE}).audience)
    component = cloud.named("jobs")
    assert component.type == "outbound-federation:index:DatabricksServicePrincipalTrust"
    assert {r.name for r in cloud.children_of(component.urn)} == {"jobs-sp", "jobs-policy-a", "jobs-policy-b"}
    assert len(cloud.registrations) == 4


# -- outputs -----------------------------------------------------------------------------------------

def test_the_token_endpoint_is_the_accounts_by_default(cloud):
    assert deploy(lambda: trust().token_endpoint) == \
        f"https://accounts.cloud.databricks.com/oidc/accounts/{ACCOUNT}/v1/token"


def test_a_workspace_host_gives_the_workspaces_token_endpoint(cloud):
    assert deploy(lambda: trust(workspace_host="https://dbc-a1b2c3d4-e5f6.cloud.databricks.com").token_endpoint) == \
        "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc/v1/token"


def test_the_provider_s_account_console_gives_the_account_endpoint_of_its_cloud(cloud):
    pulumi.runtime.set_all_config({"databricks:host": "https://accounts.azuredatabricks.net",
                                   "databricks:accountId": ACCOUNT})
    assert deploy(lambda: trust().token_endpoint).startswith("https://accounts.azuredatabricks.net/oidc/accounts/")


def test_a_role_can_pin_the_audience_before_the_trust_exists(cloud):
    from components.relying_parties.databricks.component import stack_audience

    def build():
        audience = stack_audience("jobs", {"account_id": ACCOUNT})
        role = FederatedRole("jobs", {"trusted_services": ["lambda.amazonaws.com"], "audiences": [audience]})
        made = trust(subjects={"jobs": role.subject})
        return pulumi.Output.all(role.token_policy, made.audience)

    policy, audience = deploy(build)
    pinned = json.loads(policy)["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
    assert pinned == [audience] == [ACCOUNT]


# -- what it refuses ---------------------------------------------------------------------------------

def test_bad_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: DatabricksServicePrincipalTrust("bad", {
            "issuer": ISSUER + "/", "account_id": "ACCOUNT", "audience": "data bricks",
            "subjects": {"x": "arn:aws:iam::123456789012:role/*"}, "service_principal_id": "abc",
            "workspace_host": "http://dbc"}))
    assert {v.field for v in caught.value.violations} == {
        "issuer", "account_id", "audience", "subjects.x", "service_principal_id", "workspace_host"}
    assert cloud.registrations == {}


def test_more_than_twenty_policies_are_refused(cloud):
    subjects = {f"r{i}": f"arn:aws:iam::123456789012:role/r{i}" for i in range(21)}
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: trust(subjects=subjects))
    assert [v.code for v in caught.value.violations] == ["databricks.policies.count"]


def test_an_es384_only_role_is_refused(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: trust(signing_algorithms=["ES384"]))
    assert [v.code for v in caught.value.violations] == ["relying-party.algorithm-not-allowed"]


def test_an_output_subject_is_checked_when_it_resolves(cloud):
    with pytest.raises(Exception, match="STS session ARN"):
        deploy(lambda: trust(subjects={"x": pulumi.Output.from_input(
            "arn:aws:sts::123456789012:assumed-role/jobs/session")}).policy_ids)


def test_an_output_issuer_with_a_trailing_slash_fails_instead_of_being_rewritten(cloud):
    with pytest.raises(Exception, match="must not end with a slash"):
        deploy(lambda: trust(issuer=pulumi.Output.from_input(ISSUER + "/")).audience)


def test_a_workspace_level_provider_is_refused_before_anything_is_registered(cloud):
    pulumi.runtime.set_all_config({"databricks:host": "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com"})
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: trust().audience)
    assert [v.code for v in caught.value.violations] == ["databricks.provider.workspace-host"]
    assert cloud.registrations == {}


def test_a_provider_configured_for_another_account_is_refused(cloud):
    pulumi.runtime.set_all_config({"databricks:host": "https://accounts.cloud.databricks.com",
                                   "databricks:accountId": "99999999-8a4f-4b43-9b51-6c0a3f9e2b11"})
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: trust().audience)
    assert [(v.field, v.code) for v in caught.value.violations] == [("account_id", "databricks.provider.account-mismatch")]


def test_an_output_account_id_of_another_account_than_the_provider_fails_when_it_resolves(cloud):
    pulumi.runtime.set_all_config({"databricks:accountId": "99999999-8a4f-4b43-9b51-6c0a3f9e2b11"})
    with pytest.raises(Exception, match="not the account the Databricks provider is configured for"):
        deploy(lambda: trust(account_id=pulumi.Output.from_input(ACCOUNT)).token_endpoint)


def test_an_explicit_provider_is_not_second_guessed(cloud):
    pulumi.runtime.set_all_config({"databricks:host": "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com"})

    def build():
        provider = databricks.Provider("account", host="https://accounts.cloud.databricks.com", account_id=ACCOUNT)
        return DatabricksServicePrincipalTrust("jobs", BASE, pulumi.ResourceOptions(provider=provider)).audience

    assert deploy(build) == ACCOUNT


def test_the_audience_rule_is_the_components_audience(cloud):
    assert deploy(lambda: trust().audience) == rules.databricks_audience(BASE)
