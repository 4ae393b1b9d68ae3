"""Argument checks for the AWS side: the account issuer, token requests, IAM roles, their names and tags.

Each check takes a plain value and the field path as the user wrote it, and returns
:class:`~components.rules.Violation` s with stable codes (``aws.<thing>.<problem>``). The limits
are in :mod:`components.rules.facts`; the documents we generate are built in
:mod:`components.rules.policy_documents`, and any IAM policy (ours or hand-written) is judged in
:mod:`components.rules.policy_audits`.

Example::

    >>> check_audiences(["api://AzureADTokenExchange"], "audiences")
    []
    >>> check_issuer("https://example.com/", "issuer")[0].code
    'aws.issuer.trailing-slash'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from . import (
    WARNING,
    Violation,
    check_booleans,
    check_count,
    check_int_range,
    check_length,
    check_unique,
    has_whitespace,
    is_plain,
)
from .facts import (
    AUTONAME_SUFFIX_LENGTH,
    AWS_ISSUER_PATTERN,
    DEFAULT_DURATION_SECONDS,
    DEFAULT_SIGNING_ALGORITHMS,
    IDENTITY_CENTER_PATH_PREFIX,
    MAX_AUDIENCE_LENGTH,
    MAX_AUDIENCES,
    MAX_DURATION_SECONDS,
    MAX_INLINE_POLICY_NAME_LENGTH,
    MAX_INSTANCE_PROFILE_NAME_LENGTH,
    MAX_ROLE_NAME_LENGTH,
    MAX_ROLE_PATH_LENGTH,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS,
    MIN_DURATION_SECONDS,
    RESERVED_PATH_PREFIXES,
    SIGNING_ALGORITHMS,
)

ACCOUNT_ID_PATTERN = re.compile(r"^\d{12}$")
ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
ROLE_PATH_PATTERN = re.compile(r"^/([\x21-\x7e]+/)?$")
ROLE_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)"
    r":iam::(?P<account>\d{12}):role(?P<path>/(?:[\x21-\x7e]+/)?)(?P<name>[\w+=,.@-]+)$",
    re.ASCII,
)
POLICY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/(?:[\x21-\x7e]+/)?[\w+=,.@-]+$", re.ASCII)
SERVICE_PRINCIPAL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
_TAG_PUNCTUATION = set("_.:/=+-@")

# The physical names FederatedRole leaves to autonaming: (child suffix, limit, what).
AUTONAMED_CHILDREN = (
    ("role", MAX_ROLE_NAME_LENGTH, "an IAM role name"),
    ("token-policy", MAX_INLINE_POLICY_NAME_LENGTH, "an inline policy name"),
    ("instance-profile", MAX_INSTANCE_PROFILE_NAME_LENGTH, "an instance profile name"),
)


@dataclass(frozen=True)
class RoleArn:
    """The parts of an IAM role ARN. ``path`` always starts and ends with ``/``."""

    partition: str
    account_id: str
    path: str
    name: str

    @property
    def is_identity_center(self) -> bool:
        return self.path.startswith(IDENTITY_CENTER_PATH_PREFIX)


def parse_role_arn(arn: Any) -> RoleArn | None:
    """Split a role ARN into its parts, or return None when it is not one.

    >>> parse_role_arn("arn:aws:iam::123456789012:role/teams/payments/exporter").path
    '/teams/payments/'
    """
    match = ROLE_ARN_PATTERN.match(arn) if isinstance(arn, str) else None
    if not match:
        return None
    return RoleArn(match["partition"], match["account"], match["path"], match["name"])


def signing_algorithm_names(algorithms: Sequence[Any]) -> list[str]:
    """Normalise enum members or strings to their wire names ('RS256')."""
    return [getattr(a, "value", a) for a in algorithms]


def is_aws_issuer(issuer: Any) -> bool:
    """Does this look like an AWS account issuer? Rules specific to AWS tokens apply to these only."""
    return isinstance(issuer, str) and bool(AWS_ISSUER_PATTERN.match(issuer))


# ---------------------------------------------------------------------------------------------
# Issuer, account, token request
# ---------------------------------------------------------------------------------------------

def check_issuer(issuer: Any, field: str) -> list[Violation]:
    """The issuer goes into every relying party verbatim, and they compare it exactly."""
    if not isinstance(issuer, str) or not issuer:
        return [Violation(field, issuer, "must be a non-empty https URL (the account's issuer)", code="aws.issuer.type")]
    if has_whitespace(issuer):
        return [Violation(field, issuer, "must not contain whitespace: relying parties compare the issuer exactly",
                          code="aws.issuer.whitespace")]
    parts = urlsplit(issuer)
    found = []
    if parts.scheme != "https":
        found.append(Violation(field, issuer, "must start with https://", code="aws.issuer.scheme"))
    if not parts.hostname:
        found.append(Violation(field, issuer, "must name a host", code="aws.issuer.host"))
    if parts.path == "/" or issuer.endswith("/"):
        found.append(Violation(
            field, issuer,
            "must not end with a slash: relying parties compare the issuer exactly and AWS issuers have none",
            code="aws.issuer.trailing-slash",
        ))
    elif parts.path:
        found.append(Violation(field, issuer, "must not have a path: an AWS account issuer is a bare https origin",
                               code="aws.issuer.path"))
    if parts.query or parts.fragment or "?" in issuer or "#" in issuer:
        found.append(Violation(field, issuer, "must not have a query or fragment", code="aws.issuer.query"))
    if parts.username or parts.password:
        found.append(Violation(field, issuer, "must not carry credentials", code="aws.issuer.credentials"))
    if not found and not is_aws_issuer(issuer):
        found.append(Violation(
            field, issuer,
            "does not look like an AWS account issuer (https://<id>.tokens.sts.global.api.aws); "
            "read it from the account rather than typing it",
            WARNING, code="aws.issuer.unfamiliar",
        ))
    return found


def check_account_id(account_id: Any, field: str) -> list[Violation]:
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.match(account_id):
        return [Violation(field, account_id, "must be a 12-digit AWS account ID, as a string", code="aws.account-id.format")]
    return []


def check_exact_audience(audience: Any, field: str, *, who: str = "relying parties", code: str = "aws.audience",
                         wildcards: str = "*") -> list[Violation]:
    """An audience a role can request (1-1000 characters) that ``who`` compares exactly.

    No whitespace and no wildcard: a ``*`` would be compared as itself, never as a pattern. Each
    relying party passes its own ``code`` prefix (``<code>``, ``<code>.whitespace``, ``<code>.wildcard``).

    >>> [v.code for v in check_exact_audience("api://*", "audience", who="Tailscale", code="tailscale.audience")]
    ['tailscale.audience.wildcard']
    """
    found = check_length(audience, field, 1, MAX_AUDIENCE_LENGTH, "an audience", code=code)
    if found:
        return found
    if has_whitespace(audience):
        found.append(Violation(field, audience, f"must not contain whitespace: {who} compare(s) the audience exactly",
                               code=f"{code}.whitespace"))
    if any(wildcard in audience for wildcard in wildcards):
        shown = " or ".join(repr(w) for w in wildcards)
        found.append(Violation(field, audience, f"must not contain {shown}: {who} compare(s) the audience exactly, "
                                                "never as a pattern", code=f"{code}.wildcard"))
    return found


def check_audiences(audiences: Any, field: str, *, max_count: int = MAX_AUDIENCES,
                    what: str = "audiences per token") -> list[Violation]:
    """Audiences a role may request: 1-10 values of 1-1000 characters, no duplicates.

    An allow-list of audiences (an organisation's guardrail) passes its own ``max_count``.
    """
    found = check_count(audiences, field, 1, max_count, what, code="aws.audiences")
    if not isinstance(audiences, (list, tuple)):
        return found
    for index, audience in enumerate(audiences):
        found += check_exact_audience(audience, f"{field}[{index}]")
    return found + check_unique([a for a in audiences if isinstance(a, str)], field, "audience", code="aws.audiences")


def check_duration_seconds(seconds: Any, field: str) -> list[Violation]:
    return check_int_range(seconds, field, MIN_DURATION_SECONDS, MAX_DURATION_SECONDS, "a token lifetime in seconds",
                           code="aws.duration")


def check_signing_algorithms(algorithms: Any, field: str) -> list[Violation]:
    found = check_count(algorithms, field, 1, len(SIGNING_ALGORITHMS), "signing algorithms", code="aws.algorithms")
    if not isinstance(algorithms, (list, tuple)):
        return found
    names = signing_algorithm_names(algorithms)
    for index, algorithm in enumerate(names):
        if algorithm not in SIGNING_ALGORITHMS:
            found.append(Violation(
                f"{field}[{index}]", algorithm,
                f"is not a signing algorithm AWS offers: use one of {', '.join(SIGNING_ALGORITHMS)}",
                code="aws.algorithm.unknown",
            ))
    return found + check_unique([a for a in names if isinstance(a, str)], field, "signing algorithm",
                                code="aws.algorithms")


def check_signing_algorithm(algorithm: Any, field: str) -> list[Violation]:
    """One algorithm for one token request."""
    if getattr(algorithm, "value", algorithm) not in SIGNING_ALGORITHMS:
        return [Violation(field, algorithm,
                          f"is not a signing algorithm AWS offers: use one of {', '.join(SIGNING_ALGORITHMS)}",
                          code="aws.algorithm.unknown")]
    return []


def check_algorithms_accepted(signing_algorithms: Any, accepted: Sequence[str], relying_party: str,
                              field: str) -> list[Violation]:
    """A role a relying party trusts must be allowed an algorithm that party accepts.

    An error when none is allowed (no token the role can mint would be accepted); a warning when
    others are allowed too (the workload must ask for the accepted one for this party).

    >>> check_algorithms_accepted(["ES384"], ["RS256"], "Entra", "signingAlgorithms")[0].code
    'relying-party.algorithm-not-allowed'
    """
    if not isinstance(signing_algorithms, (list, tuple)):
        return [Violation(field, signing_algorithms, "must be a list of signing algorithms, e.g. [RS256]",
                          code="aws.algorithms.type")]
    names = signing_algorithm_names(signing_algorithms)
    wanted = " or ".join(accepted)
    if not set(names) & set(accepted):
        return [Violation(
            field, names,
            f"does not allow {wanted}: {relying_party} only accepts {wanted}-signed tokens, so the workload must "
            f"request {wanted} for it; add {accepted[0]} to the role's signing algorithms",
            code="relying-party.algorithm-not-allowed",
        )]
    if set(names) - set(accepted):
        return [Violation(
            field, names,
            f"allows more than {wanted}: the workload must request {wanted} for {relying_party} "
            f"({relying_party} only accepts {wanted}-signed tokens)",
            WARNING, code="relying-party.algorithm-choice",
        )]
    return []


# ---------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------

def _tag_text_ok(text: str) -> bool:
    # IAM and STS allow letters, separators, numbers and _.:/=+-@ (the \p{L}\p{Z}\p{N} classes).
    return all(unicodedata.category(ch)[0] in "LZN" or ch in _TAG_PUNCTUATION for ch in text)


def check_tag_key(key: Any, field: str) -> list[Violation]:
    found = check_length(key, field, 1, MAX_TAG_KEY_LENGTH, "a tag key", code="aws.tag-key")
    if found:
        return found
    if not _tag_text_ok(key):
        found.append(Violation(field, key, "may only hold letters, spaces, numbers and _.:/=+-@",
                               code="aws.tag-key.charset"))
    if key.lower().startswith("aws:"):
        found.append(Violation(field, key, "must not start with 'aws:': AWS reserves that prefix",
                               code="aws.tag-key.reserved"))
    return found


def _case_duplicates(keys: Sequence[Any], field: str, index_of=None) -> list[Violation]:
    """Tag keys that differ only in case are one key to AWS ("Tag keys are case insensitive")."""
    found, seen = [], {}
    for position, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        folded = key.casefold()
        if folded in seen and seen[folded] != key:
            where = index_of(key, position) if index_of else f"{field}[{position}]"
            found.append(Violation(
                where, key,
                f"differs from {seen[folded]!r} only in case: AWS treats tag keys case-insensitively and "
                "refuses both ('Duplicate tag keys found'); keep one spelling",
                code="aws.tag-key.case-duplicate",
            ))
        seen.setdefault(folded, key)
    return found


def check_tags(tags: Any, field: str) -> list[Violation]:
    """Tags on an IAM role: at most 50, keys 1-128 and values 0-256 of IAM's tag characters."""
    if not isinstance(tags, Mapping):
        return [Violation(field, tags, "must be a map of tag keys to values", code="aws.tags.type")]
    found = []
    if len(tags) > MAX_TAGS:
        found.append(Violation(field, f"{len(tags)} tags", f"is too many: IAM allows at most {MAX_TAGS}",
                               code="aws.tags.count"))
    for key, value in tags.items():
        found += check_tag_key(key, f"{field}.{key}")
        if not isinstance(value, str):
            found.append(Violation(f"{field}.{key}", value, "must be a string", code="aws.tag-value.type"))
        elif len(value) > MAX_TAG_VALUE_LENGTH:
            found.append(Violation(f"{field}.{key}", value, f"is longer than {MAX_TAG_VALUE_LENGTH} characters",
                                   code="aws.tag-value.length"))
        elif not _tag_text_ok(value):
            found.append(Violation(f"{field}.{key}", value, "may only hold letters, spaces, numbers and _.:/=+-@",
                                   code="aws.tag-value.charset"))
    return found + _case_duplicates(list(tags), field, lambda key, _: f"{field}.{key}")


def check_tag_keys(keys: Any, field: str) -> list[Violation]:
    """Keys a workload may put in its token's ``request_tags`` (``sts:TagGetWebIdentityToken``)."""
    found = check_count(keys, field, 1, MAX_TAGS, "tag keys", code="aws.tag-keys")
    if not isinstance(keys, (list, tuple)):
        return found
    for index, key in enumerate(keys):
        found += check_tag_key(key, f"{field}[{index}]")
    found += check_unique([k for k in keys if isinstance(k, str)], field, "tag key", code="aws.tag-keys")
    exact = {k for k in keys if isinstance(k, str) and list(keys).count(k) > 1}
    return found + [v for v in _case_duplicates(list(keys), field) if v.value not in exact]


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------

def check_role_name(name: Any, field: str) -> list[Violation]:
    found = check_length(name, field, 1, MAX_ROLE_NAME_LENGTH, "an IAM role name", code="aws.role-name")
    if not found and not ROLE_NAME_PATTERN.match(name):
        found.append(Violation(field, name, "may only hold letters, digits and +=,.@_-", code="aws.role-name.charset"))
    return found


def check_autonamed(logical_name: str, limit: int, field: str, what: str, fix: str) -> list[Violation]:
    """A physical name left to Pulumi's autonaming: the logical name plus ``-`` and 7 characters.

    >>> check_autonamed("a" * 60, 64, "name", "an IAM role name", "set roleName")[0].code
    'name.autonamed-too-long'
    """
    length = len(logical_name) + AUTONAME_SUFFIX_LENGTH
    if length > limit:
        return [Violation(
            field, logical_name,
            f"gives {what} of {length} characters ({len(logical_name)} plus the 8 that autonaming appends), "
            f"over the limit of {limit}: {fix}",
            code="name.autonamed-too-long",
        )]
    return []


def check_role_physical_names(component_name: str, args: Mapping[str, Any], field: str, fix: str) -> list[Violation]:
    """Every name FederatedRole leaves to autonaming fits its IAM limit, for a component ``component_name``.

    The role itself is autonamed only without ``role_name``; its inline policy and instance
    profile always are. ``fix`` says what the user can change (their field names differ).
    """
    if args.get("existing_role_arn"):
        return []
    found = []
    for child, limit, what in AUTONAMED_CHILDREN:
        if child == "role" and args.get("role_name"):
            continue
        if child == "instance-profile" and not args.get("create_instance_profile"):
            continue
        found += check_autonamed(f"{component_name}-{child}", limit, field, what, fix)
    return found


def check_role_path(path: Any, field: str) -> list[Violation]:
    found = check_length(path, field, 1, MAX_ROLE_PATH_LENGTH, "an IAM path", code="aws.role-path")
    if found:
        return found
    if not ROLE_PATH_PATTERN.match(path):
        return [Violation(field, path, "must be '/' or start and end with '/' (e.g. /teams/payments/), printable ASCII",
                          code="aws.role-path.format")]
    if path.startswith(RESERVED_PATH_PREFIXES):
        return [Violation(field, path, "is reserved for roles AWS manages (Identity Center, service-linked roles)",
                          code="aws.role-path.reserved")]
    return []


def check_role_arn(arn: Any, field: str) -> list[Violation]:
    if parse_role_arn(arn) is None:
        return [Violation(field, arn, "must be an IAM role ARN: arn:aws:iam::<12 digits>:role/<path/><name>",
                          code="aws.role-arn.format")]
    return []


def check_policy_arn(arn: Any, field: str) -> list[Violation]:
    if not isinstance(arn, str) or not POLICY_ARN_PATTERN.match(arn):
        return [Violation(field, arn, "must be an IAM managed policy ARN: arn:aws:iam::<account or aws>:policy/<name>",
                          code="aws.policy-arn.format")]
    return []


def check_trusted_services(services: Any, field: str) -> list[Violation]:
    found = check_count(services, field, 1, 20, "service principals", code="aws.trusted-services")
    if not isinstance(services, (list, tuple)):
        return found
    for index, service in enumerate(services):
        if not isinstance(service, str) or not SERVICE_PRINCIPAL_PATTERN.match(service):
            found.append(Violation(
                f"{field}[{index}]", service,
                "must be an AWS service principal such as ec2.amazonaws.com or lambda.amazonaws.com",
                code="aws.trusted-service.format",
            ))
    return found + check_unique([s for s in services if isinstance(s, str)], field, "service",
                                code="aws.trusted-services")


# Arguments that only make sense when the component creates the role.
ROLE_CREATION_FIELDS = (
    "trusted_services", "assume_role_policy", "path", "permissions_boundary", "tags",
    "create_instance_profile", "role_name",
)


def check_role_source(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Exactly one way to get the role: create it (services or a trust policy) or adopt one by ARN."""
    present = lambda key: args.get(key) not in (None, [], {})  # noqa: E731 - tiny local predicate
    existing, services, policy = present("existing_role_arn"), present("trusted_services"), present("assume_role_policy")
    found = []
    if existing:
        for key in ROLE_CREATION_FIELDS:
            if present(key) and args.get(key) is not False:
                found.append(Violation(
                    f"{prefix}{spell(key)}", args[key],
                    "cannot be combined with existing_role_arn: the role already exists and is not managed here",
                    code="aws.role-source.conflict",
                ))
    elif services and policy:
        found.append(Violation(
            f"{prefix}{spell('assume_role_policy')}", "<policy document>",
            "cannot be combined with trusted_services: give one way to trust the role",
            code="aws.role-source.conflict",
        ))
    elif not services and not policy:
        found.append(Violation(
            f"{prefix}{spell('trusted_services')}", None,
            "is required: give trusted_services (e.g. [ec2.amazonaws.com]), an assume_role_policy, or existing_role_arn",
            code="aws.role-source.missing",
        ))
    return found


def check_token_policy_attachment(role_arn: str, attach: bool, field: str) -> list[Violation]:
    """Identity Center roles cannot be edited through IAM: their policy belongs in the permission set."""
    parsed = parse_role_arn(role_arn)
    if attach and parsed is not None and parsed.is_identity_center:
        return [Violation(
            field, role_arn,
            "is an IAM Identity Center role, which IAM refuses to edit: set attach_token_policy false and "
            "add the token_policy output to the permission set's inline policy instead",
            code="aws.identity-center.attach",
        )]
    return []


def check_subject_account(subject: Any, account_id: str, field: str) -> list[Violation]:
    """A subject must be a role of the account whose issuer it is paired with."""
    parsed = parse_role_arn(subject)
    if parsed is None:
        return check_role_arn(subject, field)
    if parsed.account_id != account_id:
        return [Violation(
            field, subject,
            f"belongs to account {parsed.account_id}, not {account_id}: an issuer only vouches for its own account's roles",
            code="aws.subject.other-account",
        )]
    return []


def check_trust_policy_json(document: Any, field: str) -> list[Violation]:
    """A custom trust policy: JSON with statements that let someone, and not everyone, assume the role."""
    from .policy_audits import check_trust_policy, parse_policy_document

    parsed = parse_policy_document(document)
    if parsed is None:
        return [Violation(field, "<policy document>", "is not valid JSON (an IAM policy document)",
                          code="aws.trust-policy.json")]
    statements = parsed.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return [Violation(field, "<policy document>", "must be an IAM policy document with at least one Statement",
                          code="aws.trust-policy.empty")]
    if not any(isinstance(s, dict) and "Principal" in s for s in statements):
        return [Violation(field, "<policy document>", "must be a trust policy: no statement names a Principal",
                          code="aws.trust-policy.no-principal")]
    return check_trust_policy(parsed, field)


# ---------------------------------------------------------------------------------------------
# Component arguments
# ---------------------------------------------------------------------------------------------

def check_account_federation_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Rules on AccountFederation's inputs. ``spell`` renders an arg name the way the user wrote it."""
    found = check_booleans(args, ("manage", "disable_on_destroy"), lambda key: f"{prefix}{spell(key)}")
    if args.get("disable_on_destroy") and not args.get("manage"):
        found.append(Violation(
            f"{prefix}{spell('disable_on_destroy')}", True,
            "only applies with manage: true (a stack that only looks the issuer up never disables it)",
            code="aws.account.disable-without-manage",
        ))
    return found


def check_federated_role_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a FederatedRole's plain inputs; Output-valued inputs are checked on resolve.

    ``spell`` renders an arg name the way the user wrote it (camelCase in stack config).
    """
    found = check_role_source(args, prefix, spell)
    checks = {
        "audiences": check_audiences,
        "max_duration_seconds": check_duration_seconds,
        "signing_algorithms": check_signing_algorithms,
        "allowed_tag_keys": check_tag_keys,
        "trusted_services": check_trusted_services,
        "assume_role_policy": check_trust_policy_json,
        "role_name": check_role_name,
        "path": check_role_path,
        "permissions_boundary": check_policy_arn,
        "tags": check_tags,
        "existing_role_arn": check_role_arn,
    }
    for key, check in checks.items():
        if key in args and args[key] is not None and is_plain(args[key]):
            found += check(args[key], f"{prefix}{spell(key)}")
    if "audiences" not in args:
        found.append(Violation(f"{prefix}{spell('audiences')}", None, "is required: list the audiences the role may request",
                               code="aws.audiences.missing"))
    found += check_booleans(args, ("create_instance_profile", "attach_token_policy"), lambda key: f"{prefix}{spell(key)}")
    if args.get("attach_token_policy") and not args.get("existing_role_arn"):
        found.append(Violation(
            f"{prefix}{spell('attach_token_policy')}", True,
            "only applies with existing_role_arn (a role created here always gets its token policy)",
            code="aws.attach-token-policy.without-existing-role",
        ))
    existing = args.get("existing_role_arn")
    if isinstance(existing, str):
        found += check_token_policy_attachment(
            existing, bool(args.get("attach_token_policy")), f"{prefix}{spell('existing_role_arn')}"
        )
    return found


__all__ = [
    "AUTONAMED_CHILDREN", "DEFAULT_DURATION_SECONDS", "DEFAULT_SIGNING_ALGORITHMS", "MAX_DURATION_SECONDS",
    "MAX_ROLE_NAME_LENGTH", "RoleArn", "SIGNING_ALGORITHMS", "check_account_federation_args", "check_account_id",
    "check_algorithms_accepted", "check_audiences", "check_autonamed", "check_duration_seconds",
    "check_federated_role_args", "check_issuer", "check_policy_arn", "check_role_arn", "check_role_name",
    "check_role_path", "check_role_physical_names", "check_role_source", "check_signing_algorithm",
    "check_signing_algorithms", "check_subject_account", "check_tag_key", "check_tag_keys", "check_tags",
    "check_token_policy_attachment", "check_trust_policy_json", "check_trusted_services", "is_aws_issuer",
    "parse_role_arn", "signing_algorithm_names",
]
