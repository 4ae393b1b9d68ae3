"""What ``fedctl doctor`` and the kinds' ``diagnose`` hooks share: steps, the token's facts, differences.

Pure Python, no cloud client: a kind's runtime module builds :class:`Step`\\ s from what it read
of its relying party's LIVE configuration, and compares it with the real token's claims with
:func:`difference`, which names the first differing character and, for the mistakes people
make (a role ARN rebuilt from the role's name, a case change, a trailing slash), says which.

A step never holds a token or a secret: only claims (which are not secret: they are what the
relying party is configured with) and what the relying party answered.

Example::

    diff = difference("sub", "arn:aws:iam::123456789012:role/exporter",
                      "arn:aws:iam::123456789012:role/app/exporter")
    diff.kind          # 'path-lost'
    diff.lines()       # the two values and a caret under the first differing character
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..rules.facts import AWS_CLAIMS

PASS, FAIL, UNCHECKED, SKIP = "pass", "fail", "unchecked", "skip"
STATUSES = (PASS, FAIL, UNCHECKED, SKIP)
"""``pass``: checked and right. ``fail``: checked, and the trust is broken here (a finding, exit 1).
``unchecked``: could not check (no credentials, no permission, a missing extra: exit 2 unless
something failed). ``skip``: not applicable, or pointless after an earlier failure (no effect)."""


@dataclass
class Step:
    """One check of ``fedctl doctor``: what it checked, what it found, and the fix when it failed.

    ``code`` names the check (``caller``, ``federation``, ``token``, ``trust.credentials``, ...) and
    ``finding`` the cause when it failed or could not check (``caller.other-role``,
    ``trust.subject-differs``, ``exchange.AADSTS700213``, ...): both are stable, for scripts and
    tests; the wording is for people and may change.
    """

    code: str
    title: str
    status: str
    checked: str
    found: str = ""
    fix: str = ""
    finding: str = ""
    relying_party: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r}: must be one of {STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"code": self.code, "title": self.title, "status": self.status,
                                    "checked": self.checked, "found": self.found}
        for name in ("fix", "finding", "relying_party"):
            if getattr(self, name):
                document["relyingParty" if name == "relying_party" else name] = getattr(self, name)
        if self.details:
            document["details"] = self.details
        return document


@dataclass(frozen=True)
class TokenFacts:
    """What doctor learnt from the minted token, decoded and never printed: its claims and header.

    The raw token stays with the supplier; a hook that needs to present it uses step 5, the
    kind's own ``exchange``.
    """

    claims: Mapping[str, Any]
    algorithm: str
    key_id: str | None = None

    @property
    def audiences(self) -> list[str]:
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else [str(a) for a in aud or []]

    @property
    def aws(self) -> Mapping[str, Any]:
        """AWS's own claims, nested under ``https://sts.amazonaws.com/``."""
        nested = self.claims.get(AWS_CLAIMS)
        return nested if isinstance(nested, Mapping) else {}

    def summary(self) -> str:
        aws = self.aws
        parts = [f"iss {self.claims.get('iss')}", f"sub {self.claims.get('sub')}",
                 f"aud {self.claims.get('aud')}", f"alg {self.algorithm}"]
        if aws.get("aws_account"):
            parts.append(f"aws_account {aws.get('aws_account')}")
        if aws.get("source_region"):
            parts.append(f"source_region {aws.get('source_region')}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Refusal:
    """What a relying party's refusal means: the stable finding code, the cause and the fix."""

    finding: str
    cause: str
    fix: str


# ---------------------------------------------------------------------------------------------
# Differences
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """The first place where what a relying party trusts differs from what the token says."""

    field: str
    expected: str
    """What the relying party is configured to accept."""
    actual: str
    """What the token carries."""
    position: int
    """Index of the first differing character (0-based)."""
    kind: str
    """``case``, ``path-lost``, ``path-differs``, ``trailing-slash``, ``whitespace``, ``missing``,
    ``extra`` or ``changed``."""
    explanation: str

    def lines(self, expected_label: str = "trusted", actual_label: str = "token") -> list[str]:
        """The two values one above the other, and a caret under the first differing character."""
        width = max(len(expected_label), len(actual_label))
        return [f"{actual_label:<{width}}: {self.actual}",
                f"{expected_label:<{width}}: {self.expected}",
                f"{'':<{width}}  {' ' * self.position}^ character {self.position + 1}"]

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual,
                "position": self.position, "kind": self.kind, "explanation": self.explanation}


def _role_parts(arn: str) -> tuple[str, str, str] | None:
    from ..rules.aws import parse_role_arn

    parsed = parse_role_arn(arn)
    return (parsed.account_id, parsed.path, parsed.name) if parsed else None


def _shown(text: str) -> str:
    return repr(text)


