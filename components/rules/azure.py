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

from . import WARNING, Violation, check_int_range, check_length, has_whitespace, is_plain
from . import aws as aws_rules

MAX_CREDENTIALS = 20
MIN_CREDENTIAL_NAME_LENGTH = 3
MAX_CREDENTIAL_NAME_LENGTH = 120
MAX_CLAIM_LENGTH = 600
MAX_DESCRIPTION_LENGTH = 600
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
WILDCARDS = ("*", "?")
REQUIRED_ALGORITHM = "RS256"

CREDENTIAL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Microsoft.ManagedIdentity/userAssignedIdentities: 3-128 alphanumerics, hyphens and underscores.
IDENTITY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
# Resource groups: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.
RESOURCE_GROUP_PATTERN = re.compile(r"^[\w().-]{0,89}[\w()-]$")
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID_PATTERN = re.compile(f"^{GUID}$")
SUBSCRIPTION_SCOPE_PATTERN = re.compile(f"^/subscriptions/(?P<subscription>{GUID})(?:/[^/]+)*$", re.IGNORECASE)
MANAGEMENT_GROUP_SCOPE_PATTERN = re.compile(
    r"^/providers/Microsoft\.Management/managementGroups/[^/]+(?:/[^/]+)*$", re.IGNORECASE
)
# A role definition given by its full ID (subscription, management-group or tenant form) is used as is.
ROLE_DEFINITION_ID_PATTERN = re.compile(
    f"^(?:/subscriptions/{GUID}|/providers/Microsoft\\.Management/managementGroups/[^/]+)?"
    f"/providers/Microsoft\\.Authorization/roleDefinitions/(?P<guid>{GUID})$",
    re.IGNORECASE,
)

# Regions where a user-assigned managed identity cannot hold FICs (ARM answers 405), compared
# lower-case without spaces so "Malaysia South" and "malaysiasouth" both match.
UNSUPPORTED_IDENTITY_REGIONS = ("malaysiasouth",)

# Built-in role names -> role definition GUIDs. These GUIDs are the same in every tenant.
BUILT_IN_ROLES: dict[str, str] = {
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
# Roles that may write role assignments: whoever holds one can grant itself anything at the scope.
PRIVILEGED_ROLE_GUIDS = frozenset({
    BUILT_IN_ROLES["Owner"],
    BUILT_IN_ROLES["User Access Administrator"],
    BUILT_IN_ROLES["Role Based Access Control Administrator"],
})
# Settings that would make a flexible credential. Refused: the AWS issuer is not supported.
FLEXIBLE_CREDENTIAL_KEYS = ("claims_matching_expression", "claimsMatchingExpression")

_ROLES_BY_KEY = {name.lower().replace(" ", ""): name for name in BUILT_IN_ROLES}
_STS_SESSION_ARN = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/")


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
            f"credentials ({total} asked); split the roles over more apps or identities",
        )]
    return []


def check_existing_credential_count(value: Any, field: str) -> list[Violation]:
    return check_int_range(value, field, 0, MAX_CREDENTIALS, "the number of credentials the parent already holds")


def check_credential_name(name: Any, field: str) -> list[Violation]:
    """A FIC name: 3-120 URL-safe characters, first a letter or digit. It cannot be renamed later."""
    found = check_length(name, field, MIN_CREDENTIAL_NAME_LENGTH, MAX_CREDENTIAL_NAME_LENGTH, "a credential name")
    if not found and not CREDENTIAL_NAME_PATTERN.match(name):
        found.append(Violation(
            field, name, "may only hold letters, digits, '-' and '_', and must start with a letter or digit",
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
                f"clashes with credential {seen[key]!r}: names must be unique per app or identity, ignoring case",
            ))
        else:
            seen[key] = name
    return found


