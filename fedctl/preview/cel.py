"""Evaluate GCP workload identity attribute mappings and conditions with cel-python.

The trust rehearsal judges planned GCP providers with this, and the tests judge generated CEL
with it. cel-python (``celpy``) is an implementation of CEL independent of our code. GCP adds two string
functions on top of standard CEL, which ``celpy`` lacks, so they are registered here from GCP's
documented semantics:

- ``<string>.extract(template)``: the template is ``prefix{name}suffix``. The value starts after
  the FIRST occurrence of ``prefix`` (at the start when ``prefix`` is empty) and runs to the first
  occurrence of ``suffix`` after it, or to the end when ``suffix`` is empty. No match gives ''.
  (GCP: "extracts any characters after the first occurrence of the string /instances/"; its
  default AWS mapping uses ``'{account_arn}assumed-role/'``, an empty prefix.)
- ``<string>.split(separator[, limit])``: as in CEL's strings extension, which GCP's own
  workload identity guide uses (``assertion.sub.split('/sc/')[1]``).

GCP evaluates the attribute mapping first, then the condition with ``assertion``, ``google``
and ``attribute``; a condition that is false or fails to evaluate rejects the token.

Example::

    judge = CelJudge()
    judge.evaluate("assertion.sub.extract('role/{name}')", {"sub": "arn:aws:iam::1:role/app"})  # 'app'
    judge.outcome(condition, claims, mapping)  # True, False or "error"
"""

from __future__ import annotations

from typing import Any, Mapping

import celpy
from celpy import celtypes

ERROR = "error"


class CelError(Exception):
    """An expression failed to compile or evaluate."""


def gcp_extract(value: Any, template: Any) -> celtypes.StringType:
    """GCP's ``extract()``: the text between the first ``prefix`` and the next ``suffix``."""
    text, template = str(value), str(template)
    opening, closing = template.find("{"), template.find("}")
    if opening < 0 or closing < opening:
        raise ValueError(f"extract() template {template!r} has no {{placeholder}}")
    prefix, suffix = template[:opening], template[closing + 1:]
    start = text.find(prefix)
    if start < 0:
        return celtypes.StringType("")
    rest = text[start + len(prefix):]
    if not suffix:
        return celtypes.StringType(rest)
    end = rest.find(suffix)
    return celtypes.StringType(rest[:end] if end >= 0 else "")


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


GCP_FUNCTIONS = {"extract": gcp_extract, "split": cel_split}


def _plain(value: Any) -> Any:
    """CEL values back to plain Python (bool, str, int, list, dict)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.ListType):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


class CelJudge:
    """Compiles and evaluates GCP-flavoured CEL against token claims."""

    def __init__(self) -> None:
        self._env = celpy.Environment()
        self._programs: dict[str, Any] = {}

    def _program(self, expression: str) -> Any:
        if expression not in self._programs:
            try:
                ast = self._env.compile(expression)
            except celpy.CELParseError as error:
                raise CelError(f"does not parse: {error}") from error
            self._programs[expression] = self._env.program(ast, functions=GCP_FUNCTIONS)
        return self._programs[expression]

    def evaluate(self, expression: str, claims: Mapping[str, Any], **extra: Mapping[str, Any]) -> Any:
        """The value of ``expression`` with ``assertion`` = claims (plus ``google``/``attribute``)."""
        activation = {"assertion": celpy.json_to_cel(dict(claims))}
        activation.update({key: celpy.json_to_cel(dict(value)) for key, value in extra.items()})
        try:
            result = self._program(expression).evaluate(activation)
        except celpy.CELEvalError as error:
            raise CelError(f"fails to evaluate: {error}") from error
        if isinstance(result, celpy.CELEvalError):
            raise CelError(f"fails to evaluate: {result}")
        return _plain(result)

    def map_attributes(self, mapping: Mapping[str, str], claims: Mapping[str, Any]) -> dict[str, Any]:
        """Every mapped attribute, keyed like the mapping (``google.subject``, ``attribute.x``)."""
        return {key: self.evaluate(expression, claims) for key, expression in mapping.items()}

    def outcome(self, condition: str, claims: Mapping[str, Any],
                mapping: Mapping[str, str] | None = None) -> bool | str:
        """True (accepted), False (rejected) or ``"error"`` (rejected, because evaluation failed)."""
        google: dict[str, Any] = {}
        attribute: dict[str, Any] = {}
        try:
            for key, value in self.map_attributes(mapping or {}, claims).items():
                scope, _, name = key.partition(".")
                (google if scope == "google" else attribute)[name] = value
            result = self.evaluate(condition, claims, google=google, attribute=attribute)
        except CelError:
            return ERROR
        if not isinstance(result, bool):
            return ERROR
        return result

    def accepts(self, condition: str, claims: Mapping[str, Any], mapping: Mapping[str, str] | None = None) -> bool:
        return self.outcome(condition, claims, mapping) is True
