"""GCP's dialect of CEL for workload identity providers, on top of the review tooling's evaluator.

GCP adds a string function to standard CEL, which cel-python lacks, so it is registered here
from GCP's documented semantics:

- ``<string>.extract(template)``: the template is ``prefix{name}suffix``. The value starts after
  the FIRST occurrence of ``prefix`` (at the start when ``prefix`` is empty) and runs to the first
  occurrence of ``suffix`` after it, or to the end when ``suffix`` is empty. No match gives ''.
  (GCP: "extracts any characters after the first occurrence of the string /instances/"; its
  default AWS mapping uses ``'{account_arn}assumed-role/'``, an empty prefix.)

``split()`` is CEL's strings extension, which GCP's own guide uses (``assertion.sub.split('/sc/')[1]``).
GCP evaluates the attribute mapping first (with ``assertion`` = the token's claims), then the
condition with ``assertion``, ``google`` and ``attribute``; a condition that is false or fails to
evaluate rejects the token. Needs cel-python (the ``preview`` extra).

Example::

    cel = GcpCel()
    cel.evaluate("assertion.sub.extract('role/{name}')", {"sub": "arn:aws:iam::1:role/app"})  # 'app'
    cel.outcome(condition, claims, mapping)  # True, False or "error"
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.errors import missing_dependency

ERROR = "error"


def gcp_extract(value: Any, template: Any) -> Any:
    """GCP's ``extract()``: the text between the first ``prefix`` and the next ``suffix``."""
    from celpy import celtypes

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


class GcpCel:
    """Evaluates GCP attribute mappings and conditions against token claims."""

    def __init__(self) -> None:
        try:
            from fedctl.preview.cel import CelError, CelEvaluator
        except ImportError as error:
            raise missing_dependency(error, "preview") from error
        self._evaluator = CelEvaluator({"extract": gcp_extract})
        self.CelError = CelError

    def evaluate(self, expression: str, claims: Mapping[str, Any], **extra: Mapping[str, Any]) -> Any:
        """The value of ``expression`` with ``assertion`` = claims (plus ``google``/``attribute``)."""
        return self._evaluator.evaluate(expression, {"assertion": dict(claims), **{k: dict(v) for k, v in extra.items()}})

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
        except self.CelError:
            return ERROR
        if not isinstance(result, bool):
            return ERROR
        return result

    def accepts(self, condition: str, claims: Mapping[str, Any], mapping: Mapping[str, str] | None = None) -> bool:
        return self.outcome(condition, claims, mapping) is True
