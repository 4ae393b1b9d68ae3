"""Rules for Databricks service principal federation policies, and the one audience rule.

Databricks lets a workload sign in as a service principal with a token from another issuer when
one of the service principal's federation policies matches it: the token's ``iss`` equals the
policy's issuer, the claim named by ``subject_claim`` (``sub`` unless told otherwise) equals the
policy's subject, and the token's ``aud`` holds one of the policy's audiences (the Databricks
account ID when the policy lists none), all compared exactly, with no wildcards. The token must
be signed with RS256 or ES256 (AWS offers RS256 and ES384: RS256 it is). A service principal holds
at most 20 policies.

So one policy is made per trusted role: the account issuer, the role ARN (path included) as
subject, ``sub`` as the subject claim and one audience. These rules catch at preview what
Databricks would refuse, or accept and never match: a policy that is not exact, a service
principal past 20 policies (counting the policies every workload, account and relying party of
the stack adds, plus those it already holds), IDs in the wrong shape, a provider configured for
another account or for a workspace.

Values are never normalised: Databricks compares them exactly.

Example::

    >>> databricks_audience({"account_id": "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11"})
    '0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11'
    >>> databricks_audience({"account_id": "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11", "audience": "databricks"})
    'databricks'
    >>> policy_id("Dev_EU-reports")
    'dev-eu-reports'
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from ...rules import (
    WARNING,
    Violation,
    check_int_range,
    check_length,
    has_whitespace,
    is_plain,
    whole_number,
)
from ...rules import aws as aws_rules
from ...rules.facts import MAX_AUDIENCE_LENGTH
from .facts import (
    ACCEPTED_ALGORITHMS,
    ACCOUNT_ID_PATTERN,
    ACCOUNT_TOKEN_PATH,
    ACCOUNTS_HOST,
    ACCOUNTS_HOST_PREFIX,
    LONG_POLICY_ID,
    MAX_POLICIES_PER_SERVICE_PRINCIPAL,
    MAX_SAFE_INTEGER,
    POLICY_ID_PATTERN,
    SUBJECT_CLAIM,
    WILDCARDS,
    WORKSPACE_TOKEN_PATH,
)

_STS_SESSION_ARN = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/")
_AWS_ISSUER_HOST = ".tokens.sts.global.api.aws"


# ---------------------------------------------------------------------------------------------
# What the stack and the components build
# ---------------------------------------------------------------------------------------------

def databricks_audience(settings: Mapping[str, Any]) -> Any:
    """The one audience a policy lists: what its roles must request and their token policies pin.

    The Databricks account ID unless ``audience`` says otherwise. The account ID is Databricks' own
    default (a policy written without audiences accepts exactly it, and the Databricks SDKs ask for
    it on the account host), and it is this account's alone: a token minted for it is useless at
    any other Databricks account that trusts the same role. AWS's guide uses ``databricks``;
    set ``audience: databricks`` to follow it. The one definition, used by the stack, the
    component, the rehearsal and ``fedctl exchange`` (which reads it back from the ``audience``
    output).
    """
    audience = settings.get("audience")
    return audience if audience is not None else settings.get("account_id")


def policy_id(credential_name: str) -> str:
    """The federation policy ID for a trusted role's credential name (``<stack>-<workload>``).

    Databricks takes lower-case letters, digits and hyphens, so the name is lower-cased and any
    other character becomes a hyphen. Stable: the ID names the policy for good.
    """
    return re.sub(r"[^a-z0-9-]", "-", credential_name.lower())


def service_principal_number(value: Any) -> int | None:
    """A service principal ID as the int the provider takes: an int, or a string of digits."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    number = whole_number(value)
    return number if number is not None and number > 0 else None


