"""The Azure rules: each limit accepts what Entra and ARM accept and rejects the rest, naming field, value and rule."""

from enum import Enum

import pytest

from components.rules import ERROR, WARNING, errors, warnings
from components.relying_parties.azure import rules

AWS_ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RG_SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/reports"


class FakeOutput:
    """Looks like a Pulumi Output to is_plain (has apply and is_known)."""

    def apply(self, fn):
        return self

    def is_known(self):
        return False


def problems(found):
    """(field as the user wrote it, code) of each violation: what a test of a rule pins."""
    return [(v.field, v.code) for v in found]


def app_args(**extra):
    return {"issuer": AWS_ISSUER, "subjects": {"sso-readonly": SSO_ROLE}, **extra}


def identity_args(**extra):
    return {"issuer": AWS_ISSUER, "subjects": {"sso-readonly": SSO_ROLE}, "identity_name": "reports-reader",
            "resource_group_name": "reports", "location": "westeurope", **extra}


# -- credential count and names -------------------------------------------------------------------

def test_twenty_credentials_are_accepted():
    assert rules.check_credential_count(20, "subjects") == []


def test_twenty_one_credentials_are_rejected():
    found = rules.check_credential_count(21, "subjects")
    assert problems(found) == [("subjects", "azure.credentials.count")]


def test_credentials_the_parent_already_holds_count_against_the_limit():
    assert rules.check_credential_count(2, "subjects", existing_credential_count=18) == []
    found = rules.check_credential_count(3, "subjects", existing_credential_count=18)
    assert [(v.field, v.value, v.code) for v in found] == [
        ("subjects", "3 credentials plus 18 it already holds", "azure.credentials.count")]


@pytest.mark.parametrize("name", ["abc", "a" * 120, "Reports_Reader-01", "0day"])
def test_credential_names_of_3_to_120_url_safe_characters_are_accepted(name):
    assert rules.check_credential_name(name, "subjects.x") == []


@pytest.mark.parametrize("name, code", [
    ("ab", "azure.credential-name.length"),
    ("a" * 121, "azure.credential-name.length"),
    ("-reports", "azure.credential-name.charset"),
    ("reports.reader", "azure.credential-name.charset"),
    ("reports reader", "azure.credential-name.charset"),
], ids=["too-short", "too-long", "leading-hyphen", "dot", "space"])
def test_credential_names_outside_the_rules_are_rejected(name, code):
    found = rules.check_credential_name(name, "subjects.x")
    assert problems(found) == [("subjects.x", code)]


def test_credential_names_must_be_unique_ignoring_case():
    found = rules.check_credential_names(["reports", "Reports"], "subjects")
    assert [(v.field, v.value, v.code) for v in found] == [
        ("subjects.Reports", "Reports", "azure.credential-name.case-duplicate")]


# -- issuer, subject, audience --------------------------------------------------------------------

def test_an_aws_issuer_is_accepted():
    assert rules.check_fic_issuer(AWS_ISSUER, "issuer") == []


@pytest.mark.parametrize("issuer, code", [
    (AWS_ISSUER + "/", "aws.issuer.trailing-slash"),
    (" " + AWS_ISSUER, "aws.issuer.whitespace"),
    (AWS_ISSUER + " ", "aws.issuer.whitespace"),
    ("https://*.tokens.sts.global.api.aws", "azure.fic.wildcard"),
    ("https://" + "a" * 600 + ".example.com", "azure.fic-value.length"),
    ("http://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws", "aws.issuer.scheme"),
], ids=["trailing-slash", "leading-space", "trailing-space", "wildcard", "too-long", "http"])
def test_an_issuer_entra_cannot_match_is_rejected(issuer, code):
    found = errors(rules.check_fic_issuer(issuer, "issuer"))
    assert problems(found) == [("issuer", code)]


def test_whitespace_in_an_issuer_is_reported_once():
    assert problems(rules.check_fic_issuer(AWS_ISSUER + " ", "issuer")) == [("issuer", "aws.issuer.whitespace")]


def test_a_role_arn_with_a_path_is_a_valid_subject_with_its_case_kept():
    assert rules.check_fic_subject(SSO_ROLE, "subjects.sso") == []


