"""Rules for the Azure side: federated identity credentials (FICs) and the role assignments they unlock.

Microsoft Entra matches a token against a FIC by its issuer, subject and audience, exactly and
case-sensitively, with no wildcards. A FIC that cannot match is still accepted when it is created,
and fails only when a workload tries to sign in (``AADSTS700213``). So these rules catch the
mistakes at preview time: at most 20 credentials per app or managed identity, names of 3-120
URL-safe characters, issuer/subject/audience of at most 600 characters with no whitespace or
wildcard, exactly one audience, each (issuer, subject) pair once per parent, a subject that is a
full IAM role ARN (path included), no managed identity in Malaysia South, and RS256 tokens (the
only algorithm Entra supports).

Flexible credentials (``claimsMatchingExpression``, the ones that take ``*`` and ``?``) are never
generated: Entra only accepts them for the GitHub, GitLab and Terraform Cloud issuers, not for an
AWS account issuer. Trust one role per credential instead (20 per app or identity).

Values are never normalised: case is kept exactly as given, because Entra compares it exactly.

Example::

    >>> check_fic_audience("api://AzureADTokenExchange", "audience")
    []
    >>> check_managed_identity_location("Malaysia South", "location")[0].rule.split(":")[0]
    'cannot hold federated identity credentials'
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from ...rules import WARNING, Violation, check_int_range, check_length, has_whitespace, is_plain
from ...rules import aws as aws_rules
from .facts import (
    ACCEPTED_ALGORITHMS,
    BUILT_IN_ROLES,
    CREDENTIAL_NAME_PATTERN,
    DEFAULT_AUDIENCE,
    FLEXIBLE_CREDENTIAL_KEYS,
    GUID_PATTERN,
    IDENTITY_NAME_PATTERN,
    MANAGEMENT_GROUP_SCOPE_PATTERN,
    MAX_CLAIM_LENGTH,
    MAX_CREDENTIALS,
    MAX_CREDENTIAL_NAME_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    MIN_CREDENTIAL_NAME_LENGTH,
    PRIVILEGED_ROLE_GUIDS,
    RESOURCE_GROUP_PATTERN,
    ROLE_DEFINITION_ID_PATTERN,
    SUBSCRIPTION_SCOPE_PATTERN,
    UNSUPPORTED_IDENTITY_REGIONS,
    WILDCARDS,
)

_ROLES_BY_KEY = {name.lower().replace(" ", ""): name for name in BUILT_IN_ROLES}
_STS_SESSION_ARN = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/")


def fic_audience(settings: Mapping[str, Any]) -> Any:
    """The one audience a federated credential trusts: what its roles must request and their policy pin.

    The one definition, used by the stack, the components, the rehearsal and ``fedctl exchange``
    (which reads it back from the ``audience`` output). A one-item list means its item.

    >>> fic_audience({}), fic_audience({"audience": ["api://custom"]})
    ('api://AzureADTokenExchange', 'api://custom')
    """
    audience = settings.get("audience")
    if audience is None:
        return DEFAULT_AUDIENCE
    return audience[0] if isinstance(audience, (list, tuple)) and len(audience) == 1 else audience


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------

def check_credential_count(planned: Any, field: str, existing_credential_count: int = 0) -> list[Violation]:
    """At most 20 FICs per app or identity, counting those it already holds.

    ``planned`` is the number of credentials this stack adds, or the collection of them.
    """
    count = planned if isinstance(planned, int) else len(planned)
    existing = existing_credential_count if isinstance(existing_credential_count, int) else 0
    total = count + existing
    if total > MAX_CREDENTIALS:
        held = f" plus {existing} it already holds" if existing else ""
        return [Violation(
            field, f"{count} credentials{held}",
            f"is too many: an app or managed identity holds at most {MAX_CREDENTIALS} federated "
            f"credentials ({total} asked); split the roles over more apps or identities", code="azure.credentials.count",
        )]
    return []


def check_existing_credential_count(value: Any, field: str) -> list[Violation]:
    return check_int_range(value, field, 0, MAX_CREDENTIALS, "the number of credentials the parent already holds",
                           code="azure.existing-credential-count")


def check_credential_name(name: Any, field: str) -> list[Violation]:
    """A FIC name: 3-120 URL-safe characters, first a letter or digit. It cannot be renamed later."""
    found = check_length(name, field, MIN_CREDENTIAL_NAME_LENGTH, MAX_CREDENTIAL_NAME_LENGTH, "a credential name",
                         code="azure.credential-name")
    if not found and not CREDENTIAL_NAME_PATTERN.match(name):
        found.append(Violation(
            field, name, "may only hold letters, digits, '-' and '_', and must start with a letter or digit", code="azure.credential-name.charset",
        ))
    return found


def check_credential_names(names: Sequence[Any], field: str) -> list[Violation]:
    """Names must be unique per app or identity; ARM compares resource names ignoring case."""
    found = []
    seen: dict[str, str] = {}
    for name in names:
        sub = f"{field}.{name}"
        found += check_credential_name(name, sub)
        if not isinstance(name, str):
            continue
        key = name.casefold()
        if key in seen:
            found.append(Violation(
                sub, name,
                f"clashes with credential {seen[key]!r}: names must be unique per app or identity, ignoring case", code="azure.credential-name.case-duplicate",
            ))
        else:
            seen[key] = name
    return found


def _check_exact_value(value: Any, field: str, what: str, whitespace: bool = True) -> list[Violation]:
    """A value Entra compares character for character: bounded, no wildcard, no stray space."""
    found = check_length(value, field, 1, MAX_CLAIM_LENGTH, what, code="azure.fic-value")
    if not isinstance(value, str) or not value:
        return found
    if whitespace and has_whitespace(value):
        found.append(Violation(
            field, value,
            "must not contain whitespace (leading, trailing or inner): Entra compares it exactly and a stray "
            "space blocks the token exchange", code="azure.fic.whitespace",
        ))
    wildcards = [w for w in WILDCARDS if w in value]
    if wildcards:
        found.append(Violation(
            field, value,
            f"must not contain {' or '.join(repr(w) for w in wildcards)}: federated credentials match exactly, "
            "and flexible (wildcard) credentials do not support the AWS issuer", code="azure.fic.wildcard",
        ))
    return found


def check_exact_match(value: Any, field: str, what: str) -> list[Violation]:
    """What Entra checks of any credential's issuer or subject: bounded, no wildcard, no stray space."""
    return _check_exact_value(value, field, what)


