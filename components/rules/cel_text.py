"""Reading the shape of a CEL expression as text: its top-level ``||`` and ``&&`` operands.

Relying parties that take CEL (GCP attribute conditions, Kubernetes claim validation rules) must
pin the AWS account on every path of an expression: ``pinned || true`` pins nothing. These helpers
split an expression the way CEL groups it, outside parentheses, brackets and string literals, so
each kind's audit can ask its own question of every alternative. Evaluating CEL is the kinds' CEL
evaluators' job; this module only reads its structure.

Example::

    >>> split_top_level("a == 'x || y' || (b && c)", "||")
    ["a == 'x || y'", '(b && c)']
    >>> pins_on_every_path("a == 1 || true", lambda clause: clause == "a == 1")
    False
"""

from __future__ import annotations

from typing import Callable


def _scan(expression: str, on_top_level: Callable[[int], int | None] | None = None) -> tuple[int, str, bool]:
    """Walk the expression, tracking bracket depth and string literals; call ``on_top_level(i)`` at
    every position at depth 0 outside strings (it may return how far to skip). Returns the final
    depth, the open quote (if a literal is unterminated) and whether depth ever went below zero."""
    depth, quote, i, underflow = 0, "", 0, False
    while i < len(expression):
        ch = expression[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            underflow = underflow or depth < 0
        elif depth == 0 and on_top_level is not None:
            skip = on_top_level(i)
            if skip:
                i += skip - 1
        i += 1
    return depth, quote, underflow


def split_top_level(expression: str, operator: str) -> list[str]:
    """The operands of ``operator`` (``||`` or ``&&``) at the top level of a CEL expression.

    >>> split_top_level("a && (b || c) && d in ['&&']", "&&")
    ['a', '(b || c)', "d in ['&&']"]
    """
    cuts: list[int] = []

    def cut(i: int) -> int | None:
        if expression.startswith(operator, i):
            cuts.append(i)
            return len(operator)
        return None

    _scan(expression, cut)
    parts, start = [], 0
    for at in cuts:
        parts.append(expression[start:at])
        start = at + len(operator)
    parts.append(expression[start:])
    return [part.strip() for part in parts]


def balanced(expression: str) -> bool:
    """Do its brackets, outside string literals, close in order and never below depth 0?"""
    depth, quote, underflow = _scan(expression)
    return depth == 0 and not quote and not underflow


def unwrap(expression: str) -> str:
    """The expression without parentheses around all of it: ``((a || b))`` -> ``a || b``."""
    expression = expression.strip()
    while expression.startswith("(") and expression.endswith(")") and balanced(expression[1:-1]):
        expression = expression[1:-1].strip()
    return expression


def pins_on_every_path(expression: str, pins: Callable[[str], bool]) -> bool:
    """Does the expression hold only when some clause that ``pins`` holds does?

    Every ``||`` alternative must pin; an ``&&`` pins when one of its operands does; a negated
    clause pins nothing.
    """
    inner = unwrap(expression)
    alternatives = split_top_level(inner, "||")
    if len(alternatives) > 1:
        return all(pins_on_every_path(alternative, pins) for alternative in alternatives)
    conjuncts = split_top_level(inner, "&&")
    if len(conjuncts) > 1:
        return any(pins_on_every_path(conjunct, pins) for conjunct in conjuncts)
    return not inner.startswith("!") and pins(inner)


__all__ = ["balanced", "pins_on_every_path", "split_top_level", "unwrap"]
