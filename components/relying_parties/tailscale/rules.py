"""Rules and builders for a Tailscale federated identity that trusts AWS roles.

Tailscale matches a token's ``iss`` and ``aud`` exactly and its ``sub`` against the identity's
``subject`` pattern, where ``*`` matches any run of characters (:func:`glob_match`). The stack
trusts each role by its exact ARN; a wildcard is used only when the user asks for one
(``subject_pattern``), and then it must pin the AWS account and the ``role/`` prefix, so it never
reaches another account or a principal that is not a role.

Example::

    >>> glob_match("arn:aws:iam::123456789012:role/ci-*", "arn:aws:iam::123456789012:role/ci-deploy")
    True
    >>> [v.code for v in check_subject_pattern("arn:aws:iam::*:role/ci", "subjectPattern")]
    ['tailscale.subject-pattern.account-wildcard']
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ...rules import (
    WARNING,
    Violation,
    check_unique,
    has_whitespace,
    is_plain,
)
from ...rules import aws as aws_rules
from .facts import (
    AUDIENCE_PREFIX,
    BROAD_SCOPE,
    DESCRIPTION_PATTERN,
    MAX_DESCRIPTION_LENGTH,
    RESERVED_CLAIM_RULE_KEYS,
    SCOPE_PATTERN,
    SCOPES,
    SCOPES_NEEDING_TAGS,
    TAG_PATTERN,
    WILDCARD,
)

# A role ARN's fixed start: partition, IAM, a 12-digit account and "role/", with no wildcard in it.
PINNED_ROLE_PREFIX = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}):role/")
PINNED_ACCOUNT_PREFIX = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}):")
MAX_LABEL_LENGTH = 63
"""A trusted role's label (``<stack>-<workload>`` in a stack): it names the identity."""
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,%d}$" % (MAX_LABEL_LENGTH - 1))

# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the component, the stack, the review and the runtime)
# ---------------------------------------------------------------------------------------------


def glob_match(pattern: str, value: str) -> bool:
    """Tailscale's subject and claim patterns: ``*`` matches any run of characters (also none,
    also ``/`` and ``:``); every other character matches itself; the whole value must match.

    >>> glob_match("repo:org/*", "repo:org/app:ref:refs/heads/main"), glob_match("a*c", "abd")
    (True, False)
    """
    if not isinstance(pattern, str) or not isinstance(value, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split(WILDCARD))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def token_audience(name: str, audience: str | None = None) -> str:
    """The ``aud`` the AWS token must carry for this identity: the one rule of the kind.

    The user's ``audience`` when given, else ``api.tailscale.com/<name>`` (``name`` is the
    component's). Never Tailscale's generated audience: that one is known only after creation.

    >>> token_audience("dev-ci-tailscale"), token_audience("x", "api.tailscale.com/ci")
    ('api.tailscale.com/dev-ci-tailscale', 'api.tailscale.com/ci')
    """
    return audience or f"{AUDIENCE_PREFIX}{name}"


def default_description(name: str) -> str:
    """A description Tailscale takes (at most 50 characters of letters, digits, spaces, - and _)."""
    cleaned = re.sub(r"[^A-Za-z0-9 _-]+", "-", f"AWS {name}")
    return cleaned[:MAX_DESCRIPTION_LENGTH].rstrip(" -")