def token_endpoint(*, account_id: str | None = None, workspace_host: str | None = None,
                   accounts_host: str = ACCOUNTS_HOST) -> str:
    """Where the AWS token is exchanged: the workspace's endpoint when a workspace is named (the
    token then works for that workspace's APIs), else the account's.

    >>> token_endpoint(workspace_host="https://dbc-a1b2c3d4-e5f6.cloud.databricks.com")
    'https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc/v1/token'
    >>> token_endpoint(account_id="0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11")
    'https://accounts.cloud.databricks.com/oidc/accounts/0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11/v1/token'
    """
    if workspace_host:
        base = workspace_host if "://" in workspace_host else f"https://{workspace_host}"
        return base.rstrip("/") + WORKSPACE_TOKEN_PATH
    if not account_id:
        raise ValueError("a token endpoint needs a workspace host or the Databricks account ID")
    base = accounts_host if "://" in accounts_host else f"https://{accounts_host}"
    return base.rstrip("/") + ACCOUNT_TOKEN_PATH.format(account_id=account_id)


# ---------------------------------------------------------------------------------------------
# One value at a time
# ---------------------------------------------------------------------------------------------

def check_exact(value: Any, field: str, what: str, code: str) -> list[Violation]:
    """A value Databricks compares character for character: no stray space, no wildcard."""
    if not isinstance(value, str) or not value:
        return [Violation(field, value, f"must be a non-empty string ({what})", code=f"{code}.type")]
    found = []
    if has_whitespace(value):
        found.append(Violation(field, value, "must not contain whitespace: Databricks compares it exactly",
                               code=f"{code}.whitespace"))
    if any(mark in value for mark in WILDCARDS):
        found.append(Violation(
            field, value,
            "must not contain '*' or '?': Databricks has no wildcards, it compares the value exactly, so the "
            "policy would match nothing; give one exact value per policy", code=f"{code}.wildcard",
        ))
    return found


def check_account_id(value: Any, field: str) -> list[Violation]:
    """The Databricks account ID: a lower-case UUID, as the account console shows it."""
    if not isinstance(value, str) or not ACCOUNT_ID_PATTERN.match(value):
        return [Violation(
            field, value,
            "must be the Databricks account ID, a lower-case UUID such as 0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11 "
            "(account console, top right)", code="databricks.account-id.format",
        )]
    return []


def check_audience(value: Any, field: str) -> list[Violation]:
    """The one audience of the policies: 1-1000 characters (what AWS lets a role request), exact."""
    if isinstance(value, (list, tuple)):
        return [Violation(field, value, "must be one audience (a string): each policy lists exactly the audience "
                                        "its roles request", code="databricks.audience.type")]
    found = check_exact(value, field, "an audience", "databricks.audience")
    if not found:
        found += check_length(value, field, 1, MAX_AUDIENCE_LENGTH, "an audience", code="databricks.audience")
    return found


def check_service_principal_id(value: Any, field: str) -> list[Violation]:
    """An existing service principal's ID: the number in its account-console URL (not its application ID)."""
    number = service_principal_number(value)
    if number is None:
        hint = (" (that is its application ID; give the numeric ID)"
                if isinstance(value, str) and len(value) == 36 and value.count("-") == 4 else "")
        return [Violation(
            field, value,
            f"must be a service principal ID: a positive whole number, as in the account console's URL{hint}",
            code="databricks.service-principal-id.format",
        )]
    if number > MAX_SAFE_INTEGER:
        return [Violation(
            field, value,
            f"is larger than {MAX_SAFE_INTEGER}: Pulumi carries numbers as doubles, so the provider would get "
            "another ID", code="databricks.service-principal-id.precision",
        )]
    return []