def check_fic_issuer(issuer: Any, field: str) -> list[Violation]:
    """The account issuer, exactly as in the token's ``iss``: Entra's limits plus the AWS issuer rules."""
    # check_issuer already reports whitespace; don't say it twice.
    found = _check_exact_value(issuer, field, "an issuer", whitespace=False)
    if isinstance(issuer, str) and len(issuer) > MAX_CLAIM_LENGTH:
        return found
    return found + aws_rules.check_issuer(issuer, field)


def check_fic_subject(subject: Any, field: str) -> list[Violation]:
    """The role ARN exactly as in the token's ``sub``: path included, case kept."""
    found = _check_exact_value(subject, field, "a subject")
    if not isinstance(subject, str) or not subject:
        return found
    if _STS_SESSION_ARN.match(subject):
        return found + [Violation(
            field, subject,
            "is an STS session ARN: the token's sub is the role's IAM ARN, "
            "arn:aws:iam::<account>:role/<path/><name> (use FederatedRole.subject)", code="azure.fic-subject.session-arn",
        )]
    return found + aws_rules.check_role_arn(subject, field)


def check_fic_audience(audience: Any, field: str) -> list[Violation]:
    """Exactly one audience per credential. A one-item list is accepted; more is an error."""
    if isinstance(audience, (list, tuple)):
        if len(audience) != 1:
            return [Violation(
                field, audience,
                f"has {len(audience)} audiences: Entra allows exactly one audience per federated credential "
                f"(use {DEFAULT_AUDIENCE})", code="azure.fic-audience.count",
            )]
        audience, field = audience[0], f"{field}[0]"
    return _check_exact_value(audience, field, "an audience")


