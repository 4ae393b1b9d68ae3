"""Judging IAM policy documents, ours or hand-written: token grants, trust policies, and one request.

Three jobs, all pure:

- :func:`check_token_grants`: every statement that grants ``sts:GetWebIdentityToken`` pins what a
  token may be (audiences with ``ForAllValues`` plus a ``Null`` guard, a lifetime cap, an algorithm).
- :func:`check_trust_policy`: a role's trust policy does not let any AWS principal assume it.
- :func:`evaluate_token_request`: would these identity policies let a role mint this exact token?
  The rehearsal asks this for every trust, so a role whose policy pins another audience than its
  relying party expects fails the preview instead of failing at the first token.

Example::

    >>> from components.rules.policy_documents import token_policy_document
    >>> policy = token_policy_document(["api://AzureADTokenExchange"])
    >>> evaluate_token_request([policy], TokenRequest(("https://other.example.com",), "RS256")).allowed
    False
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from . import WARNING, Violation
from .facts import (
    ALGORITHM_KEY,
    AUDIENCE_KEY,
    DEFAULT_DURATION_SECONDS,
    DURATION_KEY,
    MAX_DURATION_SECONDS,
    SIGNING_ALGORITHMS,
    SWITCH_ACTIONS,
    TAG_ACTION,
    TAG_KEYS_KEY,
    TOKEN_ACTION,
)

ADVISORY_DURATION_SECONDS = 900
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
# Condition keys that pin who the caller is: a "*" principal narrowed by one of these is not open.
CALLER_PINNING_KEYS = (
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid",
)
_ACCOUNT_ROOT = re.compile(r"^(?:arn:aws[a-z-]*:iam::(?P<arn_account>\d{12}):root|(?P<bare_account>\d{12}))$")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def parse_policy_document(document: Any) -> dict[str, Any] | None:
    """A policy document as a dict (from JSON text or a dict), or None when it is neither."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    return document if isinstance(document, Mapping) else None


def statements_of(policy: Mapping[str, Any]) -> list[Any]:
    return as_list(policy.get("Statement"))


def _action_matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants_action(statement: Any, action: str, effect: str = "Allow") -> bool:
    """Does this statement (of ``effect``) cover ``action``, through wildcards and NotAction too?"""
    if not isinstance(statement, Mapping) or statement.get("Effect") != effect:
        return False
    if "NotAction" in statement:
        return not any(_action_matches(p, action) for p in as_list(statement["NotAction"]))
    return any(_action_matches(p, action) for p in as_list(statement.get("Action")))


def conditions_on(condition: Any, key: str) -> dict[str, Any]:
    """Operator -> value for every operator that tests ``key`` (condition keys are case-insensitive)."""
    found = {}
    for operator, tests in (condition or {}).items() if isinstance(condition, Mapping) else ():
        if isinstance(tests, Mapping):
            for tested_key, value in tests.items():
                if tested_key.lower() == key.lower():
                    found[operator] = value
    return found


