"""Rules for the AWS side: the account issuer, token requests, IAM roles and their tags.

Limits come from the STS and IAM service models (``GetWebIdentityToken``: 1-10 audiences of 1-1000
characters, ``SigningAlgorithm`` RS256 or ES384, ``DurationSeconds`` 60-3600, at most 50 tags) and
from IAM's naming rules for roles, paths and tags.

Example::

    >>> check_audiences(["api://AzureADTokenExchange"], "audiences")
    []
    >>> check_issuer("https://example.com/", "issuer")[0].rule
    'must not end with a slash: relying parties compare the issuer exactly and AWS issuers have none'
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

SIGNING_ALGORITHMS = ("RS256", "ES384")
DEFAULT_SIGNING_ALGORITHMS = ("RS256",)
MIN_DURATION_SECONDS = 60
MAX_DURATION_SECONDS = 3600
DEFAULT_DURATION_SECONDS = 300
MAX_AUDIENCES = 10
MAX_AUDIENCE_LENGTH = 1000
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_ROLE_NAME_LENGTH = 64
MAX_ROLE_PATH_LENGTH = 512

# The commercial-partition issuer shape AWS documents. Other partitions' issuer domains are not
# published, so a mismatch is only a warning.
AWS_ISSUER_PATTERN = re.compile(r"^https://[0-9a-fA-F-]{36}\.tokens\.sts\.global\.api\.aws$")
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
# Paths that AWS itself manages: Identity Center roles and service-linked roles.
RESERVED_PATH_PREFIXES = ("/aws-reserved/", "/aws-service-role/")
IDENTITY_CENTER_PATH_PREFIX = "/aws-reserved/sso.amazonaws.com/"
_TAG_PUNCTUATION = set("_.:/=+-@")


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


def parse_role_arn(arn: str) -> RoleArn | None:
    """Split a role ARN into its parts, or return None when it is not one.

    >>> parse_role_arn("arn:aws:iam::123456789012:role/teams/payments/exporter").path
    '/teams/payments/'
    """
    match = ROLE_ARN_PATTERN.match(arn) if isinstance(arn, str) else None
    if not match:
        return None
    return RoleArn(match["partition"], match["account"], match["path"], match["name"])


def check_issuer(issuer: Any, field: str) -> list[Violation]:
    """The issuer goes into every relying party verbatim, and they compare it exactly."""
    if not isinstance(issuer, str) or not issuer:
        return [Violation(field, issuer, "must be a non-empty https URL (the account's issuer)")]
    if has_whitespace(issuer):
        return [Violation(field, issuer, "must not contain whitespace: relying parties compare the issuer exactly")]
    parts = urlsplit(issuer)
    found = []
    if parts.scheme != "https":
        found.append(Violation(field, issuer, "must start with https://"))
    if not parts.hostname:
        found.append(Violation(field, issuer, "must name a host"))
    if parts.path == "/" or issuer.endswith("/"):
        found.append(Violation(
            field, issuer,
            "must not end with a slash: relying parties compare the issuer exactly and AWS issuers have none",
        ))
    elif parts.path:
        found.append(Violation(field, issuer, "must not have a path: an AWS account issuer is a bare https origin"))
    if parts.query or parts.fragment or "?" in issuer or "#" in issuer:
        found.append(Violation(field, issuer, "must not have a query or fragment"))
    if parts.username or parts.password:
        found.append(Violation(field, issuer, "must not carry credentials"))
    if not found and not AWS_ISSUER_PATTERN.match(issuer):
        found.append(Violation(
            field, issuer,
            "does not look like an AWS account issuer (https://<id>.tokens.sts.global.api.aws); "
            "read it from the account rather than typing it",
            WARNING,
        ))
    return found


def check_account_id(account_id: Any, field: str) -> list[Violation]:
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.match(account_id):
        return [Violation(field, account_id, "must be a 12-digit AWS account ID, as a string")]
    return []


def check_audiences(audiences: Any, field: str) -> list[Violation]:
    """Audiences a role may request: 1-10 values of 1-1000 characters, no duplicates."""
    found = check_count(audiences, field, 1, MAX_AUDIENCES, "audiences per token")
    if not isinstance(audiences, (list, tuple)):
        return found
    for index, audience in enumerate(audiences):
        sub = f"{field}[{index}]"
        found += check_length(audience, sub, 1, MAX_AUDIENCE_LENGTH, "an audience")
        if isinstance(audience, str) and audience and has_whitespace(audience):
            found.append(Violation(sub, audience, "must not contain whitespace: relying parties compare audiences exactly"))
        if isinstance(audience, str) and "*" in audience:
            found.append(Violation(
                sub, audience,
                "must not contain '*': the audience is compared exactly (StringEquals), a wildcard would be literal",
            ))
    return found + check_unique([a for a in audiences if isinstance(a, str)], field, "audience")


def check_duration_seconds(seconds: Any, field: str) -> list[Violation]:
    return check_int_range(seconds, field, MIN_DURATION_SECONDS, MAX_DURATION_SECONDS, "a token lifetime in seconds")


def check_signing_algorithms(algorithms: Any, field: str) -> list[Violation]:
    found = check_count(algorithms, field, 1, len(SIGNING_ALGORITHMS), "signing algorithms")
    if not isinstance(algorithms, (list, tuple)):
        return found
    names = signing_algorithm_names(algorithms)
    for index, algorithm in enumerate(names):
        if algorithm not in SIGNING_ALGORITHMS:
            found.append(Violation(
                f"{field}[{index}]", algorithm,
                f"is not a signing algorithm AWS offers: use one of {', '.join(SIGNING_ALGORITHMS)}",
            ))
    return found + check_unique([a for a in names if isinstance(a, str)], field, "signing algorithm")


def check_signing_algorithm(algorithm: Any, field: str) -> list[Violation]:
    """One algorithm for one token request."""
    if getattr(algorithm, "value", algorithm) not in SIGNING_ALGORITHMS:
        return [Violation(field, algorithm, f"is not a signing algorithm AWS offers: use one of {', '.join(SIGNING_ALGORITHMS)}")]
    return []


def _tag_text_ok(text: str) -> bool:
    # IAM and STS allow letters, separators, numbers and _.:/=+-@ (the \p{L}\p{Z}\p{N} classes).
    return all(unicodedata.category(ch)[0] in "LZN" or ch in _TAG_PUNCTUATION for ch in text)


def check_tag_key(key: Any, field: str) -> list[Violation]:
    found = check_length(key, field, 1, MAX_TAG_KEY_LENGTH, "a tag key")
    if found:
        return found
    if not _tag_text_ok(key):
        found.append(Violation(field, key, "may only hold letters, spaces, numbers and _.:/=+-@"))
    if key.lower().startswith("aws:"):
        found.append(Violation(field, key, "must not start with 'aws:': AWS reserves that prefix"))
    return found


def check_tags(tags: Any, field: str) -> list[Violation]:
    """Tags on an IAM role: at most 50, keys 1-128 and values 0-256 of IAM's tag characters."""
    if not isinstance(tags, Mapping):
        return [Violation(field, tags, "must be a map of tag keys to values")]
    found = []
    if len(tags) > MAX_TAGS:
        found.append(Violation(field, f"{len(tags)} tags", f"is too many: IAM allows at most {MAX_TAGS}"))
    for key, value in tags.items():
        found += check_tag_key(key, f"{field}.{key}")
        if not isinstance(value, str):
            found.append(Violation(f"{field}.{key}", value, "must be a string"))
        elif len(value) > MAX_TAG_VALUE_LENGTH:
            found.append(Violation(f"{field}.{key}", value, f"is longer than {MAX_TAG_VALUE_LENGTH} characters"))
        elif not _tag_text_ok(value):
            found.append(Violation(f"{field}.{key}", value, "may only hold letters, spaces, numbers and _.:/=+-@"))
    return found


