"""VaultJwtTrust on the mock runtime, and through the stack: what it registers, exports and refuses."""

import json
from dataclasses import replace

import pulumi
import pytest
from conftest import ROOT, deploy

from components import ValidationError, VaultJwtTrust
from components.relying_parties.vault import rules as vault_rules
from fedctl.preview.engine import run_program
from fedctl.preview.graph import build_trust_graph
from fedctl.preview.project import load_project
from fedctl.preview.report import build_plan
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
ADDRESS = "https://vault.example.com:8200"
READER = "arn:aws:iam::123456789012:role/workloads/reader"
WRITER = "arn:aws:iam::123456789012:role/workloads/writer"
BASE = {"address": ADDRESS, "issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"reader": READER},
        "policies": ["reader"]}
BACKEND = "vault:jwt/authBackend:AuthBackend"
ROLE = "vault:jwt/authBackendRole:AuthBackendRole"


def trust(args=None, name="exporter"):
    return VaultJwtTrust(name, {**BASE, **(args or {})})


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


# -- the mount ---------------------------------------------------------------------------------------

def test_the_mount_discovers_and_binds_the_issuer_exactly_and_pins_the_algorithms(cloud):
    deploy(lambda: trust().mount_path)
    mount = cloud.named("exporter-mount")
    assert mount.type == BACKEND
    assert (mount.inputs["oidcDiscoveryUrl"], mount.inputs["boundIssuer"]) == (ISSUER, ISSUER)
    assert mount.inputs["jwtSupportedAlgs"] == ["RS256", "ES384"]
    assert (mount.inputs["path"], mount.inputs["type"]) == ("aws-exporter", "jwt")


def test_the_mock_answers_like_pulumi_vault(cloud):
    mount_path, accessor = deploy(lambda: outputs(trust(), "mount_path", "accessor"))
    assert mount_path == cloud.named("exporter-mount").id == "aws-exporter"
    assert accessor.startswith("auth_jwt_")
    assert cloud.named("exporter-role-reader").id == "auth/aws-exporter/role/reader"


def test_an_existing_mount_gets_roles_and_no_mount(cloud):
    mount_path = deploy(lambda: trust({"existing_mount_path": "jwt-aws"}).mount_path)
    assert cloud.of_type(BACKEND) == [] and mount_path == "jwt-aws"
    assert cloud.named("exporter-role-reader").inputs["backend"] == "jwt-aws"


# -- the roles ---------------------------------------------------------------------------------------

def test_each_role_is_a_jwt_role_bound_to_its_arn_audience_and_account(cloud):
    audience = deploy(lambda: trust().audience)
    role = cloud.named("exporter-role-reader").inputs
    assert (role["roleType"], role["userClaim"], role["roleName"]) == ("jwt", "sub", "reader")
    assert role["boundSubject"] == READER and role["boundAudiences"] == [audience]
    assert role["boundClaims"] == {vault_rules.ACCOUNT_POINTER: ACCOUNT}
    assert role["boundClaimsType"] == "string" and role["disableBoundClaimsParsing"] is True


def test_one_role_per_subject(cloud):
    names = deploy(lambda: trust({"subjects": {"reader": READER, "writer": WRITER}}).role_names)
    assert names == ["reader", "writer"]
    assert cloud.named("exporter-role-writer").inputs["boundSubject"] == WRITER


def test_org_and_ou_pins_are_added_under_their_pointers(cloud):
    deploy(lambda: trust({"org_id": "o-a1b2c3d4e5", "ou_paths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"]}).audience)
    claims = cloud.named("exporter-role-reader").inputs["boundClaims"]
    assert claims[vault_rules.ORG_ID_POINTER] == "o-a1b2c3d4e5"
    assert claims[vault_rules.OU_PATH_POINTER] == "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"


def test_several_allowed_values_turn_comma_parsing_on(cloud):
    ous = ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/"]
    deploy(lambda: trust({"ou_paths": ous}).audience)
    role = cloud.named("exporter-role-reader").inputs
    assert role["boundClaims"][vault_rules.OU_PATH_POINTER] == ",".join(ous)
    assert role["disableBoundClaimsParsing"] is False


def test_the_account_and_region_are_always_mapped_into_metadata(cloud):
    deploy(lambda: trust({"claim_mappings": {vault_rules.aws_pointer("principal_tags", "Team"): "team"}}).audience)
    mappings = cloud.named("exporter-role-reader").inputs["claimMappings"]
    assert set(mappings.values()) == {"aws_account", "source_region", "team"}


