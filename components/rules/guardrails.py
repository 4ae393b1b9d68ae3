"""The organisation's guardrails: checks of ``OrganizationGuardrails``' arguments (pure).

A service control policy narrows what every principal in the member accounts it is attached to
may do, whatever their own policies allow. For outbound federation an organisation wants two
things from it: only its deployer roles flip the account-wide switch (vendors and AWS services
otherwise enable it themselves), and tokens go only to audiences it knows, for no longer than
its cap. The document itself is built in :mod:`components.rules.policy_documents`; the pack's
judgement of any SCP, ours or hand-written, is in :mod:`components.rules.policy_audits`.

Example::

    >>> [v.code for v in check_guardrails_args({"targets": ["ou-ab12-cdef3456"],
    ...     "switch_principal_arns": ["*"], "allowed_audiences": ["api://AzureADTokenExchange"]})]
    ['guardrails.switch-principal.too-broad']
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from . import WARNING, Violation, check_count, errors, check_length, check_unique
from . import aws as aws_rules
from .facts import (
    MAX_ORGANIZATIONS_POLICY_DESCRIPTION_LENGTH,
    MAX_ORGANIZATIONS_POLICY_NAME_LENGTH,
    MAX_SCP_CHARACTERS,
)
from .policy_audits import WILDCARD_ROLE_NAME_ADVICE, exempts_by_role_name_pattern
from .policy_documents import guardrail_policy_document, minified

DEFAULT_GUARDRAIL_DURATION_SECONDS = 900
"""The organisation's default lifetime cap: a quarter of an hour, where the pack's advice starts."""
MAX_ALLOWED_AUDIENCES = 100
"""Far more than any organisation trusts; the SCP's 5,120 characters are the real bound."""