def check_tag_keys(keys: Any, field: str) -> list[Violation]:
    """Keys a workload may put in its token's ``request_tags`` (``sts:TagGetWebIdentityToken``)."""
    found = check_count(keys, field, 1, MAX_TAGS, "tag keys")
    if not isinstance(keys, (list, tuple)):
        return found
    for index, key in enumerate(keys):
        found += check_tag_key(key, f"{field}[{index}]")
    return found + check_unique([k for k in keys if isinstance(k, str)], field, "tag key")


def check_role_name(name: Any, field: str) -> list[Violation]:
    found = check_length(name, field, 1, MAX_ROLE_NAME_LENGTH, "an IAM role name")
    if not found and not ROLE_NAME_PATTERN.match(name):
        found.append(Violation(field, name, "may only hold letters, digits and +=,.@_-"))
    return found


def check_role_path(path: Any, field: str) -> list[Violation]:
    found = check_length(path, field, 1, MAX_ROLE_PATH_LENGTH, "an IAM path")
    if found:
        return found
    if not ROLE_PATH_PATTERN.match(path):
        return [Violation(field, path, "must be '/' or start and end with '/' (e.g. /teams/payments/), printable ASCII")]
    if path.startswith(RESERVED_PATH_PREFIXES):
        return [Violation(field, path, "is reserved for roles AWS manages (Identity Center, service-linked roles)")]
    return []


