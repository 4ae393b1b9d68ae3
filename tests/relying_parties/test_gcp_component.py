"""GcpWorkloadIdentityTrust on the mock runtime: what it registers, what it outputs, what it refuses."""

import json

import pulumi
import pytest
from conftest import deploy, validation_error_behind
from judges.cel import CelJudge, aws_claims

from components import FederatedRole, GcpWorkloadIdentityTrust, ValidationError
from components.relying_parties.gcp import rules as gcp_rules
from components.relying_parties.gcp.review import MOCK_FACTS
from fedctl.testing.mocks import issuer_for_account

DEFAULT_GCP_PROJECT_NUMBER = MOCK_FACTS["gcp_project_number"]

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
NUMBER = DEFAULT_GCP_PROJECT_NUMBER
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")
EXPORTER = "arn:aws:iam::123456789012:role/workloads/exporter"
SA_EMAIL = "exporter@my-project.iam.gserviceaccount.com"
BASE = {
    "project": "my-project",
    "issuer": ISSUER,
    "aws_account_id": ACCOUNT,
    "subjects": {"sso": SSO_ROLE, "exporter": EXPORTER},
    "service_account_email": SA_EMAIL,
}
POOL_TYPE = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"
PROVIDER_TYPE = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
MEMBER_TYPE = "gcp:serviceaccount/iAMMember:IAMMember"
ACCOUNT_TYPE = "gcp:serviceaccount/account:Account"


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


def trust(args=None, name="exporter"):
    return GcpWorkloadIdentityTrust(name, {**BASE, **(args or {})})


def problems(error):
    """(field as the user wrote it, code) of every violation a ValidationError holds."""
    return [(v.field, v.code) for v in error.violations]




# -- pool and provider -------------------------------------------------------------------------------

def test_the_pool_and_provider_get_default_ids_from_the_name(cloud):
    pool_name, provider_name = deploy(lambda: outputs(trust(), "pool_name", "provider_name"))
    pool, provider = cloud.named("exporter-pool"), cloud.named("exporter-provider")
    assert pool.type == POOL_TYPE and provider.type == PROVIDER_TYPE
    pool_id, provider_id = gcp_rules.default_pool_id("exporter"), gcp_rules.default_provider_id("exporter")
    assert pool.inputs["workloadIdentityPoolId"] == pool_id and pool.inputs["project"] == "my-project"
    assert provider.inputs["workloadIdentityPoolId"] == pool_id
    assert provider.inputs["workloadIdentityPoolProviderId"] == provider_id
    assert pool_name == f"projects/{NUMBER}/locations/global/workloadIdentityPools/{pool_id}"
    assert provider_name == f"{pool_name}/providers/{provider_id}"


def test_the_provider_copies_the_issuer_exactly_and_always_has_a_condition(cloud):
    deploy(lambda: trust().provider_name)
    provider = cloud.named("exporter-provider").inputs
    assert provider["oidc"]["issuerUri"] == ISSUER
    assert provider["oidc"].get("allowedAudiences") in (None, [])
    assert provider["attributeMapping"] == gcp_rules.attribute_mapping()
    assert provider["attributeCondition"] == gcp_rules.attribute_condition(ACCOUNT, [SSO_ROLE, EXPORTER])


def test_the_registered_condition_and_mapping_judged_by_cel(cloud):
    deploy(lambda: trust().provider_name)
    provider = cloud.named("exporter-provider").inputs
    judge, mapping, condition = CelJudge(), provider["attributeMapping"], provider["attributeCondition"]
    for arn in (SSO_ROLE, EXPORTER):
        assert judge.outcome(condition, aws_claims(arn), mapping) is True
    assert judge.outcome(condition, aws_claims("arn:aws:iam::123456789012:role/workloads/other"), mapping) is False
    assert judge.outcome(condition, aws_claims(EXPORTER.replace(ACCOUNT, "210987654321")), mapping) is False
    no_namespace = {k: v for k, v in aws_claims(EXPORTER).items() if k != "https://sts.amazonaws.com/"}
    assert judge.outcome(condition, no_namespace, mapping) is False


def test_explicit_ids_and_allowed_audiences_are_used(cloud):
    audience = deploy(lambda: trust({"pool_id": "aws-pool", "provider_id": "aws-oidc",
                                     "allowed_audiences": ["api://gcp-exporter", "https://other"]}).audience)
    provider = cloud.named("exporter-provider").inputs
    assert (provider["workloadIdentityPoolId"], provider["workloadIdentityPoolProviderId"]) == ("aws-pool", "aws-oidc")
    assert provider["oidc"]["allowedAudiences"] == ["api://gcp-exporter", "https://other"]
    assert audience == "api://gcp-exporter"


def test_a_new_id_generation_gives_a_fresh_pool_and_provider(cloud):
    deploy(lambda: trust({"id_generation": 2}).pool_name)
    assert cloud.named("exporter-pool").inputs["workloadIdentityPoolId"] == gcp_rules.default_pool_id("exporter", 2)
    assert cloud.named("exporter-pool").inputs["workloadIdentityPoolId"] != gcp_rules.default_pool_id("exporter")


