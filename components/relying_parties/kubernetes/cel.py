"""Kubernetes' dialect of CEL for JWT authenticators, on top of the review tooling's evaluator.

The kube-apiserver evaluates an authenticator's expressions with two variables (kubernetes/website
``apiserver-config.v1``): ``claims``, the token's payload as a map of claim name to value, for
``claimValidationRules``, ``claimMappings.username|groups|uid`` and ``extra[].valueExpression``;
``user``, the mapped UserInfo (``username``, ``uid``, ``groups``, ``extra``), for
``userValidationRules``. A claim whose name is not an identifier, like AWS's
``"https://sts.amazonaws.com/"``, is read by index: ``claims["https://sts.amazonaws.com/"]``.

Kubernetes' CEL environment adds the cel-go strings extension, which cel-python lacks. ``split``
comes with the review tooling's evaluator; the ones registered here follow cel-go's
``ext/strings`` documentation, for authenticators written by hand:

- ``<string>.lowerAscii()`` / ``upperAscii()``: only ASCII letters change case.
- ``<string>.substring(start[, end])``: code points ``[start, end)``; out of range is an error.
- ``<string>.indexOf(sub[, offset])`` / ``lastIndexOf(sub[, offset])``: a code point index, -1 when
  absent; ``indexOf`` searches from ``offset``, ``lastIndexOf`` up to ``offset``.
- ``<list(string)>.join([separator])``: the strings joined, ``''`` by default.

How kube-apiserver judges a token with them (kubernetes/website ``authentication.md``): every claim
validation rule must be ``true``; the username mapping must give a non-empty string; groups a string
or list of strings, where ``""``, ``[]`` and ``null`` mean none; every user validation rule must be
``true``; an expression that fails to evaluate, or gives another type, rejects the token. Needs
cel-python (the ``preview`` and ``kubernetes`` extras).

Example::

    cel = KubernetesCel()
    cel.evaluate("claims.sub.split('/')[1]", {"sub": "role/app"})          # 'app'
    cel.judge(authenticator, claims)   # (True, user) or (False, "claim_validation: ...")
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.errors import missing_dependency


def _string(value: Any) -> Any:
    from celpy import celtypes

    return celtypes.StringType(value)


def _int(value: Any) -> Any:
    from celpy import celtypes

    return celtypes.IntType(value)


def lower_ascii(value: Any) -> Any:
    return _string("".join(ch.lower() if ch.isascii() else ch for ch in str(value)))


def upper_ascii(value: Any) -> Any:
    return _string("".join(ch.upper() if ch.isascii() else ch for ch in str(value)))


def substring(value: Any, start: Any, end: Any = None) -> Any:
    text = str(value)
    start = int(start)
    end = len(text) if end is None else int(end)
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"substring({start}, {end}) is out of range for a string of {len(text)} code points")
    return _string(text[start:end])


def index_of(value: Any, sub: Any, offset: Any = 0) -> Any:
    text, offset = str(value), int(offset)
    if not 0 <= offset <= len(text):
        raise ValueError(f"indexOf offset {offset} is out of range")
    return _int(text.find(str(sub), offset))


def last_index_of(value: Any, sub: Any, offset: Any = None) -> Any:
    text = str(value)
    offset = len(text) if offset is None else int(offset)
    if not 0 <= offset <= len(text):
        raise ValueError(f"lastIndexOf offset {offset} is out of range")
    # The last occurrence that STARTS at or before offset.
    return _int(text.rfind(str(sub), 0, offset + len(str(sub))))


def join(values: Any, separator: Any = "") -> Any:
    return _string(str(separator).join(str(v) for v in values))


STRINGS_EXTENSION = {"lowerAscii": lower_ascii, "upperAscii": upper_ascii, "substring": substring,
                     "indexOf": index_of, "lastIndexOf": last_index_of, "join": join}


class KubernetesCel:
    """Evaluates a JWT authenticator's CEL against token claims, as kube-apiserver does."""

    def __init__(self) -> None:
        try:
            from fedctl.preview.cel import CelError, CelEvaluator
        except ImportError as error:
            raise missing_dependency(error, "preview") from error
        self._evaluator = CelEvaluator(STRINGS_EXTENSION)
        self.CelError = CelError

    def check(self, expression: str) -> None:
        """Raise ``CelError`` unless the expression parses."""
        self._evaluator.check(expression)

    def evaluate(self, expression: str, claims: Mapping[str, Any]) -> Any:
        """The value of ``expression`` with ``claims`` bound to the token's payload."""
        return self._evaluator.evaluate(expression, {"claims": dict(claims)})

    def evaluate_user(self, expression: str, user: Mapping[str, Any]) -> Any:
        return self._evaluator.evaluate(expression, {"user": dict(user)})

    def map_user(self, mappings: Mapping[str, Any], claims: Mapping[str, Any]) -> dict[str, Any]:
        """The UserInfo the mappings give (``username``, ``uid``, ``groups``, ``extra``).

        Raises ``CelError`` (or ``ValueError`` for a value of the wrong type or an empty username),
        which rejects the token. Only expressions are understood: a ``claim``-style mapping is read
        as ``prefix + claims[claim]``, as Kubernetes defines it.
        """
        username = self._mapped(mappings.get("username") or {}, claims)
        if not isinstance(username, str):
            raise ValueError(f"the username mapping gives {type(username).__name__}, not a string")
        if not username:
            raise ValueError("the username mapping gives an empty username")
        user: dict[str, Any] = {"username": username, "uid": "", "groups": [], "extra": {}}
        groups = self._mapped(mappings.get("groups") or {}, claims) if mappings.get("groups") else None
        if isinstance(groups, str):
            groups = [groups] if groups else []
        if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
            raise ValueError("the groups mapping gives neither a string nor a list of strings")
        user["groups"] = [g for g in groups or [] if g]
        if mappings.get("uid"):
            uid = self._mapped(mappings["uid"], claims)
            if not isinstance(uid, str):
                raise ValueError("the uid mapping gives no string")
            user["uid"] = uid
        for extra in mappings.get("extra") or []:
            value = self.evaluate(extra.get("valueExpression") or "", claims)
            values = [value] if isinstance(value, str) else value
            if values is None:
                continue
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"the extra mapping {extra.get('key')!r} gives neither a string nor a list of strings")
            if [v for v in values if v]:
                user["extra"][extra.get("key")] = [v for v in values if v]
        return user

    def _mapped(self, mapping: Mapping[str, Any], claims: Mapping[str, Any]) -> Any:
        if mapping.get("expression"):
            return self.evaluate(mapping["expression"], claims)
        claim = mapping.get("claim")
        if claim:
            if claim not in claims:
                raise ValueError(f"the token has no {claim!r} claim to map")
            value = claims[claim]
            prefix = mapping.get("prefix") or ""
            return [prefix + v for v in value] if isinstance(value, list) else prefix + str(value)
        raise ValueError("a mapping with neither claim nor expression")

    def judge(self, authenticator: Mapping[str, Any], claims: Mapping[str, Any]) -> tuple[bool, Any]:
        """``(True, user)`` when the authenticator's CEL lets these (verified) claims in, else
        ``(False, why)``. Issuer, audience, signature and lifetime are checked before, by the caller."""
        try:
            user = self.map_user(authenticator.get("claimMappings") or {}, claims)
        except (self.CelError, ValueError) as error:
            return False, f"claim_mapping: {error}"
        for rule in authenticator.get("claimValidationRules") or []:
            if rule.get("claim"):
                if claims.get(rule["claim"]) != rule.get("requiredValue", ""):
                    return False, f"claim_validation: {rule['claim']} is not {rule.get('requiredValue', '')!r}"
                continue
            try:
                result = self.evaluate(rule.get("expression") or "", claims)
            except self.CelError as error:
                return False, f"claim_validation: {error}"
            if result is not True:
                return False, f"claim_validation: {rule.get('message') or rule.get('expression')}"
        for rule in authenticator.get("userValidationRules") or []:
            try:
                result = self.evaluate_user(rule.get("expression") or "", user)
            except self.CelError as error:
                return False, f"user_validation: {error}"
            if result is not True:
                return False, f"user_validation: {rule.get('message') or rule.get('expression')}"
        return True, user
