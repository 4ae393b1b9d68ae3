"""AzureAppTrust and AzureManagedIdentityTrust on the mock runtime: what they register, and what they refuse."""

import hashlib
import uuid

import pulumi
import pytest
from conftest import deploy, validation_error_behind

from components import AzureAppTrust, AzureManagedIdentityTrust, ValidationError
from components.relying_parties.azure.component import ROLE_ASSIGNMENT_NAMESPACE
from components.relying_parties.azure.review import MOCK_FACTS
from fedctl.testing.mocks import issuer_for_account, stable_uuid

DEFAULT_SUBSCRIPTION_ID = MOCK_FACTS["subscription_id"]
DEFAULT_TENANT_ID = MOCK_FACTS["tenant_id"]

ISSUER = issuer_for_account("123456789012")
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")
BATCH_ROLE = "arn:aws:iam::123456789012:role/workloads/Batch-Runner"
EXPORT_ROLE = "arn:aws:iam::123456789012:role/Exporter"
RG_SCOPE = f"/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/reports"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
EXISTING_APP = "11111111-2222-3333-4444-555555555555"
EXISTING_SP = "66666666-7777-8888-9999-000000000000"

APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


def app(**extra):
    return {"issuer": ISSUER, "subjects": {"sso-readonly": SSO_ROLE}, **extra}


def identity(**extra):
    return {"issuer": ISSUER, "subjects": {"sso-readonly": SSO_ROLE}, "identity_name": "reports-reader",
            "resource_group_name": "reports", "location": "westeurope", **extra}


def role_definition(guid, subscription=DEFAULT_SUBSCRIPTION_ID):
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def problems(error):
    """(field as the user wrote it, code) of every violation a ValidationError holds."""
    return [(v.field, v.code) for v in error.violations]




# -- AzureAppTrust: a new app ---------------------------------------------------------------------

def test_a_credential_copies_issuer_subject_and_audience_exactly_for_a_role_with_a_path(cloud):
    deploy(lambda: AzureAppTrust("reports", app()).client_id)
    credential = cloud.named("reports-credential-sso-readonly")
    assert credential.type == APP_FIC
    assert credential.inputs["issuer"] == ISSUER
    assert credential.inputs["subject"] == SSO_ROLE
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["displayName"] == "sso-readonly"
    assert credential.inputs["applicationId"] == f"/applications/{cloud.named('reports-app').outputs['objectId']}"


def test_one_credential_is_made_per_subject_named_by_its_key(cloud):
    names = deploy(lambda: AzureAppTrust("reports", app(
        subjects={"sso-readonly": SSO_ROLE, "batch": BATCH_ROLE})).credential_names)
    subjects = {r.inputs["displayName"]: r.inputs["subject"] for r in cloud.of_type(APP_FIC)}
    assert names == ["sso-readonly", "batch"]
    assert subjects == {"sso-readonly": SSO_ROLE, "batch": BATCH_ROLE}


def test_a_custom_audience_is_the_credentials_only_audience(cloud):
    deploy(lambda: AzureAppTrust("reports", app(audience="api://Custom-Exchange")).client_id)
    assert cloud.named("reports-credential-sso-readonly").inputs["audiences"] == ["api://Custom-Exchange"]


def test_a_new_app_gets_a_service_principal_and_exposes_its_ids(cloud):
    client_id, tenant_id, object_id, principal_id = deploy(lambda: outputs(
        AzureAppTrust("reports", app()), "client_id", "tenant_id", "application_object_id",
        "service_principal_object_id"))
    application, principal = cloud.named("reports-app"), cloud.named("reports-sp")
    assert application.inputs["displayName"] == "reports"
    assert principal.inputs["clientId"] == client_id == application.outputs["clientId"]
    assert object_id == application.outputs["objectId"]
    assert principal_id == principal.outputs["objectId"]
    assert tenant_id == DEFAULT_TENANT_ID


def test_the_deployer_owns_a_new_app_unless_owners_are_given(cloud):
    deploy(lambda: AzureAppTrust("reports", app(
        display_name="Reports Reader", description="Nightly reports")).client_id)
    application = cloud.named("reports-app").inputs
    assert application["owners"] == [stable_uuid("deployer-object")]
    assert (application["displayName"], application["description"]) == ("Reports Reader", "Nightly reports")
    assert cloud.named("reports-credential-sso-readonly").inputs["description"] == "Nightly reports"