def identity_subject(role_arn: str, subject_pattern: str | None = None) -> str:
    """The ``subject`` of the identity for a role: its exact ARN, or the pattern the user asked for."""
    return subject_pattern or role_arn


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def check_scopes(scopes: Any, field: str) -> list[Violation]:
    """At least one scope, each well formed and listed once; unlisted names and ``all`` are advisory."""
    if not isinstance(scopes, (list, tuple)) or not scopes:
        return [Violation(field, scopes, "must be a non-empty list of Tailscale scopes, e.g. [devices:core:read]",
                          code="tailscale.scopes.type")]
    found = []
    for index, scope in enumerate(scopes):
        where = f"{field}[{index}]"
        if not isinstance(scope, str) or not SCOPE_PATTERN.match(scope):
            found.append(Violation(where, scope, "is not a Tailscale scope name (lowercase words joined by ':', "
                                                 "e.g. devices:core:read)", code="tailscale.scope.format"))
        elif scope == BROAD_SCOPE:
            found.append(Violation(where, scope, "grants write access to everything in the tailnet, APIs of the "
                                                 "future included: name the scopes the workload needs", WARNING,
                                   code="tailscale.scope.broad"))
        elif scope not in SCOPES:
            found.append(Violation(where, scope, "is not a scope known here (Tailscale adds scopes over time; check "
                                                 "the spelling against Tailscale's trust credentials reference)",
                                   WARNING, code="tailscale.scope.unlisted"))
    return found + check_unique([s for s in scopes if isinstance(s, str)], field, "scope", code="tailscale.scopes")


def check_tags(tags: Any, field: str) -> list[Violation]:
    """Each tag ``tag:<name>``: a letter, then letters, digits or ``-``."""
    if tags is None:
        return []
    if not isinstance(tags, (list, tuple)):
        return [Violation(field, tags, "must be a list of tags, e.g. [tag:ci]", code="tailscale.tags.type")]
    found = [Violation(f"{field}[{index}]", tag, "must be tag:<name> (a letter, then letters, digits or '-')",
                       code="tailscale.tag.format")
             for index, tag in enumerate(tags) if not isinstance(tag, str) or not TAG_PATTERN.match(tag)]
    return found + check_unique([t for t in tags if isinstance(t, str)], field, "tag", code="tailscale.tags")


def check_tags_for_scopes(scopes: Any, tags: Any, field: str) -> list[Violation]:
    """Tailscale refuses an identity whose scopes include devices:core or auth_keys without tags."""
    if not isinstance(scopes, (list, tuple)):
        return []
    needing = [scope for scope in scopes if scope in SCOPES_NEEDING_TAGS]
    if needing and not tags:
        return [Violation(field, tags, f"is required: the scopes {', '.join(needing)} can only be used with tags "
                                       "(the tags its tokens may give devices and keys)", code="tailscale.tags.required")]
    return []


def check_audience(audience: Any, field: str) -> list[Violation]:
    """1-1000 characters (what STS takes), compared exactly: no whitespace, no ``*``."""
    return aws_rules.check_exact_audience(audience, field, who="Tailscale", code="tailscale.audience")


def check_description(description: Any, field: str) -> list[Violation]:
    """At most 50 characters of letters, digits, spaces, ``-`` and ``_``; never ``:``."""
    if not isinstance(description, str):
        return [Violation(field, description, "must be a string", code="tailscale.description.type")]
    found = []
    if len(description) > MAX_DESCRIPTION_LENGTH:
        found.append(Violation(field, description, f"has {len(description)} characters: Tailscale allows at most "
                                                   f"{MAX_DESCRIPTION_LENGTH}", code="tailscale.description.length"))
    if ":" in description:
        found.append(Violation(field, description, "must not contain ':': Tailscale refuses it",
                               code="tailscale.description.colon"))
    elif not DESCRIPTION_PATTERN.match(description):
        found.append(Violation(field, description, "may only hold letters, digits, spaces, '-' and '_'",
                               code="tailscale.description.charset"))
    return found


