"""The Azure side: Entra trusts the AWS account issuer through federated identity credentials (FICs).

Two ways to give AWS roles an Azure identity:

- :class:`AzureAppTrust`: an Entra application and its service principal (or an existing app),
  with one FIC per trusted role. Workloads sign in with the app's client ID.
- :class:`AzureManagedIdentityTrust`: a user-assigned managed identity (new or existing), with one
  FIC per trusted role, created one after the other. Workloads sign in with its client ID.

Both can assign Azure roles to the identity. Each FIC copies the issuer, subject and audience
exactly: Entra compares them character for character, and a FIC that cannot match is accepted at
create time and fails only at sign-in. Only exact credentials are made, never flexible ones
(``claimsMatchingExpression``), which do not support the AWS issuer.

Example::

    account = AccountFederation("acct", {})
    role = FederatedRole("reports", {"trusted_services": ["ec2.amazonaws.com"],
                                     "audiences": ["api://AzureADTokenExchange"]})
    trust = AzureAppTrust("reports", {
        "issuer": account.issuer,
        "subjects": {"reports-reader": role.subject},
        "role_assignments": [{"scope": "/subscriptions/<id>/resourceGroups/reports",
                              "role": "Storage Blob Data Reader"}],
    })
    pulumi.export("client_id", trust.client_id)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
import hashlib
import re
import uuid
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization, managedidentity

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, Violation, is_plain
from . import facts
from . import rules as azure_rules


# Role assignment names are GUIDs; deriving them from (component, scope, role) keeps them stable
# across runs, so a re-run updates the same assignment instead of adding another.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("c2ef74cd-714a-47a3-a55c-d319c21c548a")
# Managed identities are service principals as far as role assignments go. Saying so up front also
# lets ARM accept an assignment for a principal that has not replicated yet.
PRINCIPAL_TYPE = "ServicePrincipal"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------

class AzureRoleAssignment(TypedDict):
    """An Azure role for the trusted identity, at one scope."""

    scope: pulumi.Input[str]
    """Where the role applies: /subscriptions/<id>[/resourceGroups/<name>[/providers/...]] or a management group."""
    role: pulumi.Input[str]
    """A built-in role name (Reader, Storage Blob Data Reader, ...; see rules.azure.BUILT_IN_ROLES), a
    role definition GUID, or a full role definition ID (used as is)."""


# The schema names a type after its class, and the generated SDKs add "Args" to input types, so the
# class is AzureRoleAssignment (SDKs: AzureRoleAssignmentArgs, not AzureRoleAssignmentArgsArgs).
# The old Python name stays importable.
AzureRoleAssignmentArgs = AzureRoleAssignment


class _Credentials:
    """The validated issuer, audience and subjects every FIC of one trust is built from."""

    def __init__(self, args: Mapping[str, Any], label: str, resource: pulumi.Resource):
        self.subjects: dict[str, Any] = dict(args["subjects"])
        self.issuer = checked(args["issuer"], azure_rules.check_fic_issuer, "issuer", label, resource)
        algorithms = args.get("signing_algorithms")
        if algorithms is not None and not is_plain(algorithms):
            # Nothing else consumes the algorithms, so the credentials wait for their check.
            allowed = checked(algorithms, azure_rules.check_rs256_allowed, "signing_algorithms", label, resource)
            self.issuer = pulumi.Output.all(self.issuer, allowed).apply(lambda values: values[0])
        audience = args.get("audience", facts.DEFAULT_AUDIENCE)
        if is_plain(audience):
            self.audience = azure_rules.fic_audience(args)
        else:
            self.audience = checked(audience, azure_rules.check_fic_audience, "audience", label, resource) \
                .apply(lambda value: azure_rules.fic_audience({"audience": value}))
        self.subject_inputs = {key: self._subject(key, label, resource) for key in self.subjects}

    def _subject(self, key: str, label: str, resource: pulumi.Resource) -> Any:
        value = self.subjects[key]
        if is_plain(value):
            return value  # checked, with the other plain subjects, before registration
        keys = list(self.subjects)
        index = keys.index(key)

        def validated(resolved: list[str]) -> str:
            field = f"subjects.{key}"
            found = azure_rules.check_fic_subject(resolved[index], field)
            # One issuer per trust, so (issuer, subject) pairs clash exactly when subjects do. Report
            # the clash once: here when the other credential comes earlier or was already checked.
            for other, other_key in enumerate(keys):
                if other != index and resolved[other] == resolved[index] and (
                        other < index or is_plain(self.subjects[other_key])):
                    found.append(Violation(
                        field, resolved[index],
                        f"has the same issuer and subject as credential {other_key!r}: each pair may be "
                        "trusted once per app or identity", code="azure.fic.duplicate-pair",
                    ))
                    break
            check_resolved(label, found, resource)
            return resolved[index]

        return pulumi.Output.all(*[self.subjects[k] for k in keys]).apply(validated)


def _role_label(role: str) -> str:
    """A readable piece of a logical name, the same however the role was spelt: the built-in name
    (reader, storage-blob-data-reader) or the GUID's first block."""
    guid = azure_rules.role_guid(role).lower()
    name = next((n for n, g in facts.BUILT_IN_ROLES.items() if g == guid), None)
    return _slug(name) if name else guid.split("-")[0]