def test_every_child_of_an_app_trust_is_parented_to_the_component(cloud):
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}])).client_id)
    component = cloud.named("reports")
    assert component.type == "outbound-federation:index:AzureAppTrust"
    children = cloud.children_of(component.urn)
    assert len(children) == len(cloud.registrations) - 1
    assert {r.type for r in children} == {
        "azuread:index/application:Application", "azuread:index/servicePrincipal:ServicePrincipal",
        APP_FIC, ROLE_ASSIGNMENT}


def test_no_flexible_credential_is_ever_registered(cloud):
    deploy(lambda: AzureAppTrust("reports", app(subjects={"a-1": SSO_ROLE, "b-2": BATCH_ROLE})).client_id)
    assert not [r for r in cloud.registrations.values() if "flexible" in r.type.lower()]
    assert all("claimsMatchingExpression" not in r.inputs for r in cloud.registrations.values())


# -- role assignments -----------------------------------------------------------------------------

def test_a_role_assignment_names_scope_role_definition_and_service_principal(cloud):
    principal_id = deploy(lambda: AzureAppTrust("reports", app(role_assignments=[
        {"scope": RG_SCOPE, "role": "Storage Blob Data Reader"}])).service_principal_object_id)
    [assignment] = cloud.of_type(ROLE_ASSIGNMENT)
    assert assignment.inputs["scope"] == RG_SCOPE
    assert assignment.inputs["roleDefinitionId"] == role_definition(BLOB_READER)
    assert assignment.inputs["principalId"] == principal_id == cloud.named("reports-sp").outputs["objectId"]
    assert assignment.inputs["principalType"] == "ServicePrincipal"


def test_a_role_assignment_name_is_a_uuid5_of_component_scope_and_role(cloud):
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}])).client_id)
    [assignment] = cloud.of_type(ROLE_ASSIGNMENT)
    expected = str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"reports/{RG_SCOPE.lower()}/{READER}"))
    assert assignment.inputs["roleAssignmentName"] == expected


@pytest.mark.parametrize("scope, role", [
    (RG_SCOPE, "Reader"),
    (RG_SCOPE, "reader"),
    (RG_SCOPE, READER.upper()),
    (RG_SCOPE, role_definition(READER)),
    (RG_SCOPE.replace("resourceGroups/reports", "resourcegroups/REPORTS"), "Reader"),
], ids=["name", "lower-case-name", "guid", "full-id", "scope-case"])
def test_respelling_a_role_or_scope_keeps_the_same_assignment(cloud, scope, role):
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{"scope": scope, "role": role}])).client_id)
    [assignment] = cloud.of_type(ROLE_ASSIGNMENT)
    assert assignment.name == f"reports-reader-{hashlib.sha256(RG_SCOPE.lower().encode()).hexdigest()[:8]}"
    assert assignment.inputs["roleAssignmentName"] == str(
        uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"reports/{RG_SCOPE.lower()}/{READER}"))
    assert assignment.inputs["scope"] == scope


def test_a_full_role_definition_id_is_passed_as_is(cloud):
    custom = role_definition("99999999-8888-7777-6666-555555555555")
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{"scope": RG_SCOPE, "role": custom}])).client_id)
    assert cloud.of_type(ROLE_ASSIGNMENT)[0].inputs["roleDefinitionId"] == custom


def test_a_scope_in_another_subscription_gets_that_subscriptions_role_definition(cloud):
    other = "abcdefab-cdef-abcd-efab-cdefabcdefab"
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[
        {"scope": f"/subscriptions/{other}", "role": "Reader"}])).client_id)
    assert cloud.of_type(ROLE_ASSIGNMENT)[0].inputs["roleDefinitionId"] == role_definition(READER, other)


def test_a_management_group_scope_uses_the_tenant_level_role_definition(cloud):
    scope = "/providers/Microsoft.Management/managementGroups/platform"
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{"scope": scope, "role": "Reader"}])).client_id)
    assert cloud.of_type(ROLE_ASSIGNMENT)[0].inputs["roleDefinitionId"] == \
        f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"


def test_an_output_scope_and_role_are_resolved_and_checked(cloud):
    deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{
        "scope": pulumi.Output.from_input(RG_SCOPE), "role": pulumi.Output.from_input("Reader")}])).client_id)
    assignment = cloud.named("reports-role-assignment-0")
    assert assignment.inputs["scope"] == RG_SCOPE
    assert assignment.inputs["roleDefinitionId"] == role_definition(READER)
    assert assignment.inputs["roleAssignmentName"] == str(
        uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"reports/{RG_SCOPE.lower()}/{READER}"))