@pytest.mark.parametrize("subject, code", [
    ("arn:aws:iam::123456789012:role/teams/*", "azure.fic.wildcard"),
    ("arn:aws:iam::123456789012:role/team?/reader", "azure.fic.wildcard"),
    (SSO_ROLE + " ", "azure.fic.whitespace"),
    ("arn:aws:iam::123456789012:role/team one/reader", "azure.fic.whitespace"),
    ("arn:aws:iam::123456789012:role/" + "p/" * 300 + "r", "azure.fic-value.length"),
    ("arn:aws:iam::123456789012:user/alice", "aws.role-arn.format"),
    ("", "azure.fic-value.length"),
], ids=["star", "question-mark", "trailing-space", "inner-space", "too-long", "user-arn", "empty"])
def test_a_subject_entra_cannot_match_is_rejected(subject, code):
    found = rules.check_fic_subject(subject, "subjects.sso")
    # Some subjects break a second rule too (a '*' is not a role name either): the one under test must be among them.
    assert ("subjects.sso", code) in problems(found)
    assert all(v.field == "subjects.sso" for v in found)


def test_an_sts_session_arn_is_rejected_with_the_role_arn_to_use_instead():
    found = rules.check_fic_subject("arn:aws:sts::123456789012:assumed-role/reader/i-0abc", "subjects.sso")
    assert problems(found) == [("subjects.sso", "azure.fic-subject.session-arn")]
    # Kept on purpose: the test is about the advice. The message points at the output that holds the right ARN.
    assert "FederatedRole.subject" in found[0].rule


def test_the_default_audience_is_accepted():
    assert rules.check_fic_audience(rules.DEFAULT_AUDIENCE, "audience") == []


def test_a_list_of_one_audience_is_accepted():
    assert rules.check_fic_audience(["api://AzureADTokenExchange"], "audience") == []


def test_more_than_one_audience_is_rejected():
    found = rules.check_fic_audience(["api://AzureADTokenExchange", "https://other"], "audience")
    assert problems(found) == [("audience", "azure.fic-audience.count")]


@pytest.mark.parametrize("audience, code", [
    ("api://*", "azure.fic.wildcard"),
    (" api://AzureADTokenExchange", "azure.fic.whitespace"),
    ("a" * 601, "azure.fic-value.length"),
    ("", "azure.fic-value.length"),
], ids=["wildcard", "leading-space", "too-long", "empty"])
def test_an_audience_entra_cannot_match_is_rejected(audience, code):
    found = rules.check_fic_audience(audience, "audience")
    assert problems(found) == [("audience", code)]


def test_an_issuer_and_subject_pair_may_appear_once_per_parent():
    found = rules.check_unique_pairs({"first": (AWS_ISSUER, SSO_ROLE), "second": (AWS_ISSUER, SSO_ROLE)}, "subjects")
    assert problems(found) == [("subjects.second", "azure.fic.duplicate-pair")]


def test_the_same_subject_under_another_issuer_is_a_different_pair():
    other = AWS_ISSUER.replace("a1d2", "b1d2")
    assert rules.check_unique_pairs({"a": (AWS_ISSUER, SSO_ROLE), "b": (other, SSO_ROLE)}, "subjects") == []


def test_subjects_that_are_not_a_map_are_rejected():
    assert problems(rules.check_subjects([SSO_ROLE], "subjects")) == [("subjects", "azure.subjects.type")]


def test_subjects_given_as_an_output_are_rejected_because_names_must_be_known():
    assert problems(rules.check_subjects(FakeOutput(), "subjects")) == [("subjects", "azure.subjects.output")]


def test_an_empty_subjects_map_is_rejected():
    assert problems(rules.check_subjects({}, "subjects")) == [("subjects", "azure.subjects.empty")]


def test_output_subjects_are_left_for_when_they_resolve():
    assert rules.check_subjects({"later": FakeOutput(), "now": SSO_ROLE}, "subjects", AWS_ISSUER) == []


# -- managed identities and signing algorithms ----------------------------------------------------

@pytest.mark.parametrize("location", ["malaysiasouth", "Malaysia South", "MalaysiaSouth", "MALAYSIA SOUTH"])
def test_malaysia_south_identities_cannot_hold_credentials(location):
    found = rules.check_managed_identity_location(location, "location")
    assert [(v.field, v.value, v.code) for v in found] == [("location", location, "azure.identity-location.unsupported")]


@pytest.mark.parametrize("location", ["westeurope", "West Europe", "malaysiawest"])
def test_other_regions_are_accepted(location):
    assert rules.check_managed_identity_location(location, "location") == []