def _assignment_name(component: str, scope: str, role: str) -> str:
    """A stable GUID for (component, scope, role). ARM compares scopes and role IDs ignoring case,
    so this does too: re-spelling either must not make a second assignment of the same role."""
    key = "/".join([component, scope.lower(), azure_rules.role_guid(role).lower()])
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))


def _assign_roles(component: pulumi.ComponentResource, name: str, label: str,
                  assignments: Sequence[Mapping[str, Any]], principal_id: pulumi.Input[str]) -> list[str]:
    """One RoleAssignment per {scope, role}; returns their logical names."""
    created = []
    for index, assignment in enumerate(assignments):
        scope, role = assignment["scope"], assignment["role"]
        field = f"role_assignments[{index}]"
        if is_plain(scope) and is_plain(role):
            # Named by role and scope, not position, so reordering the list replaces nothing.
            logical = f"{name}-{_role_label(role)}-{hashlib.sha256(scope.lower().encode()).hexdigest()[:8]}"
            assignment_name: Any = _assignment_name(name, scope, role)
            definition: Any = azure_rules.role_definition_id(role, azure_rules.scope_subscription(scope))
        else:
            logical = f"{name}-role-assignment-{index}"

            def valid_assignment(values: list[str], field: str = field) -> list[str]:
                scope_value, role_value = values
                check_resolved(label, azure_rules.check_role_assignment(
                    {"scope": scope_value, "role": role_value}, field), component)
                return values

            resolved = pulumi.Output.all(scope, role).apply(valid_assignment)
            assignment_name = resolved.apply(lambda v: _assignment_name(name, v[0], v[1]))
            scope = resolved.apply(lambda v: v[0])
            definition = resolved.apply(
                lambda v: azure_rules.role_definition_id(v[1], azure_rules.scope_subscription(v[0])))
        authorization.RoleAssignment(
            logical,
            scope=scope,
            role_definition_id=definition,
            principal_id=principal_id,
            principal_type=PRINCIPAL_TYPE,
            role_assignment_name=assignment_name,
            # The name is fixed, so a replacement (e.g. a new principal) must delete the old
            # assignment first: ARM refuses to reuse a name for a different principal.
            opts=pulumi.ResourceOptions(parent=component, delete_before_replace=True),
        )
        created.append(logical)
    return created


# ---------------------------------------------------------------------------------------------
# AzureAppTrust
# ---------------------------------------------------------------------------------------------