def test_an_output_role_that_is_unknown_fails_when_it_resolves(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureAppTrust("reports", app(role_assignments=[{
            "scope": RG_SCOPE, "role": pulumi.Output.from_input("Magic")}])).client_id)
    assert [(v.field, v.value, v.code) for v in validation_error_behind(raised).violations] == [
        ("role_assignments[0].role", "Magic", "azure.role.unknown")]


# -- AzureAppTrust: an existing app ---------------------------------------------------------------

def test_an_existing_app_only_gets_credentials(cloud):
    client_id, object_id, principal_id = deploy(lambda: outputs(
        AzureAppTrust("legacy", app(existing_application_object_id=EXISTING_APP)),
        "client_id", "application_object_id", "service_principal_object_id"))
    assert {r.type for r in cloud.registrations.values()} == {"outbound-federation:index:AzureAppTrust", APP_FIC}
    credential = cloud.named("legacy-credential-sso-readonly")
    assert credential.inputs["applicationId"] == f"/applications/{EXISTING_APP}"
    assert (credential.inputs["issuer"], credential.inputs["subject"]) == (ISSUER, SSO_ROLE)
    assert client_id == stable_uuid("client", EXISTING_APP)
    assert object_id == EXISTING_APP
    assert principal_id is None
    lookup = [i for i in cloud.invocations if i.token == "azuread:index/getApplication:getApplication"]
    assert lookup[0].args == {"objectId": EXISTING_APP}


def test_an_existing_apps_roles_go_to_the_service_principal_given(cloud):
    deploy(lambda: AzureAppTrust("legacy", app(
        existing_application_object_id=EXISTING_APP, existing_service_principal_object_id=EXISTING_SP,
        role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}])).client_id)
    assert cloud.of_type(ROLE_ASSIGNMENT)[0].inputs["principalId"] == EXISTING_SP


def test_an_existing_app_without_its_service_principal_gets_no_role_assignments(cloud):
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: AzureAppTrust("legacy", app(
            existing_application_object_id=EXISTING_APP, role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}])))
    assert problems(refused.value) == [("role_assignments", "azure.app.role-assignments-need-principal")]
    assert cloud.registrations == {}


# -- AzureAppTrust: validation --------------------------------------------------------------------

def test_bad_app_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: AzureAppTrust("reports", {
            "issuer": ISSUER + "/", "subjects": {"x": SSO_ROLE, "dup-of-x": SSO_ROLE, "star": BATCH_ROLE + "*"},
            "audience": ["api://AzureADTokenExchange", "other"], "signing_algorithms": ["ES384"],
            "role_assignments": [{"scope": "/subscriptions/prod", "role": "Magic"}],
        }))
    assert caught.value.label == "AzureAppTrust 'reports'"
    assert problems(caught.value) == [
        ("issuer", "aws.issuer.trailing-slash"), ("subjects.x", "azure.credential-name.length"),
        ("subjects.star", "azure.fic.wildcard"), ("subjects.star", "aws.role-arn.format"),
        ("subjects.dup-of-x", "azure.fic.duplicate-pair"), ("audience", "azure.fic-audience.count"),
        ("signing_algorithms", "relying-party.algorithm-not-allowed"), ("role_assignments[0].scope", "azure.scope.format"),
        ("role_assignments[0].role", "azure.role.unknown")]
    assert cloud.registrations == {}


def test_more_than_twenty_credentials_are_refused(cloud):
    subjects = {f"role-{i:02}": f"arn:aws:iam::123456789012:role/r{i}" for i in range(21)}
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: AzureAppTrust("reports", app(subjects=subjects)))
    assert [(v.field, v.value, v.code) for v in refused.value.violations] == [
        ("subjects", "21 credentials", "azure.credentials.count")]
    assert cloud.registrations == {}


def test_an_es384_only_role_is_refused_for_azure(cloud):
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: AzureAppTrust("reports", app(signing_algorithms=["ES384"])))
    assert refused.value.codes == ["relying-party.algorithm-not-allowed"]
    assert cloud.registrations == {}


def test_an_output_of_es384_only_algorithms_fails_when_it_resolves(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureAppTrust("reports", app(signing_algorithms=pulumi.Output.from_input(["ES384"]))).client_id)
    assert problems(validation_error_behind(raised)) == [("signing_algorithms", "relying-party.algorithm-not-allowed")]


