"""Rules and builders for SaaS relying parties set up by hand: the ``openai``, ``anthropic`` and
``generic`` presets.

The stack cannot create these trusts (no Pulumi provider exists), so it pins the vendor's audience
into each role's token policy and hands over exactly what the vendor's console or admin API
needs: the issuer, the audience, and per role the rule to paste (the exact ``sub`` plus the
vendor's way to check AWS's nested ``aws_account`` claim). :func:`rule_accepts` is that rule as
the vendor evaluates it, for the rehearsal.

Example::

    >>> token_audience({"preset": "openai"})
    'https://api.openai.com/v1'
    >>> mapping_rule("anthropic", "https://api.anthropic.com", "123456789012",
    ...              "arn:aws:iam::123456789012:role/chat")["match"]["subject_prefix"]
    'arn:aws:iam::123456789012:role/chat'
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ...rules import Violation, is_plain
from ...rules import aws as aws_rules
from ...rules.facts import AWS_CLAIMS
from .facts import ANTHROPIC, GENERIC, OPENAI, PRESET_FACTS, PRESETS

WILDCARDS = ("*", "?")

# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the record, the stack, the review and the runtime)
# ---------------------------------------------------------------------------------------------


def token_audience(settings: Mapping[str, Any]) -> str:
    """The ``aud`` the AWS token carries for this party: the one audience rule of the kind.

    The user's ``audience`` when given (required for ``generic``), else the preset's documented one.
    """
    return settings.get("audience") or PRESET_FACTS[settings["preset"]].audience


def openai_account_transformation() -> str:
    """OpenAI's CEL attribute transformation reading AWS's nested account claim."""
    return f'assertion["{AWS_CLAIMS}"]["aws_account"]'


def anthropic_condition(account_id: str) -> str:
    """A federation rule ``condition`` (CEL over ``claims``) pinning AWS's nested account claim."""
    return f'claims["{AWS_CLAIMS}"].aws_account == {json.dumps(account_id)}'


def mapping_rule(preset: str, audience: str, account_id: str, role_arn: str) -> dict[str, Any]:
    """What to paste for one role, in the vendor's own terms.

    - openai: a service account mapping on the exact ``sub``, plus an attribute transformation
      ``aws_account`` (CEL) matched to the account;
    - anthropic: a federation rule ``match``: ``subject_prefix`` (exact: an ARN never ends in
      ``*``), ``audience`` and a ``condition`` on the nested account claim;
    - generic: the claims to require exactly, the nested one by its path.
    """
    if preset == OPENAI:
        return {"claims": {"sub": role_arn},
                "attributeTransformations": {"aws_account": openai_account_transformation()},
                "attributes": {"aws_account": account_id}}
    if preset == ANTHROPIC:
        return {"match": {"subject_prefix": role_arn, "audience": audience,
                          "condition": anthropic_condition(account_id)}}
    return {"claims": {"sub": role_arn, "aud": audience}, "nestedClaims": {AWS_CLAIMS: {"aws_account": account_id}}}


def manual_step(preset: str, issuer: str, audience: str, roles: int) -> str:
    """The step a person does before the trust works, in one line."""
    facts = PRESET_FACTS[preset]
    what = "mapping" if preset == OPENAI else "rule"
    return (f"in {facts.where}: trust issuer {issuer} for audience {audience} (keys from its discovery document), "
            f"then add the {roles} {what}{'s' if roles != 1 else ''} of mappingRules (exact sub, aws_account pinned)")


