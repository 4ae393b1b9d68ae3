"""Vault's JWT login, by its documented rules: the rehearsal's judge when no OpenBao server is at hand.

Evaluates ``POST auth/<mount>/login`` for a mount config and a role as pulumi-vault writes them
(:mod:`.api`), in Vault's own order (checked against a real OpenBao 2.7.2 server, whose error
texts the reasons repeat):

1. the role must be a ``jwt`` role;
2. the signature, with a trusted key, and an algorithm in ``jwt_supported_algs`` (every
   asymmetric one when unset);
3. ``iss`` equal to ``bound_issuer``, only when it is set;
4. ``sub`` equal to ``bound_subject`` when set; ``aud`` matching one of ``bound_audiences``;
5. ``exp`` and ``iat`` within ``clock_skew_leeway`` (0 means 60 s, -1 none);
6. a token with ``aud`` needs ``bound_audiences``;
7. the user claim, then each claim mapping (a list or an object breaks the login);
8. each bound claim, found by its key (a pointer when it starts with ``/``): any value of a list
   claim may match any allowed value, exactly (``string``) or as a ``*`` pattern (``glob``).

Needs PyJWT and cryptography (the preview extra). Tokens never leave this module.

Example::

    verdict = evaluate(config_body(backend), role_body(role), token, jwks)
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Mapping

from ..base import Verdict
from .facts import (
    DEFAULT_CLOCK_SKEW_SECONDS,
    DEFAULT_POLICY,
    ROLE_TYPE_JWT,
    SERVER_DEFAULT_ROLE_TYPE,
    TOKEN_ROOT_POLICY,
    VAULT_DEFAULT_ALGORITHMS,
)
from .rules import claim_at


def _glob(pattern: str, value: str) -> bool:
    """go-glob, as Vault uses it: ``*`` matches any run of characters, nothing else is special."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value, re.DOTALL) is not None


def _matches(actual: Any, allowed: list[Any], glob: bool) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    for value in values:
        if not isinstance(value, str):
            continue
        for expected in allowed:
            if isinstance(expected, str) and (_glob(expected, value) if glob else expected == value):
                return True
    return False


def _key_for(token: str, jwks: Mapping[str, Any], algorithm: str) -> list[Any]:
    import jwt

    kid = jwt.get_unverified_header(token).get("kid")
    keys = [k for k in jwks.get("keys", []) if kid is None or k.get("kid") == kid]
    found = []
    for key in keys:
        try:
            found.append(jwt.PyJWK(key, algorithm=algorithm).key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
            continue
    return found


def _policies(role: Mapping[str, Any]) -> list[str]:
    named = [str(p).lower() for p in role.get("token_policies") or []]
    if not role.get("token_no_default_policy"):
        named = [DEFAULT_POLICY] + named
    return sorted(dict.fromkeys(named))


def evaluate(config: Mapping[str, Any], role: Mapping[str, Any], token: str, jwks: Mapping[str, Any],
             now: float | None = None) -> Verdict:
    """Would Vault log this token in to this role? ``jwks``: the keys the mount trusts."""
    import jwt

    now = time.time() if now is None else now
    if (role.get("role_type") or SERVER_DEFAULT_ROLE_TYPE) != ROLE_TYPE_JWT:
        return Verdict(False, "role with oidc role_type is not allowed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return Verdict(False, "error validating token: malformed token")
    algorithm = header.get("alg")
    if algorithm not in (config.get("jwt_supported_algs") or VAULT_DEFAULT_ALGORITHMS):
        return Verdict(False, "error validating token: invalid algorithm (alg) header parameter: token signed "
                              "with unexpected algorithm")
    claims = None
    for key in _key_for(token, jwks, algorithm):
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], options={
                "verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            return Verdict(False, f"error validating token: {error}")
    if claims is None:
        return Verdict(False, "error validating token: error verifying token signature: failed to verify id token "
                              "signature")
    if config.get("bound_issuer") and claims.get("iss") != config["bound_issuer"]:
        return Verdict(False, "error validating token: invalid issuer (iss) claim")
    if role.get("bound_subject") and claims.get("sub") != role["bound_subject"]:
        return Verdict(False, "error validating token: invalid subject (sub) claim")
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    bound = list(role.get("bound_audiences") or [])
    if bound and not set(audiences) & set(bound):
        return Verdict(False, "error validating token: invalid audience (aud) claim: audience claim does not match "
                              "any expected audience")
    skew = int(role.get("clock_skew_leeway") or 0)
    leeway = DEFAULT_CLOCK_SKEW_SECONDS if skew == 0 else max(skew, 0)
    if isinstance(claims.get("exp"), (int, float)) and now > claims["exp"] + leeway:
        return Verdict(False, "error validating token: invalid expiration time (exp) claim: token is expired")
    not_before = claims.get("nbf", claims.get("iat"))
    if isinstance(not_before, (int, float)) and not_before > now + leeway:
        return Verdict(False, "error validating token: invalid not before (nbf) claim: token not yet valid")
    if audiences and not bound:
        return Verdict(False, "audience claim found in JWT but no audiences bound to the role")
    user_claim = role.get("user_claim") or ""
    found, user = claim_at(claims, user_claim)
    if not found or not isinstance(user, str) or not user:
        return Verdict(False, f"claim {user_claim!r} not found in token")
    metadata = {}
    for key, target in (role.get("claim_mappings") or {}).items():
        found, value = claim_at(claims, key)
        if not found:
            continue  # a missing mapped claim is skipped
        if isinstance(value, (list, dict)):
            return Verdict(False, f"error converting claim '{key}' to string")
        metadata[target] = value if isinstance(value, str) else json.dumps(value)
    glob = role.get("bound_claims_type") == "glob"
    for key, allowed in (role.get("bound_claims") or {}).items():
        found, value = claim_at(claims, key)
        if not found:
            return Verdict(False, f'error validating claims: claim "{key}" is missing')
        if not _matches(value, allowed if isinstance(allowed, list) else [allowed], glob):
            return Verdict(False, f'error validating claims: claim "{key}" does not match any associated bound '
                                  "claim values")
    if TOKEN_ROOT_POLICY in _policies(role):
        return Verdict(False, "auth methods cannot create root tokens")
    return Verdict(True, f"Vault token with policies {', '.join(_policies(role))}"
                         + (f" and metadata {', '.join(sorted(metadata))}" if metadata else ""))