def test_an_output_subject_is_copied_exactly_once_resolved(cloud):
    deploy(lambda: AzureAppTrust("reports", app(subjects={"batch": pulumi.Output.from_input(BATCH_ROLE)})).client_id)
    assert cloud.named("reports-credential-batch").inputs["subject"] == BATCH_ROLE


def test_an_output_subject_that_is_not_a_role_arn_fails_when_it_resolves(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureAppTrust("reports", app(subjects={
            "batch": pulumi.Output.from_input("arn:aws:sts::123456789012:assumed-role/b/s")})).client_id)
    assert problems(validation_error_behind(raised)) == [("subjects.batch", "azure.fic-subject.session-arn")]


def test_an_output_subject_that_repeats_another_fails_when_it_resolves(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureAppTrust("reports", app(subjects={
            "sso-readonly": SSO_ROLE, "again": pulumi.Output.from_input(SSO_ROLE)})).client_id)
    assert problems(validation_error_behind(raised)) == [("subjects.again", "azure.fic.duplicate-pair")]


def test_an_output_issuer_with_a_trailing_slash_fails_instead_of_being_rewritten(cloud):
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureAppTrust("reports", app(issuer=pulumi.Output.from_input(ISSUER + "/"))).client_id)
    assert problems(validation_error_behind(raised)) == [("issuer", "aws.issuer.trailing-slash")]


# -- AzureManagedIdentityTrust: a new identity ----------------------------------------------------

def test_a_new_identity_is_created_where_asked(cloud):
    client_id, principal_id, tenant_id, identity_id = deploy(lambda: outputs(
        AzureManagedIdentityTrust("reports", identity(tags={"team": "reporting"})),
        "client_id", "principal_id", "tenant_id", "identity_id"))
    created = cloud.named("reports-identity")
    assert created.type == "azure-native:managedidentity:UserAssignedIdentity"
    assert (created.inputs["resourceName"], created.inputs["resourceGroupName"], created.inputs["location"]) == (
        "reports-reader", "reports", "westeurope")
    assert created.inputs["tags"] == {"team": "reporting"}
    assert (client_id, principal_id, tenant_id) == (
        created.outputs["clientId"], created.outputs["principalId"], DEFAULT_TENANT_ID)
    assert identity_id.endswith("/resourceGroups/reports/providers/Microsoft.ManagedIdentity/"
                                "userAssignedIdentities/reports-reader")


def test_an_identity_credential_copies_issuer_subject_and_audience_exactly(cloud):
    deploy(lambda: AzureManagedIdentityTrust("reports", identity()).client_id)
    credential = cloud.named("reports-credential-sso-readonly")
    assert credential.type == UAMI_FIC
    assert credential.inputs == {
        "federatedIdentityCredentialResourceName": "sso-readonly",
        "resourceName": "reports-reader",
        "resourceGroupName": "reports",
        "issuer": ISSUER,
        "subject": SSO_ROLE,
        "audiences": ["api://AzureADTokenExchange"],
    }


def test_identity_credentials_are_chained_one_after_the_other(cloud):
    deploy(lambda: AzureManagedIdentityTrust("reports", identity(subjects={
        "sso-readonly": SSO_ROLE, "batch": BATCH_ROLE, "export": EXPORT_ROLE})).client_id)
    first, second, third = (cloud.named(f"reports-credential-{k}") for k in ("sso-readonly", "batch", "export"))
    assert first.urn in second.dependencies
    assert second.urn in third.dependencies
    assert not any(r.urn in first.dependencies for r in (second, third))


def test_identity_role_assignments_go_to_its_principal(cloud):
    principal_id = deploy(lambda: AzureManagedIdentityTrust("reports", identity(role_assignments=[
        {"scope": RG_SCOPE, "role": "Storage Blob Data Reader"}])).principal_id)
    [assignment] = cloud.of_type(ROLE_ASSIGNMENT)
    assert assignment.inputs["scope"] == RG_SCOPE
    assert assignment.inputs["roleDefinitionId"] == role_definition(BLOB_READER)
    assert assignment.inputs["principalId"] == principal_id
    assert assignment.inputs["principalType"] == "ServicePrincipal"


