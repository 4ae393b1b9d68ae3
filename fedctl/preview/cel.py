"""Evaluate CEL expressions with cel-python: the review tooling's judge for relying parties that speak CEL.

cel-python (``celpy``) is an implementation of CEL independent of our code. This module is the
dialect-free part: compile once, evaluate against an activation, turn CEL values back into plain
Python, and CEL's strings-extension ``split`` (which celpy lacks, and which GCP's guides and
Kubernetes' CEL both use). A relying party's own dialect (GCP's ``extract()`` and its
``assertion``/``google``/``attribute`` variables, Kubernetes' ``claims``) lives in its folder.

Example::

    cel = CelEvaluator()
    cel.evaluate("claims.sub.split('/')[1]", {"claims": {"sub": "role/app"}})   # 'app'
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import celpy
from celpy import celtypes

ERROR = "error"


class CelError(Exception):
    """An expression failed to compile or evaluate."""


def cel_split(value: Any, separator: Any, limit: Any = -1) -> celtypes.ListType:
    """CEL strings-extension ``split``: limit 0 gives [], a negative limit splits everywhere."""
    text, separator, limit = str(value), str(separator), int(limit)
    if limit == 0:
        parts: list[str] = []
    elif separator == "":
        parts = list(text) if limit < 0 else list(text[: limit - 1]) + ([text[limit - 1:]] if text[limit - 1:] else [])
    else:
        parts = text.split(separator) if limit < 0 else text.split(separator, limit - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


STRINGS_EXTENSION = {"split": cel_split}


def plain(value: Any) -> Any:
    """CEL values back to plain Python (bool, str, int, list, dict)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.ListType):
        return [plain(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


class CelEvaluator:
    """Compiles (once) and evaluates CEL, with extra functions registered on top of standard CEL."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._env = celpy.Environment()
        self._functions = {**STRINGS_EXTENSION, **(functions or {})}
        self._programs: dict[str, Any] = {}

    def _program(self, expression: str) -> Any:
        if expression not in self._programs:
            try:
                ast = self._env.compile(expression)
            except celpy.CELParseError as error:
                raise CelError(f"does not parse: {error}") from error
            self._programs[expression] = self._env.program(ast, functions=self._functions)
        return self._programs[expression]

    def check(self, expression: str) -> None:
        """Raise :class:`CelError` unless ``expression`` compiles."""
        self._program(expression)

    def evaluate(self, expression: str, activation: Mapping[str, Any]) -> Any:
        """The plain value of ``expression`` with each name in ``activation`` bound to its (JSON) value."""
        bound = {name: celpy.json_to_cel(value) for name, value in activation.items()}
        try:
            result = self._program(expression).evaluate(bound)
        except celpy.CELEvalError as error:
            raise CelError(f"fails to evaluate: {error}") from error
        if isinstance(result, celpy.CELEvalError):
            raise CelError(f"fails to evaluate: {result}")
        return plain(result)