def rule_accepts(preset: str, claims: Mapping[str, Any], role_arn: str, account_id: str,
                 audience: str) -> tuple[bool, str]:
    """Does a verified token's claims pass the rule made for ``role_arn``, as the vendor evaluates it?

    Signature, ``iss``, ``aud`` and times are checked before (by a JWT verifier). Here: ``sub``
    exactly (OpenAI's mapping, Anthropic's ``subject_prefix`` without ``*``), the nested
    ``aws_account`` (OpenAI's transformation, Anthropic's condition), and for Anthropic the
    ``audience`` matcher against any element of a list ``aud``.
    """
    if claims.get("sub") != role_arn:
        return False, "bad_subject"
    nested = claims.get(AWS_CLAIMS)
    if not isinstance(nested, Mapping) or nested.get("aws_account") != account_id:
        return False, "bad_aws_account"
    if preset == ANTHROPIC:
        aud = claims.get("aud")
        if audience not in (aud if isinstance(aud, list) else [aud]):
            return False, "bad_audience"
    return True, f"matches the {preset} rule for {role_arn}"


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def check_preset(preset: Any, field: str) -> list[Violation]:
    if preset not in PRESETS:
        return [Violation(field, preset, f"is not a known preset (known: {', '.join(PRESETS)})",
                          code="saas.preset.unknown")]
    return []


def check_audience(audience: Any, field: str) -> list[Violation]:
    """1-1000 characters (what STS takes), compared exactly by the vendor: no whitespace, no wildcards."""
    return aws_rules.check_exact_audience(audience, field, who="the vendor", code="saas.audience", wildcards="*?")


def check_subjects(subjects: Any, aws_account_id: Any, field: str, preset: Any = None) -> list[Violation]:
    """Label -> role ARN, each of the account; no more than the vendor's limit of mappings."""
    if not isinstance(subjects, Mapping):
        if not is_plain(subjects):
            return [Violation(field, "<Output>", "must be a plain map written in the program or config, not an Output",
                              code="saas.subjects.output")]
        return [Violation(field, subjects, "must be a map of label to role ARN", code="saas.subjects.type")]
    if not subjects:
        return [Violation(field, "0 subjects", "needs at least one label -> role ARN", code="saas.subjects.empty")]
    found = []
    account = aws_account_id if is_plain(aws_account_id) and isinstance(aws_account_id, str) else None
    for label, arn in subjects.items():
        if not is_plain(arn):
            continue
        where = f"{field}.{label}"
        found += aws_rules.check_subject_account(arn, account, where) if account and \
            not aws_rules.check_account_id(account, where) else aws_rules.check_role_arn(arn, where)
    limit = PRESET_FACTS[preset].max_mappings_per_provider if preset in PRESET_FACTS else None
    if limit is not None and len(subjects) > limit:
        found.append(Violation(field, f"{len(subjects)} roles",
                               f"is more than {PRESET_FACTS[preset].vendor} allows: at most {limit} mappings per "
                               "Workload Identity Provider (one provider per account issuer); split the roles over "
                               "two audiences, each its own provider", code="saas.mappings.count"))
    return found


def check_saas_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a SaaS party's plain settings; Output values are checked when they resolve."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found: list[Violation] = []
    preset = args.get("preset")
    if preset is None:
        found.append(Violation(field("preset"), None, f"is required: one of {', '.join(PRESETS)}",
                               code="saas.preset.missing"))
    else:
        found += check_preset(preset, field("preset"))
    audience = args.get("audience")
    if audience is not None and not is_plain(audience):
        found.append(Violation(field("audience"), "<Output>", "must be a plain value written in the program or config: "
                                                              "the role pins it at preview", code="saas.audience.output"))
    elif audience is not None:
        found += check_audience(audience, field("audience"))
    elif preset == GENERIC:
        found.append(Violation(field("audience"), None, "is required with the generic preset: the audience the SaaS "
                                                        "expects in the token", code="saas.audience.missing"))
    for key, check in (("issuer", aws_rules.check_issuer), ("aws_account_id", aws_rules.check_account_id)):
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of label to trusted role ARN",
                               code="saas.subjects.missing"))
    else:
        found += check_subjects(args["subjects"], args.get("aws_account_id"), field("subjects"), preset)
    return found


__all__ = [
    "anthropic_condition", "check_audience", "check_preset", "check_saas_args", "check_subjects", "manual_step",
    "mapping_rule", "openai_account_transformation", "rule_accepts", "token_audience",
]