def test_every_child_of_an_identity_trust_is_parented_to_the_component(cloud):
    deploy(lambda: AzureManagedIdentityTrust("reports", identity(
        subjects={"sso-readonly": SSO_ROLE, "batch": BATCH_ROLE},
        role_assignments=[{"scope": RG_SCOPE, "role": "Reader"}])).client_id)
    component = cloud.named("reports")
    assert component.type == "outbound-federation:index:AzureManagedIdentityTrust"
    assert {r.name for r in cloud.children_of(component.urn)} == {
        "reports-identity", "reports-credential-sso-readonly", "reports-credential-batch",
        f"reports-reader-{hashlib.sha256(RG_SCOPE.lower().encode()).hexdigest()[:8]}"}


# -- AzureManagedIdentityTrust: an existing identity ----------------------------------------------

def test_an_existing_identity_is_looked_up_and_only_gets_credentials(cloud):
    client_id, principal_id, identity_id = deploy(lambda: outputs(
        AzureManagedIdentityTrust("shared", {
            "issuer": ISSUER, "subjects": {"sso-readonly": SSO_ROLE, "batch": BATCH_ROLE},
            "existing_identity_name": "shared-reader", "resource_group_name": "shared",
            "role_assignments": [{"scope": RG_SCOPE, "role": "Reader"}],
        }), "client_id", "principal_id", "identity_id"))
    assert "azure-native:managedidentity:UserAssignedIdentity" not in {r.type for r in cloud.registrations.values()}
    lookup = [i for i in cloud.invocations if i.token == "azure-native:managedidentity:getUserAssignedIdentity"]
    assert lookup[0].args == {"resourceGroupName": "shared", "resourceName": "shared-reader"}
    first, second = cloud.named("shared-credential-sso-readonly"), cloud.named("shared-credential-batch")
    assert (first.inputs["resourceName"], first.inputs["resourceGroupName"]) == ("shared-reader", "shared")
    assert first.urn in second.dependencies
    assert client_id == stable_uuid("uami-client", "shared", "shared-reader")
    assert cloud.of_type(ROLE_ASSIGNMENT)[0].inputs["principalId"] == principal_id
    assert identity_id.endswith("/userAssignedIdentities/shared-reader")


def test_an_existing_identity_in_malaysia_south_fails_once_its_location_is_known(cloud):
    original = cloud.mocks.call

    def in_malaysia_south(args):
        answer = original(args)
        if args.token == "azure-native:managedidentity:getUserAssignedIdentity":
            answer["location"] = "malaysiasouth"
        return answer

    cloud.mocks.call = in_malaysia_south
    with pytest.raises(Exception) as raised:
        deploy(lambda: AzureManagedIdentityTrust("shared", {
            "issuer": ISSUER, "subjects": {"sso-readonly": SSO_ROLE},
            "existing_identity_name": "shared-reader", "resource_group_name": "shared"}).client_id)
    assert [(v.field, v.value, v.code) for v in validation_error_behind(raised).violations] == [
        ("existing_identity_name", "malaysiasouth", "azure.identity-location.unsupported")]
    assert cloud.of_type(UAMI_FIC) == []


# -- AzureManagedIdentityTrust: validation --------------------------------------------------------

def test_a_new_identity_in_malaysia_south_is_refused_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as refused:
        deploy(lambda: AzureManagedIdentityTrust("reports", identity(location="Malaysia South")))
    assert [(v.field, v.value, v.code) for v in refused.value.violations] == [
        ("location", "Malaysia South", "azure.identity-location.unsupported")]
    assert cloud.registrations == {}


def test_a_new_and_an_existing_identity_together_are_refused(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: AzureManagedIdentityTrust("reports", identity(existing_identity_name="shared-reader")))
    assert problems(caught.value) == [("identity_name", "azure.identity.existing-conflict"),
                                      ("location", "azure.identity.existing-conflict")]
    assert cloud.registrations == {}


def test_bad_identity_input_is_refused_naming_every_field_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: AzureManagedIdentityTrust("reports", {
            "issuer": " " + ISSUER, "subjects": {"ab": "arn:aws:iam::123456789012:role/team?/reader"},
            "identity_name": "-bad", "audience": "api://*"}))
    assert caught.value.label == "AzureManagedIdentityTrust 'reports'"
    assert problems(caught.value) == [
        ("issuer", "aws.issuer.whitespace"), ("subjects.ab", "azure.credential-name.length"),
        ("subjects.ab", "azure.fic.wildcard"), ("audience", "azure.fic.wildcard"),
        ("resource_group_name", "azure.identity.resource-group-missing"),
        ("location", "azure.identity.location-missing"), ("identity_name", "azure.identity-name.format")]
    assert cloud.registrations == {}