def _check_exact_value(value: Any, field: str, what: str, whitespace: bool = True) -> list[Violation]:
    """A value Entra compares character for character: bounded, no wildcard, no stray space."""
    found = check_length(value, field, 1, MAX_CLAIM_LENGTH, what)
    if not isinstance(value, str) or not value:
        return found
    if whitespace and has_whitespace(value):
        found.append(Violation(
            field, value,
            "must not contain whitespace (leading, trailing or inner): Entra compares it exactly and a stray "
            "space blocks the token exchange",
        ))
    wildcards = [w for w in WILDCARDS if w in value]
    if wildcards:
        found.append(Violation(
            field, value,
            f"must not contain {' or '.join(repr(w) for w in wildcards)}: federated credentials match exactly, "
            "and flexible (wildcard) credentials do not support the AWS issuer",
        ))
    return found


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
            "arn:aws:iam::<account>:role/<path/><name> (use FederatedRole.subject)",
        )]
    return found + aws_rules.check_role_arn(subject, field)


def check_fic_audience(audience: Any, field: str) -> list[Violation]:
    """Exactly one audience per credential. A one-item list is accepted; more is an error."""
    if isinstance(audience, (list, tuple)):
        if len(audience) != 1:
            return [Violation(
                field, audience,
                f"has {len(audience)} audiences: Entra allows exactly one audience per federated credential "
                f"(use {DEFAULT_AUDIENCE})",
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
                "once per app or identity",
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
            "credentials, which must be known at preview (the role ARNs may be Outputs)",
        )]
    if not isinstance(subjects, Mapping):
        return [Violation(
            field, subjects,
            "must be a map of credential name to role ARN, "
            "e.g. {reports-reader: arn:aws:iam::123456789012:role/reports}",
        )]
    if not subjects:
        return [Violation(field, "0 credentials", "needs at least one credential name -> role ARN")]
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
        return [Violation(field, location, "must be an Azure region, e.g. westeurope")]
    if location.replace(" ", "").lower() in UNSUPPORTED_IDENTITY_REGIONS:
        return [Violation(
            field, location,
            "cannot hold federated identity credentials: Azure does not support them on managed identities "
            "in Malaysia South; put the identity in another region",
        )]
    return []


def check_rs256_allowed(signing_algorithms: Any, field: str) -> list[Violation]:
    """Entra only supports RS256-signed assertions, so a role it trusts must be allowed RS256."""
    if not isinstance(signing_algorithms, (list, tuple)):
        return [Violation(field, signing_algorithms, "must be a list of signing algorithms, e.g. [RS256]")]
    names = aws_rules.signing_algorithm_names(signing_algorithms)
    if REQUIRED_ALGORITHM not in names:
        return [Violation(
            field, names,
            "does not allow RS256: Entra only accepts RS256-signed assertions, so the workload must "
            "request RS256 for Azure; ES384-only roles cannot sign in to Entra",
        )]
    if len(set(names)) > 1:
        return [Violation(
            field, names,
            "allows more than RS256: the workload must request RS256 for Azure (Entra only accepts "
            "RS256-signed assertions)",
            WARNING,
        )]
    return []


def check_guid(value: Any, field: str, what: str) -> list[Violation]:
    if not isinstance(value, str) or not GUID_PATTERN.match(value):
        return [Violation(field, value, f"must be {what}: a GUID such as 00000000-0000-0000-0000-000000000000")]
    return []


def check_identity_name(name: Any, field: str) -> list[Violation]:
    if not isinstance(name, str) or not IDENTITY_NAME_PATTERN.match(name):
        return [Violation(
            field, name,
            "must be a managed identity name: 3-128 letters, digits, '-' and '_', starting with a letter or digit",
        )]
    return []


def check_resource_group_name(name: Any, field: str) -> list[Violation]:
    if not isinstance(name, str) or not RESOURCE_GROUP_PATTERN.match(name):
        return [Violation(
            field, name,
            "must be a resource group name: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'",
        )]
    return []


def check_description(value: Any, field: str) -> list[Violation]:
    return check_length(value, field, 0, MAX_DESCRIPTION_LENGTH, "a description")


