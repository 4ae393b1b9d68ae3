"""``aws.iam.get_policy_document`` rendered the way the AWS provider renders it.

The data source is a pure function of its arguments, so the mock cloud computes it instead of
answering ``{}`` (which let a hand-written ``sts:*`` grant built this way pass the preview
unjudged). The rules follow hashicorp/terraform-provider-aws ``internal/service/iam``
(``policy_document_data_source.go``, ``policy_model.go``), which pulumi-aws bridges:

- a single action, resource, principal identifier or condition value renders as a string; several
  as a list sorted in *reverse* order (condition values keep their order);
- ``effect`` defaults to ``Allow`` and ``version`` to ``2012-10-17``; ``&{`` becomes ``${``;
- principals group by type (keys sorted), and ``{type: "*", identifiers: ["*"]}`` alone is ``"*"``;
- conditions group by test, then variable (keys sorted), values of repeated tests appended;
- ``source_policy_documents`` are merged first, then the statements, then
  ``override_policy_documents``; a statement with a Sid replaces the earlier one with that Sid;
- ``json`` is Go's ``MarshalIndent`` with two spaces (``<``, ``>``, ``&`` escaped as Go does),
  ``minifiedJson`` the compact form, and ``id`` the CRC-32 hash code of ``json``.

Example::

    >>> document = render_policy_document({"statements": [{"actions": ["sts:*"], "resources": ["*"]}]})
    >>> document["minifiedJson"]
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}'
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Mapping

_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal",
                   "Condition")


def _strings(values: Any) -> Any:
    """One value as itself; several sorted in reverse order (the provider's policyDecodeConfigStrings)."""
    values = [str(v) for v in values]
    if len(values) == 1:
        return values[0]
    return sorted(values, reverse=True)


def _replace_vars(value: Any) -> Any:
    if isinstance(value, list):
        return [v.replace("&{", "${") for v in value]
    return value.replace("&{", "${")


def _principals(blocks: list[Mapping[str, Any]]) -> Any:
    if len(blocks) == 1 and blocks[0].get("type") == "*" and list(blocks[0].get("identifiers") or []) == ["*"]:
        return "*"
    grouped: dict[str, Any] = {}
    for block in blocks:
        kind = block.get("type")
        identifiers = _replace_vars(_strings(block.get("identifiers") or []))
        existing = grouped.get(kind)
        if existing is None:
            grouped[kind] = identifiers
        else:
            existing = existing if isinstance(existing, list) else [existing]
            grouped[kind] = existing + (identifiers if isinstance(identifiers, list) else [identifiers])
    return {kind: grouped[kind] for kind in sorted(grouped)}


def _conditions(blocks: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, list[str]]] = {}
    for block in blocks:
        values = _replace_vars([str(v) for v in block.get("values") or []])
        raw.setdefault(block.get("test"), {}).setdefault(block.get("variable"), []).extend(values)
    return {test: {variable: (values[0] if len(values) == 1 else values)
                   for variable, values in sorted(raw[test].items())}
            for test in sorted(raw)}


def _statement(block: Mapping[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": block.get("effect") or "Allow"}
    if block.get("sid"):
        statement["Sid"] = block["sid"]
    for key, name in (("actions", "Action"), ("notActions", "NotAction")):
        if block.get(key):
            statement[name] = _strings(block[key])
    for key, name in (("resources", "Resource"), ("notResources", "NotResource")):
        if block.get(key):
            statement[name] = _replace_vars(_strings(block[key]))
    for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if block.get(key):
            statement[name] = _principals(list(block[key]))
    if block.get("conditions"):
        statement["Condition"] = _conditions(list(block["conditions"]))
    return {key: statement[key] for key in _STATEMENT_KEYS if key in statement}


def _reparsed(document: str) -> dict[str, Any]:
    """A source or override document as the provider re-marshals it (principal lists reverse-sorted)."""
    parsed = json.loads(document)
    statements = parsed.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    for statement in statements:
        for key in ("Principal", "NotPrincipal"):
            principal = statement.get(key)
            if isinstance(principal, Mapping):
                statement[key] = {kind: (sorted(v, reverse=True) if isinstance(v, list) else v)
                                  for kind, v in sorted(principal.items())}
        condition = statement.get("Condition")
        if isinstance(condition, Mapping):
            statement["Condition"] = {test: {variable: (str(v).lower() if isinstance(v, bool) else v)
                                             for variable, v in sorted(tests.items())}
                                      for test, tests in sorted(condition.items())}
    return {"Version": parsed.get("Version", ""), "Id": parsed.get("Id", ""), "Statement": statements}


def _merge(into: dict[str, Any], document: Mapping[str, Any]) -> None:
    if document.get("Id"):
        into["Id"] = document["Id"]
    if document.get("Version", "") > into.get("Version", ""):
        into["Version"] = document["Version"]
    for statement in document.get("Statement") or []:
        sid = statement.get("Sid")
        same = next((i for i, s in enumerate(into["Statement"]) if sid and s.get("Sid") == sid), None)
        if same is None:
            into["Statement"].append(statement)
        else:
            into["Statement"][same] = statement


def _go_json(value: Any, indent: int | None) -> str:
    text = json.dumps(value, indent=indent, separators=(",", ": ") if indent else (",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The invoke's result for these (camelCase) arguments: ``json``, ``minifiedJson``, ``id``, ..."""
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    for source in args.get("sourcePolicyDocuments") or []:
        if source:
            _merge(merged, _reparsed(source))
    _merge(merged, {"Version": args.get("version") or "2012-10-17", "Id": args.get("policyId") or "",
                    "Statement": [_statement(block) for block in args.get("statements") or []]})
    for override in args.get("overridePolicyDocuments") or []:
        if override:
            _merge(merged, _reparsed(override))
    document = {key: merged[key] for key in ("Version", "Id", "Statement") if merged[key]}
    rendered = _go_json(document, 2)
    return {
        "json": rendered, "minifiedJson": _go_json(document, None), "id": str(zlib.crc32(rendered.encode())),
        "version": document.get("Version"), "policyId": args.get("policyId"),
        "statements": list(args.get("statements") or []),
        "sourcePolicyDocuments": list(args.get("sourcePolicyDocuments") or []),
        "overridePolicyDocuments": list(args.get("overridePolicyDocuments") or []),
    }