def check_role_arn(arn: Any, field: str) -> list[Violation]:
    if parse_role_arn(arn) is None:
        return [Violation(field, arn, "must be an IAM role ARN: arn:aws:iam::<12 digits>:role/<path/><name>")]
    return []


def check_policy_arn(arn: Any, field: str) -> list[Violation]:
    if not isinstance(arn, str) or not POLICY_ARN_PATTERN.match(arn):
        return [Violation(field, arn, "must be an IAM managed policy ARN: arn:aws:iam::<account or aws>:policy/<name>")]
    return []


def check_trusted_services(services: Any, field: str) -> list[Violation]:
    found = check_count(services, field, 1, 20, "service principals")
    if not isinstance(services, (list, tuple)):
        return found
    for index, service in enumerate(services):
        if not isinstance(service, str) or not SERVICE_PRINCIPAL_PATTERN.match(service):
            found.append(Violation(
                f"{field}[{index}]", service,
                "must be an AWS service principal such as ec2.amazonaws.com or lambda.amazonaws.com",
            ))
    return found + check_unique([s for s in services if isinstance(s, str)], field, "service")


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
                ))
    elif services and policy:
        found.append(Violation(
            f"{prefix}{spell('assume_role_policy')}", "<policy document>",
            "cannot be combined with trusted_services: give one way to trust the role",
        ))
    elif not services and not policy:
        found.append(Violation(
            f"{prefix}{spell('trusted_services')}", None,
            "is required: give trusted_services (e.g. [ec2.amazonaws.com]), an assume_role_policy, or existing_role_arn",
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
        )]
    return []


def check_trust_policy_json(document: Any, field: str) -> list[Violation]:
    """A custom trust policy must be JSON with statements that let someone assume the role."""
    import json

    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError as error:
        return [Violation(field, "<policy document>", f"is not valid JSON: {error}")]
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return [Violation(field, "<policy document>", "must be an IAM policy document with at least one Statement")]
    if not any(isinstance(s, dict) and "Principal" in s for s in statements):
        return [Violation(field, "<policy document>", "must be a trust policy: no statement names a Principal")]
    return []


def signing_algorithm_names(algorithms: Sequence[Any]) -> list[str]:
    """Normalise enum members or strings to their wire names ('RS256')."""
    return [getattr(a, "value", a) for a in algorithms]