def check_display_name(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not value.strip():
        return [Violation(field, value, "must be a non-empty string (the app registration's name)")]
    return []


# ---------------------------------------------------------------------------------------------
# Role assignments
# ---------------------------------------------------------------------------------------------

def check_arm_scope(scope: Any, field: str) -> list[Violation]:
    """A subscription, resource group or resource ID, or a management group."""
    if not isinstance(scope, str) or not scope:
        return [Violation(field, scope, "must be an Azure scope such as /subscriptions/<id>/resourceGroups/<name>")]
    if has_whitespace(scope):
        return [Violation(field, scope, "must not contain whitespace")]
    if scope.endswith("/"):
        return [Violation(field, scope, "must not end with a slash")]
    if "//" in scope:
        return [Violation(field, scope, "must not have an empty segment ('//')")]
    if SUBSCRIPTION_SCOPE_PATTERN.match(scope) or MANAGEMENT_GROUP_SCOPE_PATTERN.match(scope):
        return []
    return [Violation(
        field, scope,
        "must be an Azure scope: /subscriptions/<subscription GUID>[/resourceGroups/<name>[/providers/...]] "
        "or /providers/Microsoft.Management/managementGroups/<name>",
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
            "definition GUID instead (az role definition list --name '<role name>' --query [].name -o tsv)",
        )]
    if resolved.lower() in PRIVILEGED_ROLE_GUIDS:
        return [Violation(
            field, role,
            "may assign roles, so a workload holding it can grant itself more access at the scope; "
            "prefer a narrower role",
            WARNING,
        )]
    return []


def check_role_assignment(assignment: Any, field: str) -> list[Violation]:
    if not isinstance(assignment, Mapping):
        return [Violation(field, assignment, "must be a map with a scope and a role")]
    found = []
    for key in ("scope", "role"):
        if assignment.get(key) is None:
            found.append(Violation(f"{field}.{key}", None, "is required"))
    extra = sorted(set(assignment) - {"scope", "role"})
    for key in extra:
        found.append(Violation(f"{field}.{key}", assignment[key], "is not a known setting (known: scope, role)"))
    if assignment.get("scope") is not None and is_plain(assignment["scope"]):
        found += check_arm_scope(assignment["scope"], f"{field}.scope")
    if assignment.get("role") is not None and is_plain(assignment["role"]):
        found += check_role(assignment["role"], f"{field}.role")
    return found


def check_role_assignments(assignments: Any, field: str) -> list[Violation]:
    """A list of {scope, role}; the same role on the same scope only once."""
    if not isinstance(assignments, (list, tuple)):
        return [Violation(field, assignments, "must be a list of {scope, role}")]
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
                    f"repeats {field}[{seen[key]}]: each role is assigned once per scope",
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
                "Terraform Cloud issuers, not an AWS account issuer; list each role in subjects",
            ))
    issuer = args.get("issuer")
    if issuer is None:
        found.append(Violation(field("issuer"), None, "is required: the AWS account issuer (AccountFederation.issuer)"))
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
                f"only applies with {spell(existing_key)} (a new app or identity starts with none)",
            ))
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of credential name to role ARN"))
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
                    "exists and is not managed here",
                ))
        if _present(args, "role_assignments") and not _present(args, "existing_service_principal_object_id"):
            found.append(Violation(
                field("role_assignments"), f"{len(args['role_assignments'])} assignments",
                f"need {spell('existing_service_principal_object_id')} with an existing app: roles are "
                "assigned to the app's service principal, which is not looked up",
            ))
    elif _present(args, "existing_service_principal_object_id"):
        found.append(Violation(
            field("existing_service_principal_object_id"), args["existing_service_principal_object_id"],
            f"only applies with {spell('existing_application_object_id')} (a new app gets its own service principal)",
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
        found.append(Violation(field("resource_group_name"), None, "is required: the identity's resource group"))
    if existing:
        for key in IDENTITY_CREATION_FIELDS:
            if _present(args, key):
                found.append(Violation(
                    field(key), args[key],
                    f"cannot be combined with {spell('existing_identity_name')}: the identity already exists "
                    "and is not managed here",
                ))
    else:
        if not _present(args, "identity_name"):
            found.append(Violation(
                field("identity_name"), None,
                f"is required: give {spell('identity_name')}, {spell('resource_group_name')} and "
                f"{spell('location')} for a new identity, or {spell('existing_identity_name')} for an existing one",
            ))
        if not _present(args, "location"):
            found.append(Violation(field("location"), None, "is required for a new identity, e.g. westeurope"))
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