def test_rs256_alone_is_accepted():
    assert rules.check_rs256_allowed(["RS256"], "signing_algorithms") == []


def test_an_es384_only_role_cannot_sign_in_to_entra():
    found = rules.check_rs256_allowed(["ES384"], "signing_algorithms")
    assert [(v.severity, v.code) for v in found] == [(ERROR, "relying-party.algorithm-not-allowed")]
    assert found[0].field == "signing_algorithms"
    # Kept on purpose: every relying party that restricts algorithms reports this same code on the
    # same field, so the message is where the user learns which party refused.
    assert "Entra" in found[0].rule


def test_rs256_and_es384_together_warn_that_azure_needs_rs256():
    found = rules.check_rs256_allowed(["RS256", "ES384"], "signing_algorithms")
    assert [(v.severity, v.code) for v in found] == [(WARNING, "relying-party.algorithm-choice")]


def test_signing_algorithm_enum_members_are_read_by_value():
    class Algorithm(str, Enum):
        RS256 = "RS256"

    assert rules.check_rs256_allowed([Algorithm.RS256], "signing_algorithms") == []


# -- role assignments -----------------------------------------------------------------------------

@pytest.mark.parametrize("scope", [
    f"/subscriptions/{SUBSCRIPTION}",
    RG_SCOPE,
    f"{RG_SCOPE}/providers/Microsoft.Storage/storageAccounts/reports/blobServices/default/containers/daily",
    "/providers/Microsoft.Management/managementGroups/platform",
], ids=["subscription", "resource-group", "resource", "management-group"])
def test_arm_scopes_are_accepted(scope):
    assert rules.check_arm_scope(scope, "role_assignments[0].scope") == []


@pytest.mark.parametrize("scope, code", [
    ("/subscriptions/prod/resourceGroups/reports", "azure.scope.format"),
    ("subscriptions/" + SUBSCRIPTION, "azure.scope.format"),
    ("/", "azure.scope.trailing-slash"),
    (RG_SCOPE + "/", "azure.scope.trailing-slash"),
    (f"/subscriptions/{SUBSCRIPTION}//resourceGroups/x", "azure.scope.empty-segment"),
    (RG_SCOPE + " ", "azure.scope.whitespace"),
], ids=["not-a-guid", "no-leading-slash", "root", "trailing-slash", "empty-segment", "whitespace"])
def test_scopes_that_are_not_arm_scopes_are_rejected(scope, code):
    found = rules.check_arm_scope(scope, "role_assignments[0].scope")
    assert problems(found) == [("role_assignments[0].scope", code)]


def test_the_built_in_role_table_holds_the_well_known_guids():
    assert rules.BUILT_IN_ROLES == {
        "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
        "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
        "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    }


@pytest.mark.parametrize("role", ["Storage Blob Data Reader", "storage blob data reader", "StorageBlobDataReader"])
def test_built_in_role_names_match_ignoring_case_and_spaces(role):
    assert rules.role_guid(role) == "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert rules.check_role(role, "role") == []


def test_a_role_definition_guid_is_accepted_for_custom_roles():
    assert rules.check_role("11111111-2222-3333-4444-555555555555", "role") == []


def test_an_unknown_role_name_asks_for_the_guid():
    found = rules.check_role("Storage Blob Data Owner", "role_assignments[0].role")
    assert [(v.field, v.code, v.severity) for v in found] == [("role_assignments[0].role", "azure.role.unknown", ERROR)]
    # Kept on purpose: the test is about the advice. The message asks for the role definition GUID.
    assert "role definition GUID" in found[0].rule


@pytest.mark.parametrize("role", ["Owner", "User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"])
def test_roles_that_can_assign_roles_only_warn(role):
    found = rules.check_role(role, "role")
    assert [(v.code, v.severity) for v in found] == [("azure.role.privileged", WARNING)]


def test_the_role_definition_id_is_built_in_the_given_subscription():
    assert rules.role_definition_id("Reader", SUBSCRIPTION) == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        "acdd72a7-3385-48ef-bd42-f606fba81ae7")


def test_a_full_role_definition_id_is_used_as_is():
    full = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/" \
           "11111111-2222-3333-4444-555555555555"
    assert rules.check_role(full, "role") == []
    assert rules.role_definition_id(full, "ffffffff-ffff-ffff-ffff-ffffffffffff") == full