TARGET_PATTERNS = (
    ("root", re.compile(r"^r-[0-9a-z]{4,32}$")),
    ("organizational unit", re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")),
    ("account", re.compile(r"^\d{12}$")),
)
"""What an SCP attaches to, as Organizations' API spells their IDs."""

SWITCH_PRINCIPAL_PATTERN = re.compile(
    r"^arn:(?:aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)"
    r":iam::(?P<account>\d{12}|\*):role/(?P<rest>[\x21-\x7e]+)$",
    re.ASCII,
)
"""A role ARN, or an ``ArnNotLike`` pattern of one (``*`` for the account: the same deployer role
name in every account is how organisations run their pipelines)."""

KNOWN_ARGS = ("targets", "switch_principal_arns", "allowed_audiences", "max_duration_seconds",
               "allowed_signing_algorithms", "policy_name", "description", "tags")


def target_kind(target: Any) -> str | None:
    """``root``, ``organizational unit`` or ``account``; None when it is none of them.

    >>> target_kind("r-ab12"), target_kind("111122223333"), target_kind("ou-ab12-x")
    ('root', 'account', None)
    """
    if not isinstance(target, str):
        return None
    return next((kind for kind, pattern in TARGET_PATTERNS if pattern.match(target)), None)


def check_targets(targets: Any, field: str) -> list[Violation]:
    """One or more roots, OUs or accounts: a guardrail attached nowhere guards nothing."""
    found = check_count(targets, field, 1, 1000, "roots, organizational units or accounts to attach to",
                        code="guardrails.targets")
    if not isinstance(targets, (list, tuple)):
        return found
    for index, target in enumerate(targets):
        if target_kind(target) is None:
            found.append(Violation(
                f"{field}[{index}]", target,
                "is not a root (r-...), organizational unit (ou-...-...) or 12-digit account ID as Organizations "
                "spells them", code="guardrails.target.format"))
    return found + check_unique([t for t in targets if isinstance(t, str)], field, "target", code="guardrails.targets")


def check_switch_principals(arns: Any, field: str) -> list[Violation]:
    """The deployer roles that may still flip the switch: exact roles, never everyone."""
    found = check_count(arns, field, 1, 100, "deployer role ARNs", code="guardrails.switch-principals")
    if not isinstance(arns, (list, tuple)):
        return found
    for index, arn in enumerate(arns):
        sub = f"{field}[{index}]"
        match = SWITCH_PRINCIPAL_PATTERN.match(arn) if isinstance(arn, str) else None
        if isinstance(arn, str) and (arn.strip("*?") == "" or (match and match["rest"].strip("*?/") == "")):
            found.append(Violation(
                sub, arn,
                "exempts every role from the guardrail, so anyone could switch federation on or off: name the "
                "deployer role (arn:aws:iam::*:role/<name> for the same role in every account)",
                code="guardrails.switch-principal.too-broad"))
        elif match is None:
            found.append(Violation(
                sub, arn,
                "must be an IAM role ARN (arn:aws:iam::<account or *>:role/<path/name>): the guardrail compares "
                "aws:PrincipalArn, which for a role session is the role's ARN",
                code="guardrails.switch-principal.format"))
        elif exempts_by_role_name_pattern(arn):
            found.append(Violation(sub, arn, WILDCARD_ROLE_NAME_ADVICE, WARNING,
                                   code="guardrails.switch-principal.wildcard-role-name"))
    return found + check_unique([a for a in arns if isinstance(a, str)], field, "role ARN",
                                code="guardrails.switch-principals")


def check_guardrails_args(args: Mapping[str, Any], prefix: str = "",
                          spell: Callable[[str], str] = str) -> list[Violation]:
    """Every argument of ``OrganizationGuardrails``, and the document they make against its limit.

    ``spell`` renders an argument name the way the user wrote it (camelCase in stack config).
    """
    def at(key: str) -> str:
        return f"{prefix}{spell(key)}"

    found: list[Violation] = []
    for key in args:
        if key not in KNOWN_ARGS:
            found.append(Violation(at(key), args[key], "is not an argument of OrganizationGuardrails (known: "
                                   f"{', '.join(spell(k) for k in KNOWN_ARGS)})", code="guardrails.unknown-argument"))
    found += check_targets(args.get("targets"), at("targets"))
    found += check_switch_principals(args.get("switch_principal_arns"), at("switch_principal_arns"))
    found += aws_rules.check_audiences(args.get("allowed_audiences"), at("allowed_audiences"),
                                       max_count=MAX_ALLOWED_AUDIENCES, what="allowed audiences")
    duration = args.get("max_duration_seconds", DEFAULT_GUARDRAIL_DURATION_SECONDS)
    found += aws_rules.check_duration_seconds(duration, at("max_duration_seconds"))
    algorithms = args.get("allowed_signing_algorithms")
    if algorithms is not None:
        found += aws_rules.check_signing_algorithms(algorithms, at("allowed_signing_algorithms"))
    if args.get("policy_name") is not None:
        found += check_length(args["policy_name"], at("policy_name"), 1, MAX_ORGANIZATIONS_POLICY_NAME_LENGTH,
                              "a policy name", code="guardrails.policy-name")
    if args.get("description") is not None:
        found += check_length(args["description"], at("description"), 0, MAX_ORGANIZATIONS_POLICY_DESCRIPTION_LENGTH,
                              "a policy description", code="guardrails.description")
    if args.get("tags") is not None:
        found += aws_rules.check_tags(args["tags"], at("tags"))
    if not errors(found):
        found += check_document_size(guardrail_document(args), at("allowed_audiences"))
    return found


def guardrail_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The SCP for valid arguments (defaults applied)."""
    return guardrail_policy_document(
        args["switch_principal_arns"], args["allowed_audiences"],
        args.get("max_duration_seconds", DEFAULT_GUARDRAIL_DURATION_SECONDS),
        args.get("allowed_signing_algorithms"),
    )


def check_document_size(document: Any, field: str) -> list[Violation]:
    """Organizations refuses an SCP over 5,120 characters, counted on the JSON as sent."""
    size = len(document if isinstance(document, str) else minified(document))
    if size > MAX_SCP_CHARACTERS:
        return [Violation(
            field, f"{size} characters",
            f"makes a service control policy over Organizations' limit of {MAX_SCP_CHARACTERS} characters: shorten "
            "the lists, or split the audiences over two guardrails", code="guardrails.document.too-large")]
    return []


__all__ = [
    "DEFAULT_GUARDRAIL_DURATION_SECONDS", "KNOWN_ARGS", "check_document_size", "check_guardrails_args",
    "check_switch_principals", "check_targets", "guardrail_document", "target_kind",
]