def check_unique_pairs(pairs: Mapping[str, tuple[Any, Any]], field: str) -> list[Violation]:
    """Each (issuer, subject) pair may appear once per app or identity (Azure answers 400 otherwise).

    ``pairs`` maps credential name -> (issuer, subject); the later duplicate is reported.
    """
    found = []
    seen: dict[tuple[Any, Any], str] = {}
    for name, pair in pairs.items():
        if not all(isinstance(part, str) for part in pair):
            continue
        if pair in seen:
            found.append(Violation(
                f"{field}.{name}", pair[1],
                f"has the same issuer and subject as credential {seen[pair]!r}: each pair may be trusted "
                "once per app or identity", code="azure.fic.duplicate-pair",
            ))
        else:
            seen[pair] = name
    return found


def check_subjects(subjects: Any, field: str, issuer: Any = None,
                   existing_credential_count: int = 0) -> list[Violation]:
    """The credential name -> role ARN map: names, count, subjects and (issuer, subject) uniqueness.

    Output-valued subjects are skipped here; they are checked when they resolve.
    """
    if not is_plain(subjects) and not isinstance(subjects, Mapping):
        return [Violation(
            field, "<Output>",
            "must be a plain map written in the program or config, not an Output: its keys name the "
            "credentials, which must be known at preview (the role ARNs may be Outputs)", code="azure.subjects.output",
        )]
    if not isinstance(subjects, Mapping):
        return [Violation(
            field, subjects,
            "must be a map of credential name to role ARN, "
            "e.g. {reports-reader: arn:aws:iam::123456789012:role/reports}", code="azure.subjects.type",
        )]
    if not subjects:
        return [Violation(field, "0 credentials", "needs at least one credential name -> role ARN", code="azure.subjects.empty")]
    found = check_credential_count(len(subjects), field, existing_credential_count)
    found += check_credential_names(list(subjects), field)
    for name, subject in subjects.items():
        if is_plain(subject):
            found += check_fic_subject(subject, f"{field}.{name}")
    # One issuer per trust, so pairs clash exactly when subjects do, even before the issuer is known.
    shared_issuer = issuer if isinstance(issuer, str) else "<issuer>"
    found += check_unique_pairs(
        {name: (shared_issuer, subject) for name, subject in subjects.items() if is_plain(subject)}, field
    )
    return found


# ---------------------------------------------------------------------------------------------
# Managed identities, signing algorithms, ids
# ---------------------------------------------------------------------------------------------

def check_managed_identity_location(location: Any, field: str) -> list[Violation]:
    if not isinstance(location, str) or not location.strip():
        return [Violation(field, location, "must be an Azure region, e.g. westeurope", code="azure.identity-location.type")]
    if location.replace(" ", "").lower() in UNSUPPORTED_IDENTITY_REGIONS:
        return [Violation(
            field, location,
            "cannot hold federated identity credentials: Azure does not support them on managed identities "
            "in Malaysia South; put the identity in another region", code="azure.identity-location.unsupported",
        )]
    return []


def check_rs256_allowed(signing_algorithms: Any, field: str) -> list[Violation]:
    """Entra only supports RS256-signed assertions, so a role it trusts must be allowed RS256."""
    return aws_rules.check_algorithms_accepted(signing_algorithms, ACCEPTED_ALGORITHMS, "Entra", field)


def check_guid(value: Any, field: str, what: str) -> list[Violation]:
    if not isinstance(value, str) or not GUID_PATTERN.match(value):
        return [Violation(field, value, f"must be {what}: a GUID such as 00000000-0000-0000-0000-000000000000", code="azure.guid.format")]
    return []


def check_identity_name(name: Any, field: str) -> list[Violation]:
    if not isinstance(name, str) or not IDENTITY_NAME_PATTERN.match(name):
        return [Violation(
            field, name,
            "must be a managed identity name: 3-128 letters, digits, '-' and '_', starting with a letter or digit", code="azure.identity-name.format",
        )]
    return []


def check_resource_group_name(name: Any, field: str) -> list[Violation]:
    if not isinstance(name, str) or not RESOURCE_GROUP_PATTERN.match(name):
        return [Violation(
            field, name,
            "must be a resource group name: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'", code="azure.resource-group.format",
        )]
    return []


def check_description(value: Any, field: str) -> list[Violation]:
    return check_length(value, field, 0, MAX_DESCRIPTION_LENGTH, "a description", code="azure.description")