# ---------------------------------------------------------------------------------------------
# Token grants
# ---------------------------------------------------------------------------------------------

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
    Advisories: a cap above 15 minutes, a Resource other than ``*``.
    """
    policy = parse_policy_document(document)
    if policy is None:
        return []
    found: list[Violation] = []
    for index, statement in enumerate(statements_of(policy)):
        if not grants_action(statement, TOKEN_ACTION):
            continue
        where = f"{field}.Statement[{index}]"
        condition = statement.get("Condition") or {}
        found += _audience_grant(conditions_on(condition, AUDIENCE_KEY), where, allowed_audiences)
        found += _duration_grant(conditions_on(condition, DURATION_KEY), where, max_duration_seconds)
        found += _algorithm_grant(conditions_on(condition, ALGORITHM_KEY), where, allowed_algorithms)
        if as_list(statement.get("Resource")) != ["*"]:
            found.append(Violation(
                f"{where}.Resource", statement.get("Resource"),
                f"should be \"*\": {TOKEN_ACTION} has no resource type, so any value but \"*\" or the "
                "caller's own arn:aws:sts::<account>:self never matches",
                WARNING, code="token-grant.resource",
            ))
    return found


def _audience_grant(tests: dict[str, Any], where: str, allowed_audiences: Sequence[str] | None) -> list[Violation]:
    found = []
    for operator in tests:
        if operator.lower().startswith("foranyvalue:"):
            found.append(Violation(
                f"{where}.Condition", operator,
                f"on {AUDIENCE_KEY} lets a caller add any other audience to a token: "
                "use ForAllValues:StringEquals with a Null false guard",
                code="token-grant.audience.for-any-value",
            ))
    pinned = tests.get("ForAllValues:StringEquals")
    if pinned is None:
        found.append(Violation(
            f"{where}.Condition", sorted(tests) or None,
            f"does not pin {AUDIENCE_KEY} with ForAllValues:StringEquals: any audience could be requested",
            code="token-grant.audience.unpinned",
        ))
    elif allowed_audiences is not None:
        for audience in as_list(pinned):
            if audience not in allowed_audiences:
                found.append(Violation(
                    f"{where}.Condition.ForAllValues:StringEquals", audience,
                    "is not an allowed audience for this organisation's relying parties",
                    code="token-grant.audience.not-allowed",
                ))
    null_guard = tests.get("Null")
    if str(null_guard).lower() != "false":
        found.append(Violation(
            f"{where}.Condition", "Null" if null_guard is not None else None,
            f"lacks Null {{{AUDIENCE_KEY}: false}}: ForAllValues alone also passes when no audience is sent",
            code="token-grant.audience.null-guard",
        ))
    return found


def _duration_grant(tests: dict[str, Any], where: str, max_duration_seconds: int) -> list[Violation]:
    caps = [v for op, v in tests.items() if op in ("NumericLessThanEquals", "NumericLessThan")]
    if not caps:
        return [Violation(
            f"{where}.Condition", sorted(tests) or None,
            f"does not cap {DURATION_KEY} with NumericLessThanEquals: tokens could live up to an hour",
            code="token-grant.duration.uncapped",
        )]
    found = []
    for cap in caps:
        try:
            seconds = int(as_list(cap)[0])
        except (TypeError, ValueError, IndexError):
            found.append(Violation(f"{where}.Condition.{DURATION_KEY}", cap, "is not a number of seconds",
                                   code="token-grant.duration.type"))
            continue
        if seconds > max_duration_seconds:
            found.append(Violation(
                f"{where}.Condition.{DURATION_KEY}", seconds,
                f"is over the allowed maximum of {max_duration_seconds} seconds",
                code="token-grant.duration.over-cap",
            ))
        elif seconds > ADVISORY_DURATION_SECONDS:
            found.append(Violation(
                f"{where}.Condition.{DURATION_KEY}", seconds,
                f"lets tokens live over {ADVISORY_DURATION_SECONDS // 60} minutes: a leaked token stays "
                "usable that long; prefer 300 seconds",
                WARNING, code="token-grant.duration.long",
            ))
    return found


def _algorithm_grant(tests: dict[str, Any], where: str, allowed_algorithms: Sequence[str]) -> list[Violation]:
    pinned = tests.get("StringEquals")
    if pinned is None:
        return [Violation(
            f"{where}.Condition", sorted(tests) or None,
            f"does not restrict {ALGORITHM_KEY} with StringEquals",
            code="token-grant.algorithm.unpinned",
        )]
    return [Violation(
        f"{where}.Condition.{ALGORITHM_KEY}", algorithm,
        f"is not an allowed signing algorithm ({', '.join(allowed_algorithms)})",
        code="token-grant.algorithm.not-allowed",
    ) for algorithm in as_list(pinned) if algorithm not in allowed_algorithms]


def token_grant_algorithms(document: Any) -> list[str] | None:
    """The signing algorithms a policy lets a role request, or None when it grants no tokens."""
    policy = parse_policy_document(document)
    if policy is None:
        return None
    allowed: list[str] | None = None
    for statement in statements_of(policy):
        if grants_action(statement, TOKEN_ACTION):
            tests = conditions_on(statement.get("Condition") or {}, ALGORITHM_KEY)
            values = as_list(tests.get("StringEquals")) or list(SIGNING_ALGORITHMS)
            allowed = sorted(set(allowed or []) | set(values))
    return allowed


def grants_tokens(documents: Iterable[Any]) -> bool:
    """Does any of these documents grant ``sts:GetWebIdentityToken`` at all?"""
    return any(grants_action(s, TOKEN_ACTION) for d in documents
               for s in statements_of(parse_policy_document(d) or {}))


# ---------------------------------------------------------------------------------------------
# Trust policies
# ---------------------------------------------------------------------------------------------

def _pins_caller(condition: Any) -> bool:
    """A condition that narrows who the caller may be to something other than everyone."""
    if not isinstance(condition, Mapping):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, Mapping) or operator.lower().startswith(("stringnot", "arnnot", "null")):
            continue
        for key, value in tests.items():
            values = as_list(value)
            if key.lower() in CALLER_PINNING_KEYS and values and all(
                    isinstance(v, str) and v.strip("*?") for v in values):
                return True
    return False


def _aws_principals(principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [p for p in as_list(principal.get("AWS")) if isinstance(p, str)]
    return []


def check_trust_policy(document: Any, field: str, *, account_id: str | None = None) -> list[Violation]:
    """A role's trust policy must not let any AWS principal assume it.

    Any principal that can assume a role can mint that role's tokens, and every relying party that
    trusts the role then trusts them. Refused: ``"Principal": "*"`` or ``{"AWS": "*"}`` (unless a
    condition pins the caller's organisation, account or ARN), ``NotPrincipal`` in an Allow, and
    another account's root (every principal of that account) without any condition. The root of
    an account not known here is a warning: every principal of that account allowed
    ``sts:AssumeRole`` gets in.
    """
    policy = parse_policy_document(document)
    if policy is None:
        return []
    found = []
    for index, statement in enumerate(statements_of(policy)):
        if not any(grants_action(statement, action) for action in ASSUME_ACTIONS):
            continue
        where = f"{field}.Statement[{index}]"
        condition = statement.get("Condition")
        if "NotPrincipal" in statement:
            found.append(Violation(
                f"{where}.NotPrincipal", statement["NotPrincipal"],
                "in an Allow lets every principal but those listed assume the role, and mint its tokens",
                code="trust-policy.not-principal",
            ))
        for principal in _aws_principals(statement.get("Principal")):
            if principal == "*":
                if not _pins_caller(condition):
                    found.append(Violation(
                        f"{where}.Principal", principal,
                        "lets any AWS principal in any account assume the role and mint tokens that its relying "
                        "parties trust: name the principals, or pin aws:PrincipalOrgID / aws:PrincipalArn",
                        code="trust-policy.anyone",
                    ))
                continue
            root = _ACCOUNT_ROOT.match(principal)
            if root is None or condition:
                continue
            other = root["arn_account"] or root["bare_account"]
            if account_id is not None and other == account_id:
                continue
            if account_id is not None:
                found.append(Violation(
                    f"{where}.Principal", principal,
                    f"lets every principal of account {other} (not this role's account {account_id}) assume the "
                    "role and mint its tokens: name the role that should, or add a condition",
                    code="trust-policy.other-account-root",
                ))
            else:
                found.append(Violation(
                    f"{where}.Principal", principal,
                    f"lets every principal of account {other} that may call sts:AssumeRole assume the role: "
                    "name the role that should, or add a condition on aws:PrincipalArn",
                    WARNING, code="trust-policy.account-root",
                ))
    return found


# ---------------------------------------------------------------------------------------------
# Would STS mint this token? (identity policies only)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenRequest:
    """A ``GetWebIdentityToken`` request as IAM sees it (its request context)."""

    audiences: tuple[str, ...]
    algorithm: str
    duration_seconds: int = DEFAULT_DURATION_SECONDS
    """Always in the request context: STS puts its default (300) there when the caller sends none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    account_id: str | None = None
    """The caller's account: the request's resource is ``arn:aws:sts::<account>:self``."""

    def context(self) -> dict[str, list[str]]:
        keys = {AUDIENCE_KEY.lower(): list(self.audiences), ALGORITHM_KEY.lower(): [self.algorithm],
                DURATION_KEY.lower(): [str(self.duration_seconds)]}
        if self.tags:
            keys[TAG_KEYS_KEY.lower()] = list(self.tags)
            for key, value in self.tags.items():
                keys[f"aws:requesttag/{key}".lower()] = [value]
        return keys

    def describe(self) -> str:
        return (f"audiences {list(self.audiences)}, {self.algorithm}, {self.duration_seconds} s"
                + (f", tags {sorted(self.tags)}" if self.tags else ""))


@dataclass(frozen=True)
class Decision:
    """What IAM would answer. ``determinate`` is False when a policy uses something this evaluator
    cannot judge offline (a key it does not know, like ``aws:SourceIp``); callers fail closed then."""

    allowed: bool
    reason: str
    determinate: bool = True


_MULTI_VALUED = {AUDIENCE_KEY.lower(), TAG_KEYS_KEY.lower()}


class _Unknown(Exception):
    """A condition this evaluator cannot decide offline."""


def _match_string(operator: str, actual: str, expected: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        return actual == expected
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        return fnmatch.fnmatchcase(actual, expected)
    raise _Unknown(operator)


def _match_number(operator: str, actual: str, expected: Any) -> bool:
    try:
        a, e = float(actual), float(expected)
    except (TypeError, ValueError):
        return False
    return {"NumericEquals": a == e, "NumericNotEquals": a == e, "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e, "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e}[operator]


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "ArnNotEquals",
            "ArnNotLike")


def _value_matches(operator: str, actual: str, expected: Any) -> bool:
    if operator.startswith("Numeric"):
        return _match_number(operator, actual, expected)
    if operator == "Bool":
        return str(actual).lower() == str(expected).lower()
    if operator.startswith(("String", "Arn")):
        return _match_string(operator, actual, str(expected))
    raise _Unknown(operator)


def _condition_holds(raw_operator: str, key: str, expected: Any, context: Mapping[str, list[str]]) -> bool:
    """One (operator, key, values) test of a Condition block, as IAM evaluates it."""
    operator, qualifier = raw_operator, ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        qualifier = qualifier.lower()
    if_exists = operator.endswith("IfExists")
    operator = operator[: -len("IfExists")] if if_exists else operator
    key = key.lower()
    known = key in context or key in _MULTI_VALUED or key == TAG_KEYS_KEY.lower() or key.startswith("aws:requesttag/")
    if not known:
        raise _Unknown(key)
    present = key in context
    values = as_list(expected)
    if operator == "Null":
        return (not present) == (str(values[0]).lower() == "true") if values else False
    actual = context.get(key, [])
    negated = operator in _NEGATED
    if qualifier == "forallvalues":
        # True when every requested value matches one of the condition's (and when there are none).
        if negated:
            return all(not any(_value_matches(operator, a, e) for e in values) for a in actual)
        return all(any(_value_matches(operator, a, e) for e in values) for a in actual)
    if qualifier == "foranyvalue":
        if negated:
            return any(not any(_value_matches(operator, a, e) for e in values) for a in actual)
        return any(any(_value_matches(operator, a, e) for e in values) for a in actual)
    if qualifier:
        raise _Unknown(raw_operator)
    if key in _MULTI_VALUED:
        raise _Unknown(f"{raw_operator} on the multi-valued key {key} without ForAllValues/ForAnyValue")
    if not present:
        return if_exists or negated
    matched = any(_value_matches(operator, actual[0], e) for e in values)
    return not matched if negated else matched


def _first_failing(condition: Any, context: Mapping[str, list[str]]) -> str | None:
    """The first test of a Condition block that the request fails, described; None when all hold."""
    if not condition:
        return None
    for operator, tests in condition.items():
        for key, expected in (tests or {}).items():
            if not _condition_holds(operator, key, expected, context):
                shown = key if key.lower() not in context else f"{key} = {context[key.lower()]}"
                return f"{operator} {{{key}: {expected}}} is false for {shown}"
    return None


def _resource_matches(statement: Mapping[str, Any], account_id: str | None) -> bool:
    resource = f"arn:aws:sts::{account_id or '*'}:self"
    if "NotResource" in statement:
        return not any(fnmatch.fnmatchcase(resource, str(p)) or str(p) == "*" for p in as_list(statement["NotResource"]))
    patterns = as_list(statement.get("Resource"))
    if account_id is None:
        # The caller's account is not known here: any account's ".../self" stands for it.
        return any(p == "*" or re.fullmatch(r"arn:aws[a-z-]*:sts::(\d{12}|\*):self", str(p)) for p in patterns)
    return any(fnmatch.fnmatchcase(resource, str(p)) for p in patterns)


def _evaluate_action(policies: list[Mapping[str, Any]], action: str, request: TokenRequest) -> Decision:
    context = request.context()
    refusals: list[str] = []
    allowed_by = None
    try:
        for document_index, policy in enumerate(policies):
            for index, statement in enumerate(statements_of(policy)):
                name = f"policy {document_index + 1}, Statement[{index}]" + (
                    f" ({statement.get('Sid')})" if isinstance(statement, Mapping) and statement.get("Sid") else "")
                for effect in ("Deny", "Allow"):
                    if not grants_action(statement, action, effect) or not _resource_matches(statement, request.account_id):
                        continue
                    failing = _first_failing(statement.get("Condition"), context)
                    if effect == "Deny" and failing is None:
                        return Decision(False, f"{name} explicitly denies {action}")
                    if effect == "Allow":
                        if failing is None:
                            allowed_by = allowed_by or name
                        else:
                            refusals.append(f"{name}: {failing}")
    except _Unknown as unknown:
        return Decision(False, f"cannot judge {action} offline: the policy tests {unknown}", determinate=False)
    if allowed_by:
        return Decision(True, f"allowed by {allowed_by}")
    if refusals:
        return Decision(False, f"no statement allows {action} for {request.describe()}: " + "; ".join(refusals))
    return Decision(False, f"no statement grants {action}")


def statement_applies(statement: Any, action: str, effect: str, context: Mapping[str, list[str]],
                      account_id: str | None = None) -> bool:
    """Does this statement, with ``effect``, cover ``action`` on ``arn:aws:sts::<account>:self`` with every
    condition holding for ``context`` (lower-case keys -> values, e.g. ``TokenRequest.context()`` plus
    ``aws:principalarn``)? ``ValueError`` when a condition cannot be judged here.

    One statement at a time, for callers that must say WHICH statement decided (the test stand-ins'
    IAM policy simulator).
    """
    if not isinstance(statement, Mapping) or not grants_action(statement, action, effect):
        return False
    if not _resource_matches(statement, account_id):
        return False
    try:
        return _first_failing(statement.get("Condition"), context) is None
    except _Unknown as unknown:
        raise ValueError(f"cannot judge the condition on {unknown} here") from None


def evaluate_token_request(documents: Iterable[Any], request: TokenRequest) -> Decision:
    """Would a role with these identity policies get this token from STS?

    IAM's evaluation for one principal's identity policies: an explicit Deny wins, else an Allow
    whose action, resource and every condition hold. ``sts:TagGetWebIdentityToken`` is needed too
    when the request carries tags. Permissions boundaries, session policies and SCPs are not seen
    here. A policy that tests a key this evaluator cannot know offline gives an indeterminate
    decision, which callers treat as a failure to check.
    """
    policies = [p for p in (parse_policy_document(d) for d in documents) if p is not None]
    decision = _evaluate_action(policies, TOKEN_ACTION, request)
    if decision.allowed and request.tags:
        tagging = _evaluate_action(policies, TAG_ACTION, request)
        if not tagging.allowed:
            return tagging
    return decision


def duration_cap(documents: Iterable[Any]) -> int | None:
    """The longest lifetime the token grants of these documents allow, or None when uncapped/unknown."""
    caps = []
    for document in documents:
        for statement in statements_of(parse_policy_document(document) or {}):
            if grants_action(statement, TOKEN_ACTION):
                tests = conditions_on(statement.get("Condition") or {}, DURATION_KEY)
                for operator in ("NumericLessThanEquals", "NumericLessThan"):
                    if operator in tests:
                        try:
                            caps.append(int(as_list(tests[operator])[0]) - (operator == "NumericLessThan"))
                        except (TypeError, ValueError, IndexError):
                            pass
    return max(caps) if caps else None


# ---------------------------------------------------------------------------------------------
# Guardrails: the organisation's service control policies
# ---------------------------------------------------------------------------------------------

_NEGATED_STRING = ("stringnotequals", "stringnotequalsignorecase", "stringnotlike")
_EXEMPTING = ("arnnotlike", "arnnotequals", "stringnotlike", "stringnotequals")


def check_token_guardrails(document: Any, field: str) -> list[Violation]:
    """A service control policy that denies token requests must deny what it seems to.

    - An audience allow-list in a Deny needs ``ForAnyValue:StringNotEquals``: with
      ``ForAllValues`` the statement denies only when *every* requested audience is foreign, so a
      request that adds one allowed audience gets any other through. Without a set operator the
      multi-valued key is not compared as a list at all.
    - A Deny of the federation switch whose exemption (``ArnNotLike aws:PrincipalArn``) matches
      every principal denies nobody.
    Allow statements are not judged: in an SCP they grant nothing.

    >>> scp = {"Statement": [{"Effect": "Deny", "Action": "sts:GetWebIdentityToken", "Resource": "*",
    ...        "Condition": {"ForAllValues:StringNotEquals": {"sts:IdentityTokenAudience": ["a"]}}}]}
    >>> [v.code for v in check_token_guardrails(scp, "content")]
    ['guardrail.audience.bypassable']
    """
    policy = parse_policy_document(document)
    if policy is None:
        return []
    found: list[Violation] = []
    for index, statement in enumerate(statements_of(policy)):
        where = f"{field}.Statement[{index}]"
        if grants_action(statement, TOKEN_ACTION, effect="Deny"):
            for operator in conditions_on(statement.get("Condition") or {}, AUDIENCE_KEY):
                qualifier, _, base = operator.rpartition(":")
                if base.lower().removesuffix("ifexists") not in _NEGATED_STRING:
                    continue
                if qualifier.lower() == "forallvalues":
                    found.append(Violation(
                        f"{where}.Condition.{operator}", AUDIENCE_KEY,
                        "denies only requests whose audiences are ALL outside the list: a request that adds one "
                        "allowed audience gets any other audience through. Use ForAnyValue:" + base,
                        code="guardrail.audience.bypassable"))
                elif not qualifier:
                    found.append(Violation(
                        f"{where}.Condition.{operator}", AUDIENCE_KEY,
                        f"tests the multi-valued {AUDIENCE_KEY} without a set operator: use ForAnyValue:{base} to "
                        "deny a request with any audience outside the list", code="guardrail.audience.set-operator"))
        if any(grants_action(statement, action, effect="Deny") for action in SWITCH_ACTIONS):
            for operator, exempted in (statement.get("Condition") or {}).items():
                if not isinstance(exempted, Mapping) or operator.lower().removesuffix("ifexists") not in _EXEMPTING:
                    continue
                for key, patterns in exempted.items():
                    if key.lower() != "aws:principalarn":
                        continue
                    patterns = [p for p in as_list(patterns) if isinstance(p, str)]
                    if any(p.strip("*?") == "" for p in patterns):
                        found.append(Violation(
                            f"{where}.Condition.{operator}", patterns,
                            "exempts every principal, so the statement denies nobody the federation switch: name "
                            "the deployer roles", code="guardrail.switch.exempts-everyone"))
                    found += [Violation(f"{where}.Condition.{operator}", p, WILDCARD_ROLE_NAME_ADVICE, WARNING,
                                        code="guardrail.switch.wildcard-role-name")
                              for p in patterns if exempts_by_role_name_pattern(p)]
    return found


WILDCARD_ROLE_NAME_ADVICE = (
    "exempts roles by a name pattern: whoever can create a role with a matching name in a member account may then "
    "switch federation on or off; name the deployer role exactly (the account part may stay *)")


def exempts_by_role_name_pattern(arn_pattern: str) -> bool:
    """Does this ``aws:PrincipalArn`` pattern match roles by a wildcard in their path or name?

    >>> exempts_by_role_name_pattern("arn:aws:iam::*:role/federation-deployer")
    False
    >>> exempts_by_role_name_pattern("arn:aws:iam::*:role/*-deployer")
    True
    """
    _, _, role_part = arn_pattern.partition(":role/")
    return bool(role_part) and any(c in role_part for c in "*?") and role_part.strip("*?/") != ""


__all__ = [
    "ADVISORY_DURATION_SECONDS", "Decision", "TokenRequest", "as_list", "check_token_grants", "check_token_guardrails",
    "check_trust_policy", "exempts_by_role_name_pattern",
    "conditions_on", "duration_cap", "evaluate_token_request", "grants_action", "grants_tokens",
    "parse_policy_document", "statement_applies", "statements_of", "token_grant_algorithms",
]