def test_the_project_number_is_looked_up(cloud):
    deploy(lambda: trust().audience)
    lookups = [i for i in cloud.invocations if i.token == "gcp:organizations/getProject:getProject"]
    assert lookups and all(i.args.get("projectId") == "my-project" for i in lookups)


# -- bindings ----------------------------------------------------------------------------------------

def test_each_role_gets_workload_identity_user_as_its_own_principal(cloud):
    principals = deploy(lambda: trust().principals)
    pool_id = gcp_rules.default_pool_id("exporter")
    expected = {
        "sso": gcp_rules.principal_for(NUMBER, pool_id, "123456789012:AWSReservedSSO_ReadOnly_0123456789abcdef"),
        "exporter": gcp_rules.principal_for(NUMBER, pool_id, "123456789012:exporter"),
    }
    assert principals == list(expected.values())
    members = cloud.of_type(MEMBER_TYPE)
    assert len(members) == 2
    for label, principal in expected.items():
        binding = cloud.named(f"exporter-binding-{label}").inputs
        assert binding["role"] == "roles/iam.workloadIdentityUser"
        assert binding["member"] == principal
        assert binding["serviceAccountId"] == f"projects/my-project/serviceAccounts/{SA_EMAIL}"
    for member in members:
        assert member.inputs["member"].startswith("principal://")
        assert "principalSet" not in member.inputs["member"] and not member.inputs["member"].endswith("/*")


def test_principals_match_what_the_mapping_produces(cloud):
    principals = deploy(lambda: trust().principals)
    judge = CelJudge()
    for arn, principal in zip((SSO_ROLE, EXPORTER), principals):
        subject = judge.map_attributes(gcp_rules.attribute_mapping(), aws_claims(arn))["google.subject"]
        assert principal.endswith(f"/subject/{subject}")
        assert len(subject.encode()) <= 127


def test_bindings_come_after_the_provider(cloud):
    deploy(lambda: trust().principals)
    provider = cloud.named("exporter-provider")
    for member in cloud.of_type(MEMBER_TYPE):
        assert provider.urn in member.dependencies


def test_a_created_service_account_gets_a_valid_id_and_the_bindings(cloud):
    args = {k: v for k, v in BASE.items() if k != "service_account_email"}
    email = deploy(lambda: GcpWorkloadIdentityTrust("exporter", {**args, "create_service_account": True})
                   .service_account_email)
    account = cloud.named("exporter-sa")
    assert account.type == ACCOUNT_TYPE
    assert gcp_rules.check_service_account_id(account.inputs["accountId"], "sa") == []
    assert account.inputs["project"] == "my-project"
    assert email == account.outputs["email"]
    for member in cloud.of_type(MEMBER_TYPE):
        assert member.inputs["serviceAccountId"] == account.outputs["name"]


def test_every_child_is_parented_to_the_component(cloud):
    args = {k: v for k, v in BASE.items() if k != "service_account_email"}
    deploy(lambda: GcpWorkloadIdentityTrust("exporter", {**args, "create_service_account": True}).principals)
    component = cloud.named("exporter")
    assert component.type == "outbound-federation:index:GcpWorkloadIdentityTrust"
    children = {r.name for r in cloud.children_of(component.urn)}
    assert children == {"exporter-pool", "exporter-provider", "exporter-sa",
                        "exporter-binding-sso", "exporter-binding-exporter"}
    assert len(cloud.registrations) == 1 + len(children)


# -- outputs -----------------------------------------------------------------------------------------

def test_the_audience_is_the_providers_https_name_by_default(cloud):
    audience, provider_name = deploy(lambda: outputs(trust(), "audience", "provider_name"))
    assert audience == f"https://iam.googleapis.com/{provider_name}"


def test_audience_for_equals_the_trusts_audience(cloud):
    before, after = deploy(lambda: pulumi.Output.all(
        GcpWorkloadIdentityTrust.audience_for("exporter", "my-project"), trust().audience))
    assert before == after


@pytest.mark.parametrize("settings", [
    {"pool_id": "aws-pool"},
    {"id_generation": 3},
    {"allowed_audiences": ["api://gcp"]},
])
def test_audience_for_follows_the_same_settings(cloud, settings):
    before, after = deploy(lambda: pulumi.Output.all(
        GcpWorkloadIdentityTrust.audience_for("exporter", "my-project", **settings), trust(settings).audience))
    assert before == after


def test_audience_for_refuses_bad_settings():
    with pytest.raises(ValidationError) as refused:
        GcpWorkloadIdentityTrust.audience_for("exporter", "my-project", pool_id="gcp-x")
    assert [(v.field, v.value, v.code) for v in refused.value.violations] == [
        ("pool_id", "gcp-x", "gcp.id.reserved-prefix")]