def check_display_name(value: Any, field: str) -> list[Violation]:
    """An app registration's display name: 1-120 characters (Entra's limit), not blank."""
    if not isinstance(value, str) or not value.strip():
        return [Violation(field, value, "must be a non-empty string (the app registration's name)",
                          code="azure.display-name.empty")]
    return check_length(value, field, 1, MAX_DISPLAY_NAME_LENGTH, "an app registration's display name",
                        code="azure.display-name")


# ---------------------------------------------------------------------------------------------
# Role assignments
# ---------------------------------------------------------------------------------------------

def check_arm_scope(scope: Any, field: str) -> list[Violation]:
    """A subscription, resource group or resource ID, or a management group."""
    if not isinstance(scope, str) or not scope:
        return [Violation(field, scope, "must be an Azure scope such as /subscriptions/<id>/resourceGroups/<name>", code="azure.scope.type")]
    if has_whitespace(scope):
        return [Violation(field, scope, "must not contain whitespace", code="azure.scope.whitespace")]
    if scope.endswith("/"):
        return [Violation(field, scope, "must not end with a slash", code="azure.scope.trailing-slash")]
    if "//" in scope:
        return [Violation(field, scope, "must not have an empty segment ('//')", code="azure.scope.empty-segment")]
    if SUBSCRIPTION_SCOPE_PATTERN.match(scope) or MANAGEMENT_GROUP_SCOPE_PATTERN.match(scope):
        return []
    return [Violation(
        field, scope,
        "must be an Azure scope: /subscriptions/<subscription GUID>[/resourceGroups/<name>[/providers/...]] "
        "or /providers/Microsoft.Management/managementGroups/<name>", code="azure.scope.format",
    )]


def scope_subscription(scope: str) -> str | None:
    """The subscription GUID a scope lies in, or None for a management group."""
    match = SUBSCRIPTION_SCOPE_PATTERN.match(scope) if isinstance(scope, str) else None
    return match["subscription"] if match else None


def resolve_role(role: Any) -> tuple[str, str] | None:
    """``("guid", <GUID>)`` for a built-in name or a GUID, ``("id", <ID>)`` for a full role definition ID.

    Built-in names match ignoring case and spaces (``storage blob data reader``). Returns None when
    the role is not recognised.

    >>> resolve_role("Reader")
    ('guid', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    """
    if not isinstance(role, str):
        return None
    if GUID_PATTERN.match(role):
        return ("guid", role)
    if ROLE_DEFINITION_ID_PATTERN.match(role):
        return ("id", role)
    name = _ROLES_BY_KEY.get(role.lower().replace(" ", ""))
    return ("guid", BUILT_IN_ROLES[name]) if name else None


def role_guid(role: Any) -> str | None:
    """The role definition GUID behind a name, GUID or full ID."""
    resolved = resolve_role(role)
    if resolved is None:
        return None
    kind, value = resolved
    return value if kind == "guid" else ROLE_DEFINITION_ID_PATTERN.match(value)["guid"]


def role_definition_id(role: str, subscription_id: str | None) -> str:
    """The ``roleDefinitionId`` of a role assignment: a full ID as given, else built in the scope's
    subscription, or in the tenant-level form (how Azure names built-in roles) for a scope above
    subscriptions, such as a management group.

    >>> role_definition_id("Reader", "00000000-1111-2222-3333-444444444444").split("/")[-1]
    'acdd72a7-3385-48ef-bd42-f606fba81ae7'
    """
    resolved = resolve_role(role)
    if resolved is None:
        raise ValueError(f"unknown role {role!r}: give the role definition GUID")
    kind, value = resolved
    if kind == "id":
        return value
    if subscription_id is None:
        return f"/providers/Microsoft.Authorization/roleDefinitions/{value}"
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{value}"


def check_role(role: Any, field: str) -> list[Violation]:
    """A built-in role name this module knows, a role definition GUID, or a full role definition ID."""
    resolved = role_guid(role)
    if resolved is None:
        return [Violation(
            field, role,
            f"is not a built-in role this toolkit knows ({', '.join(BUILT_IN_ROLES)}): give the role "
            "definition GUID instead (az role definition list --name '<role name>' --query [].name -o tsv)", code="azure.role.unknown",
        )]
    if resolved.lower() in PRIVILEGED_ROLE_GUIDS:
        return [Violation(
            field, role,
            "may assign roles, so a workload holding it can grant itself more access at the scope; "
            "prefer a narrower role",
            WARNING, code="azure.role.privileged",
        )]
    return []