def difference(field_name: str, expected: Any, actual: Any) -> Difference | None:
    """How ``expected`` (what the relying party trusts) differs from ``actual`` (the token), or None.

    >>> difference("sub", "arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x") is None
    True
    >>> difference("iss", "https://A.example", "https://a.example").kind
    'case'
    """
    expected, actual = "" if expected is None else str(expected), "" if actual is None else str(actual)
    if expected == actual:
        return None
    position = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    trusted_roles, token_roles = _role_parts(expected), _role_parts(actual)
    if expected.lower() == actual.lower():
        kind = "case"
        explanation = (f"differs only in case at character {position + 1} ({_shown(actual[position])} in the token, "
                       f"{_shown(expected[position])} trusted): relying parties compare case-sensitively")
    elif trusted_roles and token_roles and trusted_roles[0] == token_roles[0] and trusted_roles[2] == token_roles[2]:
        if trusted_roles[1] == "/" and token_roles[1] != "/":
            kind = "path-lost"
            explanation = (f"the trusted role ARN has no path, the token's has {token_roles[1]!r}: the ARN was "
                           "rebuilt from the role's name and the path was lost; trust the role's real ARN, path "
                           "included (the stack's workloads.<name>.subject)")
        else:
            kind = "path-differs"
            explanation = (f"the role's path differs: {token_roles[1]!r} in the token, {trusted_roles[1]!r} trusted; "
                           "trust the role's real ARN (the stack's workloads.<name>.subject)")
    elif expected.strip() != expected and expected.strip() == actual.strip():
        kind = "whitespace"
        explanation = "the trusted value has leading or trailing whitespace"
    elif expected.rstrip("/") == actual.rstrip("/"):
        kind = "trailing-slash"
        explanation = (f"one of them ends with '/': {_shown(actual)} in the token, {_shown(expected)} trusted; "
                       "the values are compared exactly")
    else:
        # The differing middle: after the common prefix, before the common suffix.
        suffix = 0
        while (suffix < min(len(expected), len(actual)) - position
               and expected[len(expected) - 1 - suffix] == actual[len(actual) - 1 - suffix]):
            suffix += 1
        trusted_part, token_part = expected[position:len(expected) - suffix], actual[position:len(actual) - suffix]
        if not trusted_part:
            kind = "missing"
            explanation = f"the trusted value lacks {_shown(token_part)} at character {position + 1}"
        elif not token_part:
            kind = "extra"
            explanation = f"the trusted value has {_shown(trusted_part)} at character {position + 1}, the token not"
        else:
            kind = "changed"
            explanation = (f"from character {position + 1} the trusted value reads {_shown(trusted_part)} where the "
                           f"token reads {_shown(token_part)}")
    return Difference(field_name, expected, actual, position, kind, explanation)


def first_difference(pairs: Sequence[tuple[str, Any, Any]]) -> Difference | None:
    """The first of ``(field, expected, actual)`` that differs, in the order given."""
    for name, expected, actual in pairs:
        found = difference(name, expected, actual)
        if found is not None:
            return found
    return None


def closest(candidates: Sequence[Mapping[str, Any]], token: Mapping[str, Any], fields: Sequence[str]) -> int:
    """Index of the candidate record that matches the token on the most leading ``fields``.

    A relying party with many records (an app's federated credentials) is compared with the record
    the user most likely meant: same issuer before same subject before same audience, then the most
    similar subject.
    """
    def score(record: Mapping[str, Any]) -> tuple[int, float]:
        matched = 0
        for name in fields:
            if str(record.get(name)) != str(token.get(name)):
                break
            matched += 1
        similarity = difflib.SequenceMatcher(None, str(record.get(fields[1] if len(fields) > 1 else fields[0])),
                                             str(token.get(fields[1] if len(fields) > 1 else fields[0]))).ratio()
        return matched, similarity

    return max(range(len(candidates)), key=lambda i: score(candidates[i]))


def difference_step(code: str, title: str, checked: str, found: Difference, *, relying_party: str,
                    where: str, fix: str, details: Mapping[str, Any] | None = None) -> Step:
    """A failed step that shows ``found``: the field, both values, the caret, and what it means."""
    finding = f"trust.{found.field.replace('.', '-')}-differs"
    text = "\n".join([f"{where}: {found.field} differs at character {found.position + 1}: {found.explanation}",
                      *found.lines()])
    return Step(code, title, FAIL, checked, text, fix, finding, relying_party,
                {"difference": found.to_dict(), **(details or {})})


__all__ = [
    "Difference", "FAIL", "PASS", "Refusal", "SKIP", "STATUSES", "Step", "TokenFacts", "UNCHECKED", "closest",
    "difference", "difference_step", "first_difference",
]