def test_the_subscription_of_a_scope_is_read_from_it():
    assert rules.scope_subscription(RG_SCOPE) == SUBSCRIPTION
    assert rules.scope_subscription("/providers/Microsoft.Management/managementGroups/platform") is None


def test_a_role_assignment_needs_a_scope_and_a_role_and_nothing_else():
    found = rules.check_role_assignments([{"role": "Reader", "principal": "x"}], "role_assignments")
    assert problems(found) == [
        ("role_assignments[0].scope", "azure.role-assignment.missing"),
        ("role_assignments[0].principal", "azure.role-assignment.unknown-setting"),
    ]


def test_the_same_role_on_the_same_scope_is_assigned_once():
    found = rules.check_role_assignments([
        {"scope": RG_SCOPE, "role": "Reader"},
        {"scope": RG_SCOPE, "role": "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
    ], "role_assignments")
    assert problems(found) == [("role_assignments[1]", "azure.role-assignments.duplicate")]


def test_role_assignments_must_be_a_list():
    assert problems(rules.check_role_assignments({"scope": RG_SCOPE}, "role_assignments")) == [
        ("role_assignments", "azure.role-assignments.type")]


# -- AzureAppTrust args ---------------------------------------------------------------------------

def test_minimal_app_trust_args_are_accepted():
    assert rules.check_azure_app_trust_args(app_args()) == []


def test_app_trust_args_need_an_issuer_and_subjects():
    found = rules.check_azure_app_trust_args({})
    assert problems(found) == [("issuer", "azure.issuer.missing"), ("subjects", "azure.subjects.missing")]


def test_app_trust_fields_are_spelt_the_way_the_user_wrote_them():
    from components.stack.config import snake_to_camel

    found = rules.check_azure_app_trust_args(
        app_args(existing_application_object_id="not-a-guid", display_name="reports"),
        "workloads[0].azureApp.", snake_to_camel)
    assert [v.field for v in found] == [
        "workloads[0].azureApp.existingApplicationObjectId", "workloads[0].azureApp.displayName"]


def test_a_new_app_cannot_also_name_an_existing_one():
    found = rules.check_azure_app_trust_args(app_args(
        existing_application_object_id="11111111-2222-3333-4444-555555555555", display_name="reports"))
    assert problems(found) == [("display_name", "azure.app.existing-conflict")]


def test_role_assignments_on_an_existing_app_need_its_service_principal():
    found = rules.check_azure_app_trust_args(app_args(
        existing_application_object_id="11111111-2222-3333-4444-555555555555",
        role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}]))
    assert problems(found) == [("role_assignments", "azure.app.role-assignments-need-principal")]


def test_an_existing_service_principal_only_applies_to_an_existing_app():
    found = rules.check_azure_app_trust_args(app_args(
        existing_service_principal_object_id="11111111-2222-3333-4444-555555555555"))
    assert problems(found) == [("existing_service_principal_object_id", "azure.app.principal-without-existing")]


def test_an_existing_credential_count_only_applies_to_an_existing_app():
    found = rules.check_azure_app_trust_args(app_args(existing_credential_count=3))
    assert problems(found) == [("existing_credential_count", "azure.existing-credential-count.without-existing")]


def test_an_existing_apps_credentials_count_toward_its_limit():
    found = rules.check_azure_app_trust_args(app_args(
        existing_application_object_id="11111111-2222-3333-4444-555555555555", existing_credential_count=20))
    assert problems(found) == [("subjects", "azure.credentials.count")]


def test_a_flexible_credential_expression_is_refused_for_the_aws_issuer():
    found = rules.check_azure_app_trust_args(app_args(
        claims_matching_expression="claims['sub'] matches 'arn:aws:iam::123456789012:role/*'"))
    assert problems(found) == [("claims_matching_expression", "azure.flexible-credential")]


def test_app_trust_args_check_subjects_audience_algorithms_and_roles_together():
    found = rules.check_azure_app_trust_args(app_args(
        subjects={"ok-name": SSO_ROLE, "dup": SSO_ROLE, "x": "not-an-arn"},
        audience=["a", "b"], signing_algorithms=["ES384"],
        role_assignments=[{"scope": "/nowhere", "role": "Magic"}], description="d" * 601))
    assert problems(errors(found)) == [
        ("subjects.x", "azure.credential-name.length"), ("subjects.x", "aws.role-arn.format"),
        ("subjects.dup", "azure.fic.duplicate-pair"), ("audience", "azure.fic-audience.count"),
        ("signing_algorithms", "relying-party.algorithm-not-allowed"), ("role_assignments[0].scope", "azure.scope.format"),
        ("role_assignments[0].role", "azure.role.unknown"), ("description", "azure.description.length")]