class AzureAppTrustArgs(TypedDict):
    """An Entra application (new or existing) that trusts AWS roles, and the Azure roles it holds."""

    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Credential name -> IAM role ARN (FederatedRole.subject, path included). The names (3-120 of
    A-Z a-z 0-9 - _) must be plain; the ARNs may be Outputs. At most 20 per app."""
    audience: NotRequired[pulumi.Input[str]]
    """The one audience the tokens carry. Default api://AzureADTokenExchange."""
    display_name: NotRequired[pulumi.Input[str]]
    """Name of the new app registration. Default: the component name."""
    description: NotRequired[pulumi.Input[str]]
    """Why this trust exists (at most 600 characters); set on the new app and on every credential."""
    owners: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Object IDs owning the new app and service principal. Default: the deploying principal."""
    role_assignments: NotRequired[Sequence[AzureRoleAssignment]]
    """Azure roles for the app's service principal."""
    signing_algorithms: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """The algorithms the trusted roles may request (FederatedRole.signing_algorithms), checked for RS256."""
    existing_application_object_id: NotRequired[pulumi.Input[str]]
    """Add the credentials to this existing app (its object ID) instead of creating one."""
    existing_service_principal_object_id: NotRequired[pulumi.Input[str]]
    """With an existing app: its service principal's object ID, needed for role assignments."""
    existing_credential_count: NotRequired[int]
    """With an existing app: how many FICs it already holds, counted against the limit of 20."""


