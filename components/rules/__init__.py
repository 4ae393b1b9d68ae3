"""Every validation rule and limit of the toolkit, in one place.

Pure Python with no Pulumi import, so the components, the policy pack and the ``fedctl`` CLI all
call the same functions. A rule function takes plain values and a *field path* (the name the user
wrote, e.g. ``workloads[2].audiences[0]``) and returns a list of :class:`Violation`; it never
raises. Callers decide what to do with the list: components raise :class:`ValidationError` before
registering anything, the policy pack reports each violation, the CLI prints them.

Example::

    >>> from components.rules import aws
    >>> [v.message for v in aws.check_duration_seconds(30, "max_duration_seconds")]
    ['max_duration_seconds: 30 is out of range: a token lifetime in seconds must be 60-3600']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .errors import ValidationError

ERROR = "error"
WARNING = "warning"

_MAX_SHOWN_VALUE = 120


def describe(value: Any) -> str:
    """Render a value for an error message: quoted, and shortened when very long."""
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 15] + f"...' ({len(str(value))} chars)"
    return text


@dataclass(frozen=True)
class Violation:
    """One broken rule: which field, what value, which rule, how serious."""

    field: str
    value: Any
    rule: str
    severity: str = ERROR
    code: str = ""
    """Stable and machine-readable (``aws.role-name.length``): tests and tools branch on it, never on ``rule``."""

    @property
    def message(self) -> str:
        return f"{self.field}: {describe(self.value)} {self.rule}"

    def __str__(self) -> str:
        return self.message


def errors(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == ERROR]


def warnings(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == WARNING]


def raise_for(label: str, violations: Iterable[Violation]) -> list[Violation]:
    """Raise :class:`ValidationError` if any violation is an error; return the warnings."""
    violations = list(violations)
    found = errors(violations)
    if found:
        raise ValidationError(label, found)
    return warnings(violations)


def is_plain(value: Any) -> bool:
    """True when a value can be judged now; False for a Pulumi Output or anything holding one.

    Checked structurally (without importing Pulumi) so this module stays importable anywhere:
    Pulumi's ``Output`` is the only input type with both ``apply`` and ``is_known``.
    """
    if hasattr(value, "apply") and hasattr(value, "is_known"):
        return False
    if isinstance(value, dict):
        return all(is_plain(k) and is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    return True


def check_length(value: Any, field: str, low: int, high: int, what: str, *, code: str) -> list[Violation]:
    """A string of ``low``-``high`` characters. Codes: ``<code>.type``, ``<code>.length``."""
    if not isinstance(value, str):
        return [Violation(field, value, f"must be a string ({what})", code=f"{code}.type")]
    if not low <= len(value) <= high:
        return [Violation(field, value, f"has {len(value)} characters: {what} must be {low}-{high}",
                          code=f"{code}.length")]
    return []


def check_count(items: Any, field: str, low: int, high: int, what: str, *, code: str) -> list[Violation]:
    """A list of ``low``-``high`` items. Codes: ``<code>.type``, ``<code>.count``."""
    if not isinstance(items, (list, tuple)):
        return [Violation(field, items, f"must be a list of {what}", code=f"{code}.type")]
    if not low <= len(items) <= high:
        return [Violation(field, f"{len(items)} items", f"is out of range: allowed {low}-{high} {what}",
                          code=f"{code}.count")]
    return []


def check_unique(items: Sequence[Any], field: str, what: str, *, code: str) -> list[Violation]:
    """No item twice. Code: ``<code>.duplicate``."""
    seen: set[Any] = set()
    found = []
    for index, item in enumerate(items):
        key = item if isinstance(item, (str, int, tuple)) else repr(item)
        if key in seen:
            found.append(Violation(f"{field}[{index}]", item, f"is listed twice: each {what} may appear once",
                                   code=f"{code}.duplicate"))
        seen.add(key)
    return found


def whole_number(value: Any) -> int | None:
    """The int a value stands for: ints, and floats with nothing after the point, else None.

    JSON has one number type, so a whole number set from another language (through the
    multi-language package) or from some config tools arrives as ``300.0``: it means 300.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def check_int_range(value: Any, field: str, low: int, high: int, what: str, *, code: str) -> list[Violation]:
    """A whole number in ``low``-``high``. Codes: ``<code>.type``, ``<code>.range``."""
    if whole_number(value) is None:
        return [Violation(field, value, f"must be a whole number ({what})", code=f"{code}.type")]
    if not low <= value <= high:
        return [Violation(field, value, f"is out of range: {what} must be {low}-{high}", code=f"{code}.range")]
    return []


def check_booleans(args: Any, keys: Sequence[str], field: Any) -> list[Violation]:
    """Switches must be true or false: ``"false"`` as a string would read as on. Code: ``switch.type``."""
    return [Violation(field(key), args[key], "must be true or false", code="switch.type")
            for key in keys if key in args and not isinstance(args[key], bool)]


def has_whitespace(text: str) -> bool:
    return any(ch.isspace() for ch in text)