def check_role_assignment(assignment: Any, field: str) -> list[Violation]:
    if not isinstance(assignment, Mapping):
        return [Violation(field, assignment, "must be a map with a scope and a role", code="azure.role-assignment.type")]
    found = []
    for key in ("scope", "role"):
        if assignment.get(key) is None:
            found.append(Violation(f"{field}.{key}", None, "is required", code="azure.role-assignment.missing"))
    extra = sorted(set(assignment) - {"scope", "role"})
    for key in extra:
        found.append(Violation(f"{field}.{key}", assignment[key], "is not a known setting (known: scope, role)", code="azure.role-assignment.unknown-setting"))
    if assignment.get("scope") is not None and is_plain(assignment["scope"]):
        found += check_arm_scope(assignment["scope"], f"{field}.scope")
    if assignment.get("role") is not None and is_plain(assignment["role"]):
        found += check_role(assignment["role"], f"{field}.role")
    return found


def check_role_assignments(assignments: Any, field: str) -> list[Violation]:
    """A list of {scope, role}; the same role on the same scope only once."""
    if not isinstance(assignments, (list, tuple)):
        return [Violation(field, assignments, "must be a list of {scope, role}", code="azure.role-assignments.type")]
    found = []
    seen: dict[tuple[str, str], int] = {}
    for index, assignment in enumerate(assignments):
        sub = f"{field}[{index}]"
        found += check_role_assignment(assignment, sub)
        if not isinstance(assignment, Mapping):
            continue
        scope, role = assignment.get("scope"), role_guid(assignment.get("role"))
        if isinstance(scope, str) and role:
            key = (scope.lower(), role.lower())
            if key in seen:
                found.append(Violation(
                    sub, f"{assignment.get('role')} on {scope}",
                    f"repeats {field}[{seen[key]}]: each role is assigned once per scope", code="azure.role-assignments.duplicate",
                ))
            else:
                seen[key] = index
    return found


# ---------------------------------------------------------------------------------------------
# Component arguments
# ---------------------------------------------------------------------------------------------

def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


def _check_trust_args(args: Mapping[str, Any], prefix: str, spell, existing_key: str) -> list[Violation]:
    """What both trusts share: issuer, subjects, audience, algorithms, role assignments, flexible FICs."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key in FLEXIBLE_CREDENTIAL_KEYS:
        if key in args:
            found.append(Violation(
                f"{prefix}{key}", args[key],
                "is not supported: flexible federated credentials only accept the GitHub, GitLab and "
                "Terraform Cloud issuers, not an AWS account issuer; list each role in subjects", code="azure.flexible-credential",
            ))
    issuer = args.get("issuer")
    if issuer is None:
        found.append(Violation(field("issuer"), None, "is required: the AWS account issuer (AccountFederation.issuer)", code="azure.issuer.missing"))
    elif is_plain(issuer):
        found += check_fic_issuer(issuer, field("issuer"))

    existing_count = args.get("existing_credential_count", 0)
    if "existing_credential_count" in args:
        count_problems = check_existing_credential_count(existing_count, field("existing_credential_count"))
        found += count_problems
        if count_problems:
            existing_count = 0
        elif existing_count and not _present(args, existing_key):
            found.append(Violation(
                field("existing_credential_count"), existing_count,
                f"only applies with {spell(existing_key)} (a new app or identity starts with none)", code="azure.existing-credential-count.without-existing",
            ))
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of credential name to role ARN", code="azure.subjects.missing"))
    else:
        found += check_subjects(
            args["subjects"], field("subjects"), issuer if is_plain(issuer) else None, existing_count
        )

    if args.get("audience") is not None and is_plain(args["audience"]):
        found += check_fic_audience(args["audience"], field("audience"))
    if args.get("signing_algorithms") is not None and is_plain(args["signing_algorithms"]):
        found += check_rs256_allowed(args["signing_algorithms"], field("signing_algorithms"))
    if args.get("role_assignments") is not None:
        found += check_role_assignments(args["role_assignments"], field("role_assignments"))
    return found


def check_azure_app_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on an AzureAppTrust's plain inputs; Output-valued inputs are checked on resolve.

    ``spell`` renders an arg name the way the user wrote it (camelCase in stack config).
    """
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = _check_trust_args(args, prefix, spell, "existing_application_object_id")
    existing = _present(args, "existing_application_object_id")
    checks = {
        "existing_application_object_id": lambda v, f: check_guid(v, f, "the existing application's object ID"),
        "existing_service_principal_object_id": lambda v, f: check_guid(
            v, f, "the existing service principal's object ID"),
        "display_name": check_display_name,
        "description": check_description,
    }
    for key, check in checks.items():
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    if existing:
        for key in ("display_name", "owners"):
            if _present(args, key):
                found.append(Violation(
                    field(key), args[key],
                    f"cannot be combined with {spell('existing_application_object_id')}: the app already "
                    "exists and is not managed here", code="azure.app.existing-conflict",
                ))
        if _present(args, "role_assignments") and not _present(args, "existing_service_principal_object_id"):
            found.append(Violation(
                field("role_assignments"), f"{len(args['role_assignments'])} assignments",
                f"need {spell('existing_service_principal_object_id')} with an existing app: roles are "
                "assigned to the app's service principal, which is not looked up", code="azure.app.role-assignments-need-principal",
            ))
    elif _present(args, "existing_service_principal_object_id"):
        found.append(Violation(
            field("existing_service_principal_object_id"), args["existing_service_principal_object_id"],
            f"only applies with {spell('existing_application_object_id')} (a new app gets its own service principal)", code="azure.app.principal-without-existing",
        ))
    return found