def test_output_values_are_skipped_in_app_trust_args():
    assert rules.check_azure_app_trust_args({
        "issuer": FakeOutput(), "subjects": {"later": FakeOutput()}, "audience": FakeOutput(),
        "signing_algorithms": FakeOutput(), "role_assignments": [{"scope": FakeOutput(), "role": FakeOutput()}],
    }) == []


# -- AzureManagedIdentityTrust args ---------------------------------------------------------------

def test_a_new_identity_with_name_group_and_location_is_accepted():
    assert rules.check_managed_identity_trust_args(identity_args()) == []


def test_an_existing_identity_with_its_group_is_accepted():
    assert rules.check_managed_identity_trust_args({
        "issuer": AWS_ISSUER, "subjects": {"sso-readonly": SSO_ROLE},
        "existing_identity_name": "shared-reader", "resource_group_name": "shared"}) == []


def test_a_new_identity_needs_a_name_and_a_location():
    found = rules.check_managed_identity_trust_args({
        "issuer": AWS_ISSUER, "subjects": {"sso-readonly": SSO_ROLE}, "resource_group_name": "reports"})
    assert problems(found) == [("identity_name", "azure.identity.name-missing"),
                               ("location", "azure.identity.location-missing")]


def test_an_identity_always_needs_a_resource_group():
    found = rules.check_managed_identity_trust_args(identity_args(resource_group_name=None))
    assert problems(found) == [("resource_group_name", "azure.identity.resource-group-missing")]


def test_an_existing_identity_cannot_also_be_created():
    found = rules.check_managed_identity_trust_args(identity_args(existing_identity_name="shared-reader"))
    assert problems(found) == [("identity_name", "azure.identity.existing-conflict"),
                               ("location", "azure.identity.existing-conflict")]


def test_a_new_identity_in_malaysia_south_is_refused():
    found = rules.check_managed_identity_trust_args(identity_args(location="Malaysia South"))
    assert problems(found) == [("location", "azure.identity-location.unsupported")]


@pytest.mark.parametrize("key, value, code", [
    ("identity_name", "ab", "azure.identity-name.format"), ("identity_name", "-reader", "azure.identity-name.format"),
    ("resource_group_name", "reports.", "azure.resource-group.format"),
    ("resource_group_name", "a" * 91, "azure.resource-group.format"),
])
def test_identity_and_group_names_follow_arm_naming_rules(key, value, code):
    found = rules.check_managed_identity_trust_args(identity_args(**{key: value}))
    assert problems(found) == [(key, code)]


def test_identity_trust_args_share_the_credential_rules():
    found = rules.check_managed_identity_trust_args(identity_args(
        issuer=AWS_ISSUER + "/", subjects={"a" * 121: SSO_ROLE}, signing_algorithms=["ES384"]))
    assert problems(found) == [("issuer", "aws.issuer.trailing-slash"),
                               ("subjects." + "a" * 121, "azure.credential-name.length"),
                               ("signing_algorithms", "relying-party.algorithm-not-allowed")]


def test_output_values_are_skipped_in_identity_trust_args():
    assert rules.check_managed_identity_trust_args({
        "issuer": FakeOutput(), "subjects": {"later": FakeOutput()}, "identity_name": FakeOutput(),
        "resource_group_name": FakeOutput(), "location": FakeOutput(),
    }) == []


def test_warnings_do_not_block_a_trust():
    found = rules.check_managed_identity_trust_args(identity_args(
        signing_algorithms=["RS256", "ES384"], role_assignments=[{"scope": RG_SCOPE, "role": "Owner"}]))
    assert errors(found) == []
    assert problems(warnings(found)) == [("signing_algorithms", "relying-party.algorithm-choice"),
                                         ("role_assignments[0].role", "azure.role.privileged")]


def test_repeated_subjects_are_caught_before_an_output_issuer_resolves():
    found = rules.check_subjects({"one": SSO_ROLE, "two": SSO_ROLE}, "subjects", FakeOutput())
    assert problems(found) == [("subjects.two", "azure.fic.duplicate-pair")]