class AzureAppTrust(ValidatedComponent):
    """An Entra application whose federated credentials trust AWS roles, one credential per role.

    Creates the app and its service principal, or adds the credentials to an existing app
    (``existing_application_object_id``). Each credential trusts one role: the issuer, the role ARN
    as subject and the audience are copied exactly. Role assignments go to the service principal.

    Example::

        trust = AzureAppTrust("reports", {
            "issuer": account.issuer,
            "subjects": {"reports-reader": role.subject},
            "role_assignments": [{"scope": "/subscriptions/<id>", "role": "Reader"}],
        })
        # on AWS: token = sts.get_web_identity_token(Audience=["api://AzureADTokenExchange"], SigningAlgorithm="RS256")
        # az login --service-principal -u <client_id> -t <tenant_id> --federated-token "$token"
    """

    client_id: pulumi.Output[str]
    """The app's client ID: what a workload signs in with."""
    tenant_id: pulumi.Output[str]
    """The Entra tenant to sign in to."""
    application_object_id: pulumi.Output[str]
    """The app registration's object ID."""
    service_principal_object_id: pulumi.Output[Optional[str]]
    """The service principal's object ID (None for an existing app whose principal was not given)."""
    credential_names: pulumi.Output[Sequence[str]]
    """The names of the credentials this component manages, one per trusted role."""
    audience: pulumi.Output[str]
    """The one audience the credentials trust: what the trusted roles must request (and their policies pin)."""

    def __init__(self, name: str, args: AzureAppTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, azure_rules.check_azure_app_trust_args, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        client = azuread.get_client_config_output(opts=invoke)
        credentials = _Credentials(args, self.label, self)
        description = args.get("description")

        existing = args.get("existing_application_object_id")
        if existing:
            object_id = pulumi.Output.from_input(checked(
                existing, lambda v, f: azure_rules.check_guid(v, f, "the existing application's object ID"),
                "existing_application_object_id", self.label, self))
            # The lookup also proves the app exists (and can be read) at preview.
            found = azuread.get_application_output(object_id=object_id, opts=invoke)
            self.client_id = found.client_id
            self.application_object_id = object_id
            application_id = object_id.apply(lambda oid: f"/applications/{oid}")
            principal = args.get("existing_service_principal_object_id")
            self.service_principal_object_id = pulumi.Output.from_input(principal and checked(
                principal, lambda v, f: azure_rules.check_guid(v, f, "the existing service principal's object ID"),
                "existing_service_principal_object_id", self.label, self))
        else:
            # The deployer owns what it creates, so it can keep managing the credentials even with
            # only Application.ReadWrite.OwnedBy.
            owners = args.get("owners") or [client.object_id]
            app = azuread.Application(
                f"{name}-app",
                display_name=args.get("display_name", name),
                description=description,
                owners=owners,
                opts=child,
            )
            principal = azuread.ServicePrincipal(f"{name}-sp", client_id=app.client_id, owners=owners, opts=child)
            self.client_id = app.client_id
            self.application_object_id = app.object_id
            application_id = app.id  # /applications/<object id>, the form the credential wants
            self.service_principal_object_id = principal.object_id

        for key in credentials.subjects:
            azuread.ApplicationFederatedIdentityCredential(
                f"{name}-credential-{key}",
                application_id=application_id,
                display_name=key,
                description=description,
                issuer=credentials.issuer,
                subject=credentials.subject_inputs[key],
                audiences=[credentials.audience],
                opts=child,
            )

        if args.get("role_assignments"):
            _assign_roles(self, name, self.label, args["role_assignments"], self.service_principal_object_id)

        self.tenant_id = client.tenant_id
        self.credential_names = pulumi.Output.from_input(list(credentials.subjects))
        self.audience = pulumi.Output.from_input(credentials.audience)
        self.register_outputs({
            "client_id": self.client_id,
            "tenant_id": self.tenant_id,
            "application_object_id": self.application_object_id,
            "service_principal_object_id": self.service_principal_object_id,
            "credential_names": self.credential_names,
            "audience": self.audience,
        })


# ---------------------------------------------------------------------------------------------
# AzureManagedIdentityTrust
# ---------------------------------------------------------------------------------------------

class AzureManagedIdentityTrustArgs(TypedDict):
    """A user-assigned managed identity (new or existing) that trusts AWS roles, and its Azure roles."""

    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Credential name -> IAM role ARN (FederatedRole.subject, path included). The names (3-120 of
    A-Z a-z 0-9 - _) must be plain; the ARNs may be Outputs. At most 20 per identity."""
    resource_group_name: pulumi.Input[str]
    """The identity's resource group (new or existing identity)."""
    identity_name: NotRequired[pulumi.Input[str]]
    """Name of the new identity (3-128 of A-Z a-z 0-9 - _)."""
    location: NotRequired[pulumi.Input[str]]
    """Region of the new identity, e.g. westeurope. Not Malaysia South, which has no FIC support."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for the new identity."""
    existing_identity_name: NotRequired[pulumi.Input[str]]
    """Add the credentials to this existing identity (in resource_group_name) instead of creating one."""
    existing_credential_count: NotRequired[int]
    """With an existing identity: how many FICs it already holds, counted against the limit of 20."""
    audience: NotRequired[pulumi.Input[str]]
    """The one audience the tokens carry. Default api://AzureADTokenExchange."""
    role_assignments: NotRequired[Sequence[AzureRoleAssignment]]
    """Azure roles for the identity."""
    signing_algorithms: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """The algorithms the trusted roles may request (FederatedRole.signing_algorithms), checked for RS256."""


class AzureManagedIdentityTrust(ValidatedComponent):
    """A user-assigned managed identity whose federated credentials trust AWS roles.

    Creates the identity (``identity_name``, ``resource_group_name``, ``location``) or looks up an
    existing one (``existing_identity_name`` + ``resource_group_name``), then adds one credential per
    role, each created after the previous one: Azure answers 409 to concurrent credential writes
    under one identity. Role assignments go to the identity's principal.

    Example::

        trust = AzureManagedIdentityTrust("reports", {
            "issuer": account.issuer,
            "subjects": {"reports-reader": role.subject},
            "identity_name": "reports-reader",
            "resource_group_name": "reports",
            "location": "westeurope",
            "role_assignments": [{"scope": "/subscriptions/<id>/resourceGroups/reports",
                                  "role": "Storage Blob Data Reader"}],
        })
        pulumi.export("client_id", trust.client_id)
    """

    client_id: pulumi.Output[str]
    """The identity's client ID: what a workload signs in with."""
    principal_id: pulumi.Output[str]
    """The identity's principal (object) ID, which role assignments name."""
    tenant_id: pulumi.Output[str]
    """The Entra tenant to sign in to."""
    identity_id: pulumi.Output[str]
    """The identity's ARM resource ID."""
    credential_names: pulumi.Output[Sequence[str]]
    """The names of the credentials this component manages, one per trusted role."""
    audience: pulumi.Output[str]
    """The one audience the credentials trust: what the trusted roles must request (and their policies pin)."""

    def __init__(self, name: str, args: AzureManagedIdentityTrustArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, azure_rules.check_managed_identity_trust_args, opts)

        credentials = _Credentials(args, self.label, self)
        group = checked(args["resource_group_name"], azure_rules.check_resource_group_name,
                         "resource_group_name", self.label, self)

        existing = args.get("existing_identity_name")
        if existing:
            existing = checked(existing, azure_rules.check_identity_name, "existing_identity_name",
                                self.label, self)

            def usable(found: Any) -> Any:
                # An identity in Malaysia South cannot hold FICs; only Azure knows where it lives.
                check_resolved(self.label, azure_rules.check_managed_identity_location(
                    found.location, "existing_identity_name"), self)
                return found

            found = managedidentity.get_user_assigned_identity_output(
                resource_group_name=group, resource_name=existing,
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).apply(usable)
            self.client_id = found.apply(lambda f: f.client_id)
            self.principal_id = found.apply(lambda f: f.principal_id)
            self.tenant_id = found.apply(lambda f: f.tenant_id)
            self.identity_id = found.apply(lambda f: f.id)
            # The credentials wait for the lookup (and its location check) before being written.
            identity_name: Any = pulumi.Output.all(found, existing).apply(lambda v: v[1])
        else:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-identity",
                resource_name_=checked(args["identity_name"], azure_rules.check_identity_name,
                                        "identity_name", self.label, self),
                resource_group_name=group,
                location=checked(args["location"], azure_rules.check_managed_identity_location,
                                  "location", self.label, self),
                tags=args.get("tags"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.client_id = identity.client_id
            self.principal_id = identity.principal_id
            self.tenant_id = identity.tenant_id
            self.identity_id = identity.id
            identity_name = identity.name

        previous: Optional[pulumi.Resource] = None
        for key in credentials.subjects:
            previous = managedidentity.FederatedIdentityCredential(
                f"{name}-credential-{key}",
                federated_identity_credential_resource_name=key,
                resource_name_=identity_name,
                resource_group_name=group,
                issuer=credentials.issuer,
                subject=credentials.subject_inputs[key],
                audiences=[credentials.audience],
                # One at a time: concurrent writes under one identity get HTTP 409.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
            )

        if args.get("role_assignments"):
            _assign_roles(self, name, self.label, args["role_assignments"], self.principal_id)

        self.credential_names = pulumi.Output.from_input(list(credentials.subjects))
        self.audience = pulumi.Output.from_input(credentials.audience)
        self.register_outputs({
            "client_id": self.client_id,
            "principal_id": self.principal_id,
            "tenant_id": self.tenant_id,
            "identity_id": self.identity_id,
            "credential_names": self.credential_names,
            "audience": self.audience,
        })


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> Any:
    """The audience the roles a credential trusts must request: known from the settings alone."""
    return azure_rules.fic_audience(settings)


def deploy_app(deployment: Any) -> dict:
    """An AzureAppTrust for one relying party of the stack; returns what the stack exports of it."""
    app = AzureAppTrust(deployment.name, {**deployment.settings, "issuer": deployment.issuer,
                                          "subjects": dict(deployment.subjects)}, deployment.opts)
    return {"clientId": app.client_id, "tenantId": app.tenant_id, "audience": app.audience}


def deploy_identity(deployment: Any) -> dict:
    """An AzureManagedIdentityTrust for one relying party of the stack; returns its exports."""
    identity = AzureManagedIdentityTrust(deployment.name, {**deployment.settings, "issuer": deployment.issuer,
                                                           "subjects": dict(deployment.subjects)}, deployment.opts)
    return {"clientId": identity.client_id, "tenantId": identity.tenant_id, "principalId": identity.principal_id,
            "audience": identity.audience, "identityId": identity.identity_id}


__all__ = [
    "AzureAppTrust", "AzureAppTrustArgs", "AzureManagedIdentityTrust", "AzureManagedIdentityTrustArgs",
    "AzureRoleAssignment", "AzureRoleAssignmentArgs", "ValidationError",
]