IDENTITY_CREATION_FIELDS = ("identity_name", "location", "tags")


def check_managed_identity_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on an AzureManagedIdentityTrust's plain inputs; Output-valued inputs are checked on resolve.

    A new identity needs identity_name, resource_group_name and location; an existing one needs
    existing_identity_name and resource_group_name.
    """
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = _check_trust_args(args, prefix, spell, "existing_identity_name")
    existing = _present(args, "existing_identity_name")
    if not _present(args, "resource_group_name"):
        found.append(Violation(field("resource_group_name"), None, "is required: the identity's resource group", code="azure.identity.resource-group-missing"))
    if existing:
        for key in IDENTITY_CREATION_FIELDS:
            if _present(args, key):
                found.append(Violation(
                    field(key), args[key],
                    f"cannot be combined with {spell('existing_identity_name')}: the identity already exists "
                    "and is not managed here", code="azure.identity.existing-conflict",
                ))
    else:
        if not _present(args, "identity_name"):
            found.append(Violation(
                field("identity_name"), None,
                f"is required: give {spell('identity_name')}, {spell('resource_group_name')} and "
                f"{spell('location')} for a new identity, or {spell('existing_identity_name')} for an existing one", code="azure.identity.name-missing",
            ))
        if not _present(args, "location"):
            found.append(Violation(field("location"), None, "is required for a new identity, e.g. westeurope", code="azure.identity.location-missing"))
    checks = {
        "identity_name": check_identity_name,
        "existing_identity_name": check_identity_name,
        "resource_group_name": check_resource_group_name,
        "location": check_managed_identity_location,
    }
    for key, check in checks.items():
        if _present(args, key) and is_plain(args[key]):
            found += check(args[key], field(key))
    return found


__all__ = [
    "BUILT_IN_ROLES", "DEFAULT_AUDIENCE", "MAX_CREDENTIALS", "PRIVILEGED_ROLE_GUIDS",
    "check_arm_scope", "check_azure_app_trust_args", "check_credential_count", "check_credential_name",
    "check_credential_names", "check_description", "check_display_name", "check_existing_credential_count",
    "check_fic_audience", "check_fic_issuer", "check_fic_subject", "check_guid", "check_identity_name",
    "check_managed_identity_location", "check_managed_identity_trust_args", "check_resource_group_name",
    "check_role", "check_role_assignment", "check_role_assignments", "check_rs256_allowed", "check_subjects",
    "check_unique_pairs", "resolve_role", "role_definition_id", "role_guid", "scope_subscription",
]