def check_subject_pattern(pattern: Any, field: str, account_id: Any = None) -> list[Violation]:
    """A subject pattern the user asked for must pin the account and ``role/``: never ``*`` in the
    account part, never another account's roles, never ``*`` alone."""
    if not isinstance(pattern, str) or not pattern:
        return [Violation(field, pattern, "must be a role ARN pattern, e.g. arn:aws:iam::123456789012:role/ci-*",
                          code="tailscale.subject-pattern.type")]
    if has_whitespace(pattern):
        return [Violation(field, pattern, "must not contain whitespace: Tailscale compares the subject character by "
                                          "character", code="tailscale.subject-pattern.whitespace")]
    if set(pattern) == {WILDCARD}:
        return [Violation(field, pattern, "matches every subject of the issuer: give the role ARN with a '*' after "
                                          "role/, e.g. arn:aws:iam::123456789012:role/ci-*",
                          code="tailscale.subject-pattern.any")]
    prefix = PINNED_ROLE_PREFIX.match(pattern)
    if prefix is None:
        account = PINNED_ACCOUNT_PREFIX.match(pattern)
        if account is None:
            return [Violation(field, pattern, "must pin the AWS account: start with arn:aws:iam::<12-digit account>:role/ "
                                              "with no '*' before role/", code="tailscale.subject-pattern.account-wildcard")]
        return [Violation(field, pattern, "must pin the role/ prefix: only roles get tokens for this trust, e.g. "
                                          f"{account.group(0)}role/ci-*", code="tailscale.subject-pattern.prefix")]
    if isinstance(account_id, str) and aws_rules.check_account_id(account_id, field) == [] \
            and prefix.group(2) != account_id:
        return [Violation(field, pattern, f"names account {prefix.group(2)}, but the issuer is account {account_id}'s: "
                                          "an issuer only vouches for its own account's roles",
                          code="tailscale.subject-pattern.other-account")]
    return []


def check_pattern_covers_role(pattern: str, role_arn: str, field: str) -> list[Violation]:
    """The pattern must let the trusted role itself in."""
    if not glob_match(pattern, role_arn):
        return [Violation(field, pattern, f"does not match the trusted role {role_arn}: its tokens would be refused",
                          code="tailscale.subject-pattern.misses-role")]
    return []