def check_display_name(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not value.strip():
        return [Violation(field, value, "must be a non-empty string (the new service principal's name)",
                          code="databricks.display-name.empty")]
    return []


def check_description(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str):
        return [Violation(field, value, "must be a string", code="databricks.description.type")]
    return []


def check_existing_policy_count(value: Any, field: str) -> list[Violation]:
    return check_int_range(value, field, 0, MAX_POLICIES_PER_SERVICE_PRINCIPAL,
                           "the number of federation policies the service principal already holds",
                           code="databricks.existing-policy-count")


def check_policy_count(planned: int, field: str, existing: int = 0, where: str = "") -> list[Violation]:
    """At most 20 federation policies per service principal, counting those it already holds."""
    total = planned + existing
    if total <= MAX_POLICIES_PER_SERVICE_PRINCIPAL:
        return []
    held = f" plus {existing} it already holds" if existing else ""
    return [Violation(
        field, f"{planned} policies{held}{where}",
        f"is too many: a Databricks service principal holds at most {MAX_POLICIES_PER_SERVICE_PRINCIPAL} "
        f"federation policies ({total} asked); spread the roles over more service principals",
        code="databricks.policies.count",
    )]


def check_policy_ids(names: Sequence[Any], field: str) -> list[Violation]:
    """The policy IDs made from the credential names: Databricks' charset, each once per service principal."""
    found: list[Violation] = []
    seen: dict[str, str] = {}
    for name in names:
        sub = f"{field}.{name}"
        if not isinstance(name, str) or not name:
            found.append(Violation(sub, name, "must be a non-empty name (it becomes the policy ID)",
                                   code="databricks.policy-id.type"))
            continue
        made = policy_id(name)
        if not POLICY_ID_PATTERN.match(made) or not made.strip("-"):
            found.append(Violation(sub, name, "gives no usable policy ID: use letters, digits and hyphens",
                                   code="databricks.policy-id.format"))
            continue
        if made in seen:
            found.append(Violation(
                sub, name,
                f"gives the policy ID {made!r}, like {seen[made]!r}: policy IDs are lower-case and unique per "
                "service principal", code="databricks.policy-id.duplicate",
            ))
            continue
        seen[made] = name
        if len(made) > LONG_POLICY_ID:
            found.append(Violation(
                sub, name,
                f"gives a policy ID of {len(made)} characters: Databricks refuses long policy IDs (its limit is "
                "not documented; a 93-character one was refused); prefer shorter stack and workload names",
                WARNING, code="databricks.policy-id.long",
            ))
    return found


def check_issuer(issuer: Any, field: str) -> list[Violation]:
    """The issuer of the policies this toolkit makes: the AWS account issuer, exactly as in ``iss``."""
    found = [v for v in check_exact(issuer, field, "the account issuer", "databricks.issuer")
             if v.code != "databricks.issuer.whitespace"]  # check_issuer says it too
    if any(v.code == "databricks.issuer.type" for v in found):
        return found
    return found + aws_rules.check_issuer(issuer, field)


def check_policy_issuer(issuer: Any, field: str) -> list[Violation]:
    """Any policy's issuer, as the pack sees it: an https URL Databricks compares exactly.

    An AWS account issuer gets the AWS rules; one that tries to be (an AWS host with a slash or a
    path) gets them too, as errors; any other well-formed https issuer (GitHub Actions, say) is only
    pointed out: this toolkit's AWS rules do not apply to it.
    """
    found = check_exact(issuer, field, "an issuer", "databricks.issuer")
    if found:
        return found
    parts = urlsplit(issuer)
    if aws_rules.is_aws_issuer(issuer) or (parts.hostname or "").endswith(_AWS_ISSUER_HOST):
        return aws_rules.check_issuer(issuer, field)
    if parts.scheme != "https" or not parts.hostname:
        return [Violation(field, issuer, "must be an https URL: Databricks only takes https issuers",
                          code="databricks.issuer.scheme")]
    return [Violation(
        field, issuer,
        "is not an AWS account issuer (https://<id>.tokens.sts.global.api.aws): this toolkit's AWS rules do not "
        "apply to it, only Databricks' exact matching", WARNING, code="databricks.issuer.not-aws",
    )]


def check_subject(subject: Any, field: str) -> list[Violation]:
    """One exact role ARN, as in the token's ``sub``: path included, case kept."""
    found = check_exact(subject, field, "a role ARN", "databricks.subject")
    if found:
        return found
    if _STS_SESSION_ARN.match(subject):
        return [Violation(
            field, subject,
            "is an STS session ARN: the token's sub is the role's IAM ARN, arn:aws:iam::<account>:role/<path/><name> "
            "(use FederatedRole.subject)", code="databricks.subject.session-arn",
        )]
    return aws_rules.check_role_arn(subject, field)


def check_subject_claim(value: Any, field: str) -> list[Violation]:
    """AWS puts the role ARN in ``sub``; a policy reading another claim never matches an AWS token."""
    if value is not None and value != SUBJECT_CLAIM:
        return [Violation(
            field, value,
            f"must be {SUBJECT_CLAIM!r} for an AWS issuer: AWS tokens carry the role ARN in sub, and their other "
            "claims are nested objects Databricks cannot match", code="databricks.subject-claim.not-sub",
        )]
    return []


def check_workspace_host(value: Any, field: str) -> list[Violation]:
    """A workspace URL, e.g. https://dbc-a1b2c3d4-e5f6.cloud.databricks.com: where tokens are exchanged."""
    if not isinstance(value, str) or not value or has_whitespace(value):
        return [Violation(field, value, "must be a workspace URL such as https://dbc-a1b2c3d4-e5f6.cloud.databricks.com",
                          code="databricks.workspace-host.type")]
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return [Violation(field, value, "must be an https URL of the workspace", code="databricks.workspace-host.scheme")]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return [Violation(field, value, "must be the workspace's bare URL, without a path",
                          code="databricks.workspace-host.path")]
    if parts.hostname.startswith(ACCOUNTS_HOST_PREFIX):
        return [Violation(field, value, "is the account console, not a workspace: leave the setting out to exchange "
                                        "at the account", code="databricks.workspace-host.account-console")]
    return []


def check_provider_config(host: Any, configured_account_id: Any, account_id: Any, field: str) -> list[Violation]:
    """The Databricks provider the policies are made with: account level, and the same account.

    Federation policies are an account API: a provider configured for a workspace cannot make
    them, and one configured for another account would put them where the audience (by default
    that account's ID) does not match.
    """
    found = []
    if isinstance(host, str) and host:
        hostname = urlsplit(host if "://" in host else f"https://{host}").hostname or ""
        if not hostname.startswith(ACCOUNTS_HOST_PREFIX):
            found.append(Violation(
                "databricks:host", host,
                f"is a workspace: federation policies are made at the account level; set databricks:host to the "
                f"account console (https://{ACCOUNTS_HOST} on AWS) and databricks:accountId",
                code="databricks.provider.workspace-host",
            ))
    if isinstance(configured_account_id, str) and configured_account_id and isinstance(account_id, str) \
            and configured_account_id != account_id:
        found.append(Violation(
            field, account_id,
            f"is not the account the Databricks provider is configured for (databricks:accountId "
            f"{configured_account_id!r}): the policies would be made there", code="databricks.provider.account-mismatch",
        ))
    return found


def check_rs256_allowed(signing_algorithms: Any, field: str) -> list[Violation]:
    """Databricks takes RS256 (or ES256, which AWS does not offer): a trusted role must be allowed RS256."""
    return aws_rules.check_algorithms_accepted(signing_algorithms, ACCEPTED_ALGORITHMS, "Databricks", field)


# ---------------------------------------------------------------------------------------------
# Subjects and the whole component
# ---------------------------------------------------------------------------------------------

def check_subjects(subjects: Any, field: str, existing_policy_count: int = 0,
                   count_field: str | None = None) -> list[Violation]:
    """The credential name -> role ARN map: one policy each, at most 20 on the service principal.

    Output-valued subjects are skipped here; they are checked when they resolve. A count over 20
    is reported at ``count_field`` (the setting that names the service principal) when given.
    """
    if not is_plain(subjects) and not isinstance(subjects, Mapping):
        return [Violation(
            field, "<Output>",
            "must be a plain map written in the program or config, not an Output: its keys name the policies, "
            "which must be known at preview (the role ARNs may be Outputs)", code="databricks.subjects.output",
        )]
    if not isinstance(subjects, Mapping):
        return [Violation(field, subjects, "must be a map of policy name to role ARN, "
                                           "e.g. {reports-reader: arn:aws:iam::123456789012:role/reports}",
                          code="databricks.subjects.type")]
    if not subjects:
        return [Violation(field, "0 policies", "needs at least one policy name -> role ARN",
                          code="databricks.subjects.empty")]
    found = check_policy_count(len(subjects), count_field or field, existing_policy_count)
    found += check_policy_ids(list(subjects), field)
    seen: dict[str, str] = {}
    for name, subject in subjects.items():
        if not is_plain(subject):
            continue
        found += check_subject(subject, f"{field}.{name}")
        if isinstance(subject, str) and subject in seen:
            found.append(Violation(
                f"{field}.{name}", subject,
                f"is trusted by policy {seen[subject]!r} already: one policy per role (a second adds nothing and "
                "spends one of the 20)", code="databricks.subject.duplicate",
            ))
        elif isinstance(subject, str):
            seen[subject] = name
    return found


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


def check_databricks_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a DatabricksServicePrincipalTrust's plain inputs; Outputs are checked on resolve.

    A new service principal takes ``display_name`` (optional); an existing one is named by
    ``service_principal_id`` and may declare ``existing_policy_count``.
    """
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found: list[Violation] = []

    issuer = args.get("issuer")
    if issuer is None:
        found.append(Violation(field("issuer"), None, "is required: the AWS account issuer (AccountFederation.issuer)",
                               code="databricks.issuer.missing"))
    elif is_plain(issuer):
        found += check_issuer(issuer, field("issuer"))

    account_id = args.get("account_id")
    if account_id is None:
        found.append(Violation(field("account_id"), None,
                               "is required: the Databricks account ID (the policies live there; it is the default "
                               "audience)", code="databricks.account-id.missing"))
    elif is_plain(account_id):
        found += check_account_id(account_id, field("account_id"))

    if args.get("audience") is not None and is_plain(args["audience"]):
        found += check_audience(args["audience"], field("audience"))

    existing = _present(args, "service_principal_id")
    if existing and is_plain(args["service_principal_id"]):
        found += check_service_principal_id(args["service_principal_id"], field("service_principal_id"))
    if existing and _present(args, "display_name"):
        found.append(Violation(
            field("display_name"), args["display_name"],
            f"cannot be combined with {spell('service_principal_id')}: that service principal already exists and "
            "is not managed here", code="databricks.service-principal.existing-conflict",
        ))
    elif args.get("display_name") is not None and is_plain(args["display_name"]):
        found += check_display_name(args["display_name"], field("display_name"))

    existing_count = 0
    if "existing_policy_count" in args:
        problems = check_existing_policy_count(args["existing_policy_count"], field("existing_policy_count"))
        found += problems
        if not problems:
            existing_count = whole_number(args["existing_policy_count"]) or 0
            if existing_count and not existing:
                found.append(Violation(
                    field("existing_policy_count"), existing_count,
                    f"only applies with {spell('service_principal_id')} (a new service principal starts with none)",
                    code="databricks.existing-policy-count.without-existing",
                ))
                existing_count = 0

    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of policy name to role ARN",
                               code="databricks.subjects.missing"))
    else:
        # Too many policies is the service principal's problem: say so where it is named, if it is.
        named = "service_principal_id" if existing else "display_name" if _present(args, "display_name") else None
        found += check_subjects(args["subjects"], field("subjects"), existing_count, named and field(named))

    if args.get("workspace_host") is not None and is_plain(args["workspace_host"]):
        found += check_workspace_host(args["workspace_host"], field("workspace_host"))
    if args.get("description") is not None and is_plain(args["description"]):
        found += check_description(args["description"], field("description"))
    if args.get("signing_algorithms") is not None and is_plain(args["signing_algorithms"]):
        found += check_rs256_allowed(args["signing_algorithms"], field("signing_algorithms"))
    return found


# ---------------------------------------------------------------------------------------------
# Across the relying parties of a stack
# ---------------------------------------------------------------------------------------------

__all__ = [
    "check_exact", "check_account_id", "check_audience", "check_databricks_trust_args", "check_description", "check_display_name",
    "check_existing_policy_count", "check_issuer", "check_policy_count", "check_policy_ids", "check_policy_issuer",
    "check_provider_config", "check_rs256_allowed", "check_service_principal_id",
    "check_subject", "check_subject_claim", "check_subjects", "check_workspace_host", "databricks_audience",
    "policy_id", "service_principal_number", "token_endpoint",
]