def test_tokens_live_fifteen_minutes_and_are_not_renewed_past_that_by_default(cloud):
    deploy(lambda: trust().audience)
    role = cloud.named("exporter-role-reader").inputs
    assert (role["tokenTtl"], role["tokenMaxTtl"], role["tokenPolicies"]) == (900, 900, ["reader"])


def test_a_glob_is_used_only_when_asked_for(cloud):
    deploy(lambda: trust({"bound_claims_type": "glob", "ou_paths": ["o-a1b2c3d4e5/r-ab12/*"]}).audience)
    assert cloud.named("exporter-role-reader").inputs["boundClaimsType"] == "glob"


# -- refusals ----------------------------------------------------------------------------------------

def test_broken_input_is_refused_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as refused:
        trust({"policies": ["root"], "claim_mappings": {"aud": "aud"}})
    assert sorted(v.code for v in refused.value.violations) == ["vault.claim-mappings.non-scalar", "vault.policy.root"]
    assert cloud.registrations == {}


def test_a_subject_output_of_another_account_fails_when_it_resolves(cloud):
    other = pulumi.Output.from_input(READER.replace(ACCOUNT, "210987654321"))
    with pytest.raises(Exception, match="aws.subject.other-account|belongs to account 210987654321"):
        deploy(lambda: trust({"subjects": {"reader": other}}).role_names)


def test_audience_for_matches_the_trust(cloud):
    audience = deploy(lambda: trust({"mount_path": "aws"}).audience)
    assert VaultJwtTrust.audience_for("exporter", ADDRESS, mount_path="aws") == audience == f"{ADDRESS}/v1/auth/aws"


# -- through the stack -------------------------------------------------------------------------------

WORKLOADS = [
    {"name": "secrets-reader", "trustedServices": ["lambda.amazonaws.com"],
     "vault": {"address": ADDRESS, "policies": ["secrets-reader"], "mountPath": "aws-dev",
               "orgId": "o-exampleorg1"}},
    {"name": "secrets-writer", "trustedServices": ["lambda.amazonaws.com"],
     "vault": {"address": ADDRESS, "policies": ["secrets-reader"], "mountPath": "aws-dev",
               "orgId": "o-exampleorg1"}},
]


def project_with(workloads):
    project = load_project(ROOT, "dev")
    return replace(project, config={**project.config, "outbound-federation:workloads": json.dumps(workloads)})


@pytest.fixture(scope="module")
def run():
    return run_program(project_with(WORKLOADS))


def test_workloads_sharing_a_mount_get_one_backend_and_a_role_each(run):
    assert len(run.monitor.of_type(BACKEND)) == 1
    assert sorted(r.inputs["roleName"] for r in run.monitor.of_type(ROLE)) == ["dev-secrets-reader", "dev-secrets-writer"]


def test_the_stack_exports_what_the_exchange_needs(run):
    exported = run.outputs["workloads"]["secrets-writer"]["vault"]
    assert exported == {"audience": f"{ADDRESS}/v1/auth/aws-dev", "address": ADDRESS, "mountPath": "aws-dev",
                        "roles": {"secrets-reader": "dev-secrets-reader", "secrets-writer": "dev-secrets-writer"}}


def test_each_role_pins_the_vault_audience_in_its_token_policy(run):
    for policy in run.monitor.of_type("aws:iam/rolePolicy:RolePolicy"):
        pinned = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]["ForAllValues:StringEquals"]
        assert pinned == {"sts:IdentityTokenAudience": [f"{ADDRESS}/v1/auth/aws-dev"]}


def test_the_role_binds_the_arn_the_stack_created(run):
    arns = {r.outputs["arn"] for r in run.monitor.of_type("aws:iam/role:Role")}
    assert {r.inputs["boundSubject"] for r in run.monitor.of_type(ROLE)} == arns


def test_the_plan_shows_the_issuer_binding_and_each_roles_pins(run):
    lines = [line for resource in build_plan(run).resources for line in resource.details]
    assert f"bound issuer: {ISSUER}" in lines
    assert any(line.startswith("role dev-secrets-reader on auth/aws-dev (jwt)") for line in lines)
    assert any("org_id" in line and "aws_account" in line for line in lines)


def test_the_graph_draws_one_vault_node_with_the_audience_on_each_edge(run):
    graph = build_trust_graph(run)
    [node] = [n for n in graph.nodes if n.startswith("vault:")]
    assert [e.label for e in graph.edges if e.target == node] == [f"{ADDRESS}/v1/auth/aws-dev"] * 2