def check_trusted_role(arn: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """A trusted subject: a role ARN of ``aws_account_id``."""
    if isinstance(aws_account_id, str) and not aws_rules.check_account_id(aws_account_id, field):
        return aws_rules.check_subject_account(arn, aws_account_id, field)
    return aws_rules.check_role_arn(arn, field)


def check_subjects(subjects: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """Label -> role ARN; labels plain (they name the identities), ARNs checked when plain."""
    if not isinstance(subjects, Mapping):
        if not is_plain(subjects):
            return [Violation(field, "<Output>", "must be a plain map written in the program or config, not an Output: "
                                                 "its labels name the federated identities", code="tailscale.subjects.output")]
        return [Violation(field, subjects, "must be a map of label to role ARN, e.g. "
                                           "{ci: arn:aws:iam::123456789012:role/ci}", code="tailscale.subjects.type")]
    if not subjects:
        return [Violation(field, "0 subjects", "needs at least one label -> role ARN", code="tailscale.subjects.empty")]
    found = [Violation(f"{field}.{label}", label, "must be a label of 1-63 letters, digits, '.', '_' or '-' (it names "
                                                  "the federated identity)", code="tailscale.subject-label.format")
             for label in subjects if not isinstance(label, str) or not LABEL_PATTERN.match(label)]
    account = aws_account_id if is_plain(aws_account_id) else None
    for label, arn in subjects.items():
        if is_plain(arn):
            found += check_trusted_role(arn, account, f"{field}.{label}")
    return found


def judge_subject(subject: Any, field: str) -> list[Violation]:
    """How wide an identity's ``subject`` is, for the audits of identities on an AWS issuer.

    ``*`` alone, or a pattern that does not pin the account: mandatory. A pattern that pins the
    account but not ``role/``: mandatory (it reaches the account's users). A wildcard within one
    account's roles: advisory. An exact subject that is not a role ARN: advisory.
    """
    if not isinstance(subject, str):
        return []
    if WILDCARD not in subject:
        if aws_rules.parse_role_arn(subject) is None:
            return [Violation(field, subject, "is not an IAM role ARN: AWS puts the role ARN (with its path) in sub, "
                                              "so this identity may never match", WARNING,
                              code="tailscale.subject.not-a-role")]
        return []
    if set(subject) == {WILDCARD}:
        return [Violation(field, subject, "lets in every principal that can get a token from this issuer: name the "
                                          "role ARN", code="tailscale.subject.any")]
    if PINNED_ROLE_PREFIX.match(subject):
        return [Violation(field, subject, "is a wildcard: every matching role of the account, present and future, gets "
                                          "in; prefer one identity per role ARN", WARNING,
                          code="tailscale.subject.wildcard")]
    if PINNED_ACCOUNT_PREFIX.match(subject):
        return [Violation(field, subject, "pins the account but not role/: its users and other principals match too",
                          code="tailscale.subject.role-unpinned")]
    return [Violation(field, subject, "does not pin the AWS account: a wildcard before role/ matches roles of other "
                                      "accounts behind the same issuer pattern", code="tailscale.subject.any-account")]


def check_custom_claim_rules(rules: Any, field: str) -> list[Violation]:
    """``sub``, ``iss`` and ``aud`` are matched by their own fields and refused as claim rules."""
    if not isinstance(rules, Mapping):
        return []
    return [Violation(f"{field}.{key}", key, "is reserved: Tailscale matches it through subject, issuer and audience",
                      code="tailscale.custom-claim-rules.reserved")
            for key in rules if key in RESERVED_CLAIM_RULE_KEYS]


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


def check_tailscale_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a TailscaleFederatedTrust's plain inputs; Output values are checked when they resolve."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key, what in (("issuer", "the AWS account issuer (AccountFederation.issuer)"),
                      ("aws_account_id", "the 12-digit AWS account the issuer belongs to"),
                      ("scopes", "the Tailscale scopes its tokens get, e.g. [devices:core:read]")):
        if not _present(args, key):
            found.append(Violation(field(key), None, f"is required: {what}", code="tailscale.args.missing"))
    checks = {
        "issuer": aws_rules.check_issuer,
        "aws_account_id": aws_rules.check_account_id,
        "scopes": check_scopes,
        "tags": check_tags,
        "audience": check_audience,
        "description": check_description,
    }
    for key in ("audience", "subject_pattern", "scopes", "tags", "description"):
        if args.get(key) is not None and not is_plain(args[key]):
            found.append(Violation(field(key), "<Output>", "must be a plain value written in the program or config, not "
                                                           "an Output: it is needed at preview (the role pins the "
                                                           "audience; the rules judge the rest)",
                                   code="tailscale.args.output"))
    for key, check in checks.items():
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    if is_plain(args.get("scopes")) and is_plain(args.get("tags")):
        found += check_tags_for_scopes(args.get("scopes"), args.get("tags"), field("tags"))
    account = args.get("aws_account_id")
    subjects = args.get("subjects")
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of label to trusted role ARN",
                               code="tailscale.subjects.missing"))
    else:
        found += check_subjects(subjects, account, field("subjects"))
    pattern = args.get("subject_pattern")
    if pattern is not None and is_plain(pattern):
        found += check_subject_pattern(pattern, field("subject_pattern"), account if is_plain(account) else None)
        if isinstance(subjects, Mapping) and len(subjects) > 1:
            found.append(Violation(field("subject_pattern"), pattern,
                                   f"applies to one trusted role: with {len(subjects)} roles, trust each by its ARN, "
                                   "or give the pattern to one workload only", code="tailscale.subject-pattern.several-roles"))
        elif isinstance(subjects, Mapping):
            for label, arn in subjects.items():
                if isinstance(arn, str) and is_plain(arn) and not check_subject_pattern(pattern, "", None):
                    found += check_pattern_covers_role(pattern, arn, field("subject_pattern"))
    return found


__all__ = [
    "check_audience", "check_custom_claim_rules", "check_description", "check_pattern_covers_role", "check_scopes",
    "check_subject_pattern", "check_subjects", "check_tags", "check_tags_for_scopes", "check_tailscale_trust_args",
    "check_trusted_role", "default_description", "glob_match", "identity_subject", "judge_subject",
    "token_audience",
]