def test_a_role_can_pin_the_audience_before_the_trust_exists(cloud):
    def build():
        audience = GcpWorkloadIdentityTrust.audience_for("exporter", "my-project")
        role = FederatedRole("exporter", {"trusted_services": ["lambda.amazonaws.com"], "audiences": [audience]})
        gcp_trust = GcpWorkloadIdentityTrust("exporter", {**BASE, "subjects": {"exporter": role.subject}})
        return pulumi.Output.all(role.token_policy, role.subject, gcp_trust.audience, gcp_trust.principals)

    policy, subject, audience, principals = deploy(build)
    pinned = json.loads(policy)["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
    assert pinned == [audience]
    assert principals == [gcp_rules.principal_for(NUMBER, gcp_rules.default_pool_id("exporter"),
                                                  gcp_rules.mapped_subject(subject))]
    condition = cloud.named("exporter-provider").inputs["attributeCondition"]
    assert CelJudge().outcome(condition, aws_claims(subject, audience=audience), gcp_rules.attribute_mapping())


def test_the_credential_configuration_is_a_google_external_account_config(cloud):
    text, audience, provider_name = deploy(lambda: outputs(trust(), "credential_configuration", "audience",
                                                           "provider_name"))
    config = json.loads(text)
    assert config["type"] == "external_account"
    assert config["audience"] == f"//iam.googleapis.com/{provider_name}"
    assert config["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert config["token_url"] == "https://sts.googleapis.com/v1/token"
    assert config["service_account_impersonation_url"] == (
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken")
    executable = config["credential_source"]["executable"]
    assert executable == {"command": f"fedctl token --audience {audience} --format google-executable",
                          "timeout_millis": 10000}

    from google.auth import pluggable

    credentials = pluggable.Credentials.from_info(config)
    assert credentials.service_account_email == SA_EMAIL
    assert credentials._audience == config["audience"]


def test_subjects_given_as_outputs_are_checked_when_they_resolve(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: trust({"subjects": {"x": pulumi.Output.from_input(
            "arn:aws:iam::210987654321:role/exporter")}}).principals)
    assert problems(validation_error_behind(raised)) == [("subjects.x", "aws.subject.other-account")]


def test_an_output_issuer_is_checked_when_it_resolves(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: trust({"issuer": pulumi.Output.from_input(ISSUER + "/")}).provider_name)
    assert problems(validation_error_behind(raised)) == [("issuer", "aws.issuer.trailing-slash")]


def test_output_subjects_that_overflow_the_condition_fail_the_deployment(cloud):
    arns = {f"r{i}": pulumi.Output.from_input(f"arn:aws:iam::123456789012:role/{'p' * 180}/role-{i}")
            for i in range(25)}
    with pytest.raises(Exception) as raised:
        deploy(lambda: trust({"subjects": arns}).provider_name)
    assert problems(validation_error_behind(raised)) == [("subjects", "gcp.attribute-condition.length")]


# -- validation --------------------------------------------------------------------------------------

def test_bad_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: GcpWorkloadIdentityTrust("bad", {
            "project": "Not A Project", "issuer": "https://example.com/", "aws_account_id": ACCOUNT,
            "subjects": {"x": "arn:aws:iam::210987654321:role/x"}, "pool_id": "gcp-pool",
            "allowed_audiences": ["a b"], "create_service_account": True, "service_account_email": SA_EMAIL,
        }))
    assert caught.value.label == "GcpWorkloadIdentityTrust 'bad'"
    assert problems(caught.value) == [
        ("project", "gcp.project.format"), ("issuer", "aws.issuer.trailing-slash"), ("pool_id", "gcp.id.reserved-prefix"),
        ("allowed_audiences[0]", "gcp.allowed-audience.whitespace"), ("service_account_email", "gcp.service-account.conflict"),
        ("subjects.x", "aws.subject.other-account")]
    assert cloud.registrations == {}


def test_neither_service_account_is_refused(cloud):
    args = {k: v for k, v in BASE.items() if k != "service_account_email"}
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: GcpWorkloadIdentityTrust("x", args))
    assert problems(refused.value) == [("service_account_email", "gcp.service-account.missing")]
    assert cloud.registrations == {}


def test_missing_subjects_are_refused(cloud):
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: GcpWorkloadIdentityTrust("x", {k: v for k, v in BASE.items() if k != "subjects"}))
    assert problems(refused.value) == [("subjects", "gcp.subjects.missing")]
    assert cloud.registrations == {}


def test_the_preview_says_which_issuer_a_restricted_gcp_organisation_must_allow():
    # Nothing offline reads the organisation's policy, so the preview names the exact allowed value.
    from conftest import ROOT

    from components.relying_parties.gcp.facts import PROVIDERS_CONSTRAINT
    from fedctl.preview.engine import run_program
    from fedctl.preview.project import load_project

    run = run_program(load_project(ROOT, "dev"))
    [provider] = run.monitor.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    issuer = provider.inputs["oidc"]["issuerUri"]
    assert [w for w in run.warnings if PROVIDERS_CONSTRAINT in w and w.endswith(issuer)]