def check_account_federation_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Rules on AccountFederation's inputs. ``spell`` renders an arg name the way the user wrote it."""
    found = check_booleans(args, ("manage", "disable_on_destroy"), lambda key: f"{prefix}{spell(key)}")
    if args.get("disable_on_destroy") and not args.get("manage"):
        found.append(Violation(
            f"{prefix}{spell('disable_on_destroy')}", True,
            "only applies with manage: true (a stack that only looks the issuer up never disables it)",
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
        found.append(Violation(f"{prefix}{spell('audiences')}", None, "is required: list the audiences the role may request"))
    found += check_booleans(args, ("create_instance_profile", "attach_token_policy"), lambda key: f"{prefix}{spell(key)}")
    if args.get("attach_token_policy") and not args.get("existing_role_arn"):
        found.append(Violation(
            f"{prefix}{spell('attach_token_policy')}", True,
            "only applies with existing_role_arn (a role created here always gets its token policy)",
        ))
    existing = args.get("existing_role_arn")
    if isinstance(existing, str):
        found += check_token_policy_attachment(
            existing, bool(args.get("attach_token_policy")), f"{prefix}{spell('existing_role_arn')}"
        )
    return found


# ---------------------------------------------------------------------------------------------
# Judging any IAM policy document that grants token minting (ours or hand-written)
# ---------------------------------------------------------------------------------------------

TOKEN_ACTION = "sts:GetWebIdentityToken"
AUDIENCE_KEY = "sts:IdentityTokenAudience"
DURATION_KEY = "sts:DurationSeconds"
ALGORITHM_KEY = "sts:SigningAlgorithm"
ADVISORY_DURATION_SECONDS = 900


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _action_matches(pattern: Any, action: str) -> bool:
    import fnmatch

    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants_action(statement: Mapping[str, Any], action: str) -> bool:
    """Does this Allow statement grant ``action`` (through wildcards and NotAction too)?"""
    if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(_action_matches(p, action) for p in _as_list(statement["NotAction"]))
    return any(_action_matches(p, action) for p in _as_list(statement.get("Action")))


def _conditions_on(condition: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Operator -> value for every operator that tests ``key`` (condition keys are case-insensitive)."""
    found = {}
    for operator, tests in (condition or {}).items():
        if isinstance(tests, Mapping):
            for tested_key, value in tests.items():
                if tested_key.lower() == key.lower():
                    found[operator] = value
    return found


def parse_policy_document(document: Any) -> dict[str, Any] | None:
    import json

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    return document if isinstance(document, Mapping) else None


def check_token_grants(
    document: Any,
    field: str,
    *,
    max_duration_seconds: int = MAX_DURATION_SECONDS,
    allowed_algorithms: Sequence[str] = SIGNING_ALGORITHMS,
    allowed_audiences: Sequence[str] | None = None,
) -> list[Violation]:
    """Every statement that grants ``sts:GetWebIdentityToken`` must pin what a token may be.

    - audiences with ``ForAllValues:StringEquals`` plus a ``Null: false`` guard, never ``ForAnyValue``
      (with ForAnyValue, one allowed audience lets a caller add any other to the same token);
    - the lifetime with ``NumericLessThan(Equals)`` on ``sts:DurationSeconds`` at or under the cap;
    - the algorithm with ``StringEquals`` on ``sts:SigningAlgorithm`` within the allowed ones;
    - optionally, the audiences within an allow-list.
    Advisories: a cap above 15 minutes.
    """
    policy = parse_policy_document(document)
    if policy is None:
        return []
    found: list[Violation] = []
    for index, statement in enumerate(_as_list(policy.get("Statement"))):
        if not grants_action(statement, TOKEN_ACTION):
            continue
        where = f"{field}.Statement[{index}]"
        condition = statement.get("Condition") or {}
        audience_tests = _conditions_on(condition, AUDIENCE_KEY)
        for operator in audience_tests:
            if operator.lower().startswith("foranyvalue:"):
                found.append(Violation(
                    f"{where}.Condition", operator,
                    f"on {AUDIENCE_KEY} lets a caller add any other audience to a token: "
                    "use ForAllValues:StringEquals with a Null false guard",
                ))
        pinned = audience_tests.get("ForAllValues:StringEquals")
        if pinned is None:
            found.append(Violation(
                f"{where}.Condition", sorted(audience_tests) or None,
                f"does not pin {AUDIENCE_KEY} with ForAllValues:StringEquals: any audience could be requested",
            ))
        elif allowed_audiences is not None:
            for audience in _as_list(pinned):
                if audience not in allowed_audiences:
                    found.append(Violation(
                        f"{where}.Condition.ForAllValues:StringEquals", audience,
                        "is not an allowed audience for this organisation's relying parties",
                    ))
        null_guard = audience_tests.get("Null")
        if str(null_guard).lower() != "false":
            found.append(Violation(
                f"{where}.Condition", "Null" if null_guard is not None else None,
                f"lacks Null {{{AUDIENCE_KEY}: false}}: ForAllValues alone also passes when no audience is sent",
            ))

        duration_tests = _conditions_on(condition, DURATION_KEY)
        caps = [v for op, v in duration_tests.items() if op in ("NumericLessThanEquals", "NumericLessThan")]
        if not caps:
            found.append(Violation(
                f"{where}.Condition", sorted(duration_tests) or None,
                f"does not cap {DURATION_KEY} with NumericLessThanEquals: tokens could live up to an hour",
            ))
        for cap in caps:
            try:
                seconds = int(_as_list(cap)[0])
            except (TypeError, ValueError, IndexError):
                found.append(Violation(f"{where}.Condition.{DURATION_KEY}", cap, "is not a number of seconds"))
                continue
            if seconds > max_duration_seconds:
                found.append(Violation(
                    f"{where}.Condition.{DURATION_KEY}", seconds,
                    f"is over the allowed maximum of {max_duration_seconds} seconds",
                ))
            elif seconds > ADVISORY_DURATION_SECONDS:
                found.append(Violation(
                    f"{where}.Condition.{DURATION_KEY}", seconds,
                    f"lets tokens live over {ADVISORY_DURATION_SECONDS // 60} minutes: a leaked token stays "
                    "usable that long; prefer 300 seconds",
                    WARNING,
                ))

        algorithm_tests = _conditions_on(condition, ALGORITHM_KEY)
        pinned_algorithms = algorithm_tests.get("StringEquals")
        if pinned_algorithms is None:
            found.append(Violation(
                f"{where}.Condition", sorted(algorithm_tests) or None,
                f"does not restrict {ALGORITHM_KEY} with StringEquals",
            ))
        else:
            for algorithm in _as_list(pinned_algorithms):
                if algorithm not in allowed_algorithms:
                    found.append(Violation(
                        f"{where}.Condition.{ALGORITHM_KEY}", algorithm,
                        f"is not an allowed signing algorithm ({', '.join(allowed_algorithms)})",
                    ))
        if _as_list(statement.get("Resource")) != ["*"]:
            found.append(Violation(
                f"{where}.Resource", statement.get("Resource"),
                f"should be \"*\": {TOKEN_ACTION} has no resource type, so any other value never matches",
                WARNING,
            ))
    return found


def token_grant_algorithms(document: Any) -> list[str] | None:
    """The signing algorithms a policy lets a role request, or None when it grants no tokens."""
    policy = parse_policy_document(document)
    if policy is None:
        return None
    allowed: list[str] | None = None
    for statement in _as_list(policy.get("Statement")):
        if grants_action(statement, TOKEN_ACTION):
            tests = _conditions_on(statement.get("Condition") or {}, ALGORITHM_KEY)
            values = _as_list(tests.get("StringEquals")) or list(SIGNING_ALGORITHMS)
            allowed = sorted(set(allowed or []) | set(values))
    return allowed
