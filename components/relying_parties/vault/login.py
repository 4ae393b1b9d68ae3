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

The checks after the signature (:func:`check_claims`) need only the claims: ``fedctl doctor``
applies them to the live mount and role with the real token's claims.

Example::

    verdict = evaluate(config_body(backend), role_body(role), token, jwks)
    check_claims(live_config, live_role, claims)     # None, or the first Mismatch in Vault's order
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Mismatch:
    """The first check of Vault's login a token fails: ``check`` names it, ``reason`` is Vault's text.

    ``check`` is one of ``role_type``, ``alg``, ``iss``, ``sub``, ``aud``, ``exp``, ``nbf``,
    ``aud_unbound``, ``user_claim``, ``claim_mapping``, ``bound_claim_missing``, ``bound_claim``,
    ``root``. ``claim`` is the claim key it is about (a bound claim's pointer), ``expected`` what
    the mount or role holds and ``actual`` what the token carries.
    """

    check: str
    reason: str
    claim: str = ""
    expected: Any = None
    actual: Any = None


def check_before_signature(config: Mapping[str, Any], role: Mapping[str, Any], algorithm: Any) -> Mismatch | None:
    """What Vault refuses before it looks at the signature: an ``oidc`` role, an algorithm the mount does not take."""
    role_type = role.get("role_type") or SERVER_DEFAULT_ROLE_TYPE
    if role_type != ROLE_TYPE_JWT:
        return Mismatch("role_type", "role with oidc role_type is not allowed", "role_type", ROLE_TYPE_JWT, role_type)
    algorithms = list(config.get("jwt_supported_algs") or VAULT_DEFAULT_ALGORITHMS)
    if algorithm not in algorithms:
        return Mismatch("alg", "error validating token: invalid algorithm (alg) header parameter: token signed "
                               "with unexpected algorithm", "alg", algorithms, algorithm)
    return None


def check_issuer(config: Mapping[str, Any], claims: Mapping[str, Any]) -> Mismatch | None:
    """``iss`` against the mount's ``bound_issuer``: compared exactly, and not at all when it is empty."""
    if config.get("bound_issuer") and claims.get("iss") != config["bound_issuer"]:
        return Mismatch("iss", "error validating token: invalid issuer (iss) claim", "iss", config["bound_issuer"],
                        claims.get("iss"))
    return None


def check_claims(config: Mapping[str, Any], role: Mapping[str, Any], claims: Mapping[str, Any], *,
                 now: float | None = None) -> Mismatch | None:
    """What Vault checks of a token whose signature verified, in Vault's order: the first that fails.

    ``now`` None skips the time checks (the token's lifetime is judged by Vault's clock, not ours).
    """
    refused = check_issuer(config, claims)
    if refused is not None:
        return refused
    if role.get("bound_subject") and claims.get("sub") != role["bound_subject"]:
        return Mismatch("sub", "error validating token: invalid subject (sub) claim", "sub", role["bound_subject"],
                        claims.get("sub"))
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    bound = list(role.get("bound_audiences") or [])
    if bound and not set(audiences) & set(bound):
        return Mismatch("aud", "error validating token: invalid audience (aud) claim: audience claim does not match "
                               "any expected audience", "aud", bound, audiences)
    if now is not None:
        skew = int(role.get("clock_skew_leeway") or 0)
        leeway = DEFAULT_CLOCK_SKEW_SECONDS if skew == 0 else max(skew, 0)
        if isinstance(claims.get("exp"), (int, float)) and now > claims["exp"] + leeway:
            return Mismatch("exp", "error validating token: invalid expiration time (exp) claim: token is expired",
                            "exp", now, claims["exp"])
        not_before = claims.get("nbf", claims.get("iat"))
        if isinstance(not_before, (int, float)) and not_before > now + leeway:
            return Mismatch("nbf", "error validating token: invalid not before (nbf) claim: token not yet valid",
                            "nbf", now, not_before)
    if audiences and not bound:
        return Mismatch("aud_unbound", "audience claim found in JWT but no audiences bound to the role", "aud",
                        [], audiences)
    user_claim = role.get("user_claim") or ""
    found, user = claim_at(claims, user_claim)
    if not found or not isinstance(user, str) or not user:
        return Mismatch("user_claim", f"claim {user_claim!r} not found in token", user_claim)
    for key in (role.get("claim_mappings") or {}):
        found, value = claim_at(claims, key)
        if found and isinstance(value, (list, dict)):  # a missing mapped claim is skipped
            return Mismatch("claim_mapping", f"error converting claim '{key}' to string", key, None, value)
    glob = role.get("bound_claims_type") == "glob"
    for key, allowed in (role.get("bound_claims") or {}).items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        found, value = claim_at(claims, key)
        if not found:
            return Mismatch("bound_claim_missing", f'error validating claims: claim "{key}" is missing', key, allowed)
        if not _matches(value, allowed, glob):
            return Mismatch("bound_claim", f'error validating claims: claim "{key}" does not match any associated '
                                           "bound claim values", key, allowed, value)
    if TOKEN_ROOT_POLICY in _policies(role):
        return Mismatch("root", "auth methods cannot create root tokens", "token_policies", None, TOKEN_ROOT_POLICY)
    return None


def accepted(role: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """What Vault hands out for a token it let in: the policies and the metadata keys."""
    mappings = (role.get("claim_mappings") or {}).items()
    metadata = sorted({target for key, target in mappings if claim_at(claims, key)[0]})
    return (f"Vault token with policies {', '.join(_policies(role))}"
            + (f" and metadata {', '.join(metadata)}" if metadata else ""))


def evaluate(config: Mapping[str, Any], role: Mapping[str, Any], token: str, jwks: Mapping[str, Any],
             now: float | None = None) -> Verdict:
    """Would Vault log this token in to this role? ``jwks``: the keys the mount trusts."""
    import jwt

    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        header = None
    algorithm = (header or {}).get("alg")
    refused = check_before_signature(config, role, algorithm)
    if refused is not None and (header is not None or refused.check == "role_type"):
        return Verdict(False, refused.reason)
    if header is None:
        return Verdict(False, "error validating token: malformed token")
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
    refused = check_claims(config, role, claims, now=now)
    return Verdict(False, refused.reason) if refused is not None else Verdict(True, accepted(role, claims))
