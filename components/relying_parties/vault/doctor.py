"""``fedctl doctor`` for Vault and OpenBao: the LIVE JWT auth mount and role, against the token.

``diagnose`` reads, with hvac, what the server holds now:

- the mount: ``GET /v1/auth/<mount>/config`` (``bound_issuer``, ``jwt_supported_algs`` and the key
  source: ``oidc_discovery_url``, ``jwks_url`` or ``jwt_validation_pubkeys``);
- the workload's role: ``GET /v1/auth/<mount>/role/<role>`` (``role_type``, ``user_claim``,
  ``bound_subject``, ``bound_audiences``, ``bound_claims``, ``bound_claims_type``, ``claim_mappings``).

and judges the real token's claims with the rules the kind's judge applies (:mod:`.login`, in
Vault's order), showing the first field that differs. The signature is not judged here (doctor
holds the claims, not the token): step 5's login shows it.

The read needs a Vault token allowed to ``read`` both paths, from ``VAULT_TOKEN`` (or OpenBao's
``BAO_TOKEN``); a program or a test passes ``vault_token=`` instead. The address, CA and
namespace are the exchange's (``--address``, ``--ca-cert``, ``--namespace``). Without a token,
or without permission, step 4 could not check: it is never a finding.

``explain_refusal`` maps Vault's answer to the login (step 5) to its cause.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from typing import Any, Callable, Mapping, Sequence

from ...rules.errors import missing_dependency
from ..diagnosis import FAIL, PASS, UNCHECKED, Refusal, Step, TokenFacts, difference, difference_step
from .facts import PROVIDER_DEFAULT_MOUNT, ROLE_TYPE_JWT
from .login import Mismatch, accepted, check_before_signature, check_claims, check_issuer
from .rules import SUB_KEYS, pointer_segments

TOKEN_VARIABLES = ("VAULT_TOKEN", "BAO_TOKEN")
"""Where the reader's Vault token comes from (Vault's CLI reads the first, OpenBao's the second)."""
TIMEOUT = 30
TITLES = {
    "trust.mount": "Does the live JWT auth mount take the token (algorithm, bound issuer, keys)",
    "trust.role": "Does the live Vault role let it in (subject, audience, bound claims)",
}


class _ReadError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def _hvac() -> Any:
    try:
        import hvac
        import hvac.exceptions
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    return hvac


def _read(client: Any, path: str) -> Mapping[str, Any] | None:
    """``GET /v1/<path>``'s ``data``; None when Vault answers 404 (nothing there)."""
    hvac = _hvac()
    import requests

    try:
        answer = client.read(path)
    except hvac.exceptions.Forbidden as error:
        raise _ReadError(403, _said(error)) from None
    except hvac.exceptions.VaultError as error:
        raise _ReadError(getattr(error, "status_code", None) or 0, _said(error)) from None
    except requests.exceptions.RequestException as error:
        raise _ReadError(None, f"could not reach Vault: {type(error).__name__}") from None
    if answer is None:
        return None
    data = answer.get("data") if isinstance(answer, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def _said(error: Exception) -> str:
    """Vault's own words, one line, without the URL hvac appends."""
    text = " ".join(str(error).split())
    said = re.split(r",? on (?:get|post|put|list) ", text)[0].replace("1 error occurred: * ", "").strip()
    return said or type(error).__name__


def _closest(values: Sequence[Any], actual: Any) -> str:
    """Of the values a mount or role allows, the one most like the token's (shown against it)."""
    candidates = [str(v) for v in values] or [""]
    return max(candidates, key=lambda v: difflib.SequenceMatcher(None, v, str(actual)).ratio())


def _label(claim: str) -> str:
    """A bound claim's key as people read it: a pointer's last segment (``aws_account``), else the key."""
    segments = pointer_segments(claim)
    return segments[-1] if segments else claim


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "vault", progress: Callable[[str], None] = lambda message: None,
             vault_token: str | None = None) -> list[Step]:
    """Compare the token with the mount's config and the workload's role as the server holds them now."""
    role_name = (exported.get("roles") or {}).get(workload)
    mount = str(exported.get("mountPath") or PROVIDER_DEFAULT_MOUNT).strip("/")
    address = getattr(options, "address", None) or exported.get("address")
    title = TITLES["trust.mount"]
    if not role_name or not address:
        return [Step("trust.mount", title, UNCHECKED, "the workload's Vault mount and role",
                     f"the outputs name no Vault {'role' if address else 'address'} for workload '{workload}'",
                     "use current outputs (workloads.<name>.vault.roles, .address)", "trust.no-role-in-outputs")]
    config_path, role_path = f"auth/{mount}/config", f"auth/{mount}/role/{role_name}"
    secret = vault_token or next((os.environ[name] for name in TOKEN_VARIABLES if os.environ.get(name)), None)
    if not secret:
        return [Step("trust.mount", title, UNCHECKED, f"Vault GET /v1/{config_path} and /v1/{role_path}",
                     "no Vault token to read them (VAULT_TOKEN or BAO_TOKEN is not set)",
                     f"export VAULT_TOKEN with a token whose policy may read auth/{mount}/config and "
                     f"auth/{mount}/role/*, or pass --no-live-read", "trust.no-read-access")]
    hvac = _hvac()
    client = hvac.Client(url=address, token=secret, verify=getattr(options, "ca_cert", None) or True,
                         namespace=getattr(options, "namespace", None), timeout=TIMEOUT)
    try:
        progress(f"reading auth/{mount}/config at {address}")
        try:
            config = _read(client, config_path)
        except _ReadError as error:
            return [_unreadable("trust.mount", f"Vault GET /v1/{config_path}", error, mount)]
        if config is None:
            return [Step("trust.mount", title, FAIL, f"Vault GET /v1/{config_path}",
                         f"there is no configured JWT auth mount at auth/{mount} (Vault answered 404)",
                         "the mount was disabled or never configured, or the outputs are stale: `pulumi up`, or give "
                         "--namespace when it lives in a namespace", "trust.mount-not-found")]
        steps = [_mount_step(config, token, f"Vault GET /v1/{config_path}")]
        checked = f"Vault GET /v1/{role_path}"
        progress(f"reading the role {role_name}")
        try:
            role = _read(client, role_path)
        except _ReadError as error:
            return [*steps, _unreadable("trust.role", checked, error, mount)]
    finally:
        client.adapter.close()
    if role is None:
        steps.append(Step("trust.role", TITLES["trust.role"], FAIL, checked,
                          f"the mount has no role {role_name!r} (Vault answered 404)",
                          "the role was deleted or renamed, or the outputs are stale: `pulumi up`",
                          "trust.role-not-found", details={"role": role_name}))
    else:
        steps.append(_role_step(config, role, token, checked, role_name))
    return steps


def _unreadable(code: str, checked: str, error: _ReadError, mount: str) -> Step:
    return Step(code, TITLES[code], UNCHECKED, checked, f"could not read it: {error}",
                f"read with a token whose policy grants read on auth/{mount}/config and auth/{mount}/role/* "
                "(check --address and --namespace), or pass --no-live-read",
                "trust.read-denied" if error.status in (401, 403) else "trust.read-failed")


# -- the mount --------------------------------------------------------------------------------------

def _key_source(config: Mapping[str, Any]) -> tuple[str, str]:
    """(which, how it reads) of the keys the mount checks signatures with."""
    if config.get("oidc_discovery_url"):
        return "oidc_discovery_url", f"keys from the discovery document of {config['oidc_discovery_url']}"
    if config.get("jwks_url"):
        return "jwks_url", f"keys from {config['jwks_url']} (whether they are the issuer's, step 5's login shows)"
    keys = config.get("jwt_validation_pubkeys") or []
    if keys:
        return "jwt_validation_pubkeys", (f"{len(keys)} public key(s) pasted into the mount: they do not follow "
                                          "AWS's key rotation (prefer oidc_discovery_url)")
    if config.get("jwks_pairs"):
        return "jwks_pairs", "keys from jwks_pairs"
    return "none", "no key source"


def _mount_step(config: Mapping[str, Any], token: TokenFacts, checked: str) -> Step:
    code, title = "trust.mount", TITLES["trust.mount"]
    iss = token.claims.get("iss")
    source, keys = _key_source(config)
    details = {"boundIssuer": config.get("bound_issuer") or None, "keySource": source,
               "jwtSupportedAlgs": list(config.get("jwt_supported_algs") or [])}
    refused = check_before_signature(config, {"role_type": ROLE_TYPE_JWT}, token.algorithm)
    if refused is not None:
        return Step(code, title, FAIL, checked,
                    f"the mount takes {', '.join(refused.expected)}; the token is signed with {token.algorithm}",
                    f"add {token.algorithm} to the mount's jwt_supported_algs (the stack pins RS256 and ES384)",
                    "trust.algorithm-not-accepted", details=details)
    refused = check_issuer(config, token.claims)
    if refused is not None:
        found = difference("iss", refused.expected, refused.actual)
        return difference_step(code, title, checked, found, relying_party="", where="the mount's bound_issuer",
                               fix=f"set the mount's bound_issuer to the AWS account's issuer exactly: {iss}",
                               details=details)
    discovery = config.get("oidc_discovery_url")
    found = difference("iss", discovery, iss) if discovery else None
    if found is not None:
        step = difference_step(code, title, checked, found, relying_party="",
                               where="the mount's oidc_discovery_url (Vault checks signatures with that issuer's keys)",
                               fix=f"set oidc_discovery_url to the AWS account's issuer exactly: {iss}", details=details)
        step.finding = "trust.discovery-url-differs"
        return step
    if not config.get("bound_issuer"):
        # Logins work, but the trust is not what the stack and the pack require: fail, never "healthy".
        return Step(code, title, FAIL, checked,
                    f"the mount takes {token.algorithm} but binds no issuer (bound_issuer is empty), so Vault checks "
                    f"no iss: any token signed by a key it trusts gets in; {keys}",
                    f"set the mount's bound_issuer to the AWS account's issuer exactly: {iss}",
                    "trust.issuer-unbound", details={**details, "issuerChecked": False})
    return Step(code, title, PASS, checked, f"the mount takes {token.algorithm} and binds the token's issuer; {keys}",
                details={**details, "issuerChecked": True})


# -- the role ---------------------------------------------------------------------------------------

def _role_step(config: Mapping[str, Any], role: Mapping[str, Any], token: TokenFacts, checked: str,
               role_name: str) -> Step:
    code, title = "trust.role", TITLES["trust.role"]
    details: dict[str, Any] = {"role": role_name, "roleType": role.get("role_type"),
                               "boundSubject": role.get("bound_subject") or None,
                               "boundAudiences": list(role.get("bound_audiences") or []),
                               "boundClaimsType": role.get("bound_claims_type") or "string"}
    refused = check_before_signature({"jwt_supported_algs": [token.algorithm]}, role, token.algorithm)
    if refused is None:  # the mount's own checks (iss) are the mount step's
        refused = check_claims({k: v for k, v in config.items() if k != "bound_issuer"}, role, token.claims)
    if refused is None:
        return Step(code, title, PASS, checked, f"role {role_name} lets the token's claims in: "
                    f"{accepted(role, token.claims)} (the signature is checked by step 5's login)", details=details)
    return _refusal_step(refused, token, checked, role_name, details)


_ROLE_FIXES = {
    "role_type": ("trust.role-type-oidc", "the role's role_type is {actual}: Vault refuses every JWT login to an oidc "
                  "role (pulumi-vault's default)", "write the role with role_type = jwt"),
    "aud_unbound": ("trust.no-bound-audiences", "the role binds no audience, and Vault refuses a token with an aud "
                    "to such a role", "set the role's bound_audiences to the audience the role requests"),
    "user_claim": ("trust.user-claim-missing", "the role's user_claim {claim!r} is not a string claim of the token",
                   "set user_claim to sub (the role ARN)"),
    "claim_mapping": ("trust.claim-mapping-not-scalar", "the role maps the claim {claim!r}, a list or an object in "
                      "this token: Vault refuses every login to the role", "remove that claim mapping"),
    "bound_claim_missing": ("trust.bound-claim-missing", "the role binds the claim {claim!r}, which the token does "
                            "not carry (an unescaped pointer, or a claim AWS adds only in an organization)",
                            "fix the bound claim's key (escape '/' as ~1) or remove it"),
    "root": ("trust.root-policy", "the role's policies include root: no auth method hands out root tokens",
             "remove root from the role's token_policies"),
}


def _refusal_step(refused: Mismatch, token: TokenFacts, checked: str, role_name: str,
                  details: dict[str, Any]) -> Step:
    code, title = "trust.role", TITLES["trust.role"]
    sub = token.claims.get("sub")
    where = f"role {role_name}"
    if refused.check == "sub":
        found = difference("sub", refused.expected, refused.actual)
        return difference_step(code, title, checked, found, relying_party="", where=f"{where}'s bound_subject",
                               fix=f"set bound_subject to the role's ARN exactly, path included "
                                   f"(the stack's workloads.<name>.subject): {sub}", details=details)
    if refused.check == "aud":
        audience = token.audiences[0] if token.audiences else ""
        found = difference("aud", _closest(refused.expected, audience), audience)
        return difference_step(code, title, checked, found, relying_party="", where=f"{where}'s bound_audiences",
                               fix="make the role's bound_audiences and the audience the role requests the same "
                                   f"(the stack's workloads.<name>.vault.audience): the token asks for {audience}",
                               details=details)
    if refused.check == "bound_claim":
        actual = refused.actual[0] if isinstance(refused.actual, list) and refused.actual else refused.actual
        label = "sub" if refused.claim in SUB_KEYS else _label(refused.claim)
        if details["boundClaimsType"] == "string":
            found = difference(label, _closest(refused.expected, actual), actual)
            if found is not None:
                step = difference_step(code, title, checked, found, relying_party="",
                                       where=f"{where}'s bound claim {refused.claim!r}",
                                       fix=f"set the bound claim {refused.claim!r} to the token's value exactly"
                                           + (f" (the role's ARN, path included): {sub}" if label == "sub" else ""),
                                       details={**details, "claim": refused.claim})
                if label != "sub":
                    step.finding = "trust.bound-claim-differs"
                return step
        return Step(code, title, FAIL, checked,
                    f"{where}'s bound claim {refused.claim!r} allows {refused.expected}; the token carries {actual!r}",
                    "make one of the bound values match the token's claim", "trust.bound-claim-differs",
                    details={**details, "claim": refused.claim})
    finding, found_text, fix = _ROLE_FIXES.get(refused.check, ("trust.rejected", "{reason}", "see Vault's rule"))
    return Step(code, title, FAIL, checked,
                found_text.format(claim=refused.claim, actual=refused.actual, reason=refused.reason)
                + f" (Vault: {refused.reason})", fix, finding, details={**details, "claim": refused.claim})


# -- step 5: what Vault's refusal means ---------------------------------------------------------------
#
# Vault's JWT auth method answers a refused login with these texts (hashicorp/vault-plugin-auth-jwt
# path_login.go and claims.go at 2e68bba, 2026-07-15; "error validating token: ..." wraps
# hashicorp/cap's jwt validator). Each one was produced by the real OpenBao 2.7.2 dev server of the
# test suite (tests/relying_parties/test_vault_doctor.py) and mapped here:
# - 'role "<name>" could not be found';
# - "could not load configuration" (a mount enabled but never configured);
# - "permission denied" (a login to a path where no auth method is mounted, or outside the namespace);
# - "role with oidc role_type is not allowed";
# - "error validating token: invalid issuer (iss) claim" / "invalid subject (sub) claim" /
#   "invalid audience (aud) claim" / "invalid algorithm (alg) header parameter" / "token is expired";
# - "error validating token: error verifying token signature: failed to verify id token signature"
#   (keys from discovery or a JWKS URL) and "... no known key successfully validated the token
#   signature" (keys pasted into jwt_validation_pubkeys);
# - "audience claim found in JWT but no audiences bound to the role";
# - 'error validating claims: claim "<key>" does not match any associated bound claim values' and
#   'claim "<key>" is missing'.

_REFUSALS: tuple[tuple[str, str, str, str], ...] = (
    (r'role "[^"]*" could not be found', "role-not-found",
     "the mount has no role by the name the workload logs in with",
     "check workloads.<name>.vault.roles against the mount's roles (`vault list auth/<mount>/role`); `pulumi up`"),
    (r"could not load configuration", "mount-not-configured",
     "the auth mount exists but has no config (no issuer, no keys)", "configure the mount: `pulumi up`"),
    (r"^(?:1 error occurred: \* )?permission denied$", "no-mount",
     "Vault answers a login to a path where no auth method is mounted with 'permission denied'",
     "check workloads.<name>.vault.mountPath and --namespace against `vault auth list`"),
    (r"role with oidc role_type is not allowed", "role-type-oidc",
     "the role is an oidc role (the browser flow): Vault refuses every JWT login to it",
     "write the role with role_type = jwt"),
    (r"invalid issuer \(iss\) claim", "invalid-issuer",
     "the token's iss is not the mount's bound_issuer", "set bound_issuer to the AWS account's issuer exactly"),
    (r"invalid subject \(sub\) claim", "invalid-subject",
     "the token's sub (the role ARN) is not the role's bound_subject",
     "set bound_subject to the role's ARN exactly, path included (step 4 shows the difference)"),
    (r"invalid audience \(aud\) claim", "invalid-audience",
     "the token's aud is none of the role's bound_audiences",
     "make bound_audiences and the audience the role requests the same"),
    (r"invalid algorithm \(alg\) header parameter", "invalid-algorithm",
     "the mount's jwt_supported_algs do not include the token's algorithm", "add RS256 and ES384 to jwt_supported_algs"),
    (r"no known key successfully validated the token signature", "signature-pasted-keys",
     "none of the public keys pasted into the mount (jwt_validation_pubkeys) verifies the token: AWS rotated its "
     "keys, or they are another issuer's", "configure oidc_discovery_url with the account's issuer instead of keys"),
    (r"failed to verify id token signature", "signature",
     "the keys the mount reads (its discovery URL or JWKS URL) do not verify the token: they are another issuer's",
     "set oidc_discovery_url to the AWS account's issuer (step 4 compares it)"),
    (r"token is expired|token not yet valid", "time",
     "the token is outside its lifetime by Vault's clock", "check the clocks (Vault's and the workload's)"),
    (r"audience claim found in JWT but no audiences bound to the role", "no-bound-audiences",
     "the role binds no audience, and the token has one", "set the role's bound_audiences"),
    (r'claim "[^"]*" does not match any associated bound claim values', "bound-claim",
     "a bound claim of the role does not hold for the token (for \"sub\": the role ARN it binds)",
     "step 4 names the claim and the difference"),
    (r'claim "[^"]*" is missing', "bound-claim-missing",
     "the role binds a claim the token does not carry", "fix or remove that bound claim"),
)


def explain_refusal(error: Any) -> Refusal | None:
    """Vault's refusal of the login (an ExchangeError carrying Vault's text): its cause and fix."""
    if getattr(error, "code", "") != "vault-refused":
        return None
    text = " ".join(str(getattr(error, "message", error)).split())
    said = text.split(": ", 1)[-1]  # "Vault refused the AWS token for role <r> at <where>: <what Vault said>"
    for pattern, name, cause, fix in _REFUSALS:
        if re.search(pattern, said):
            return Refusal(f"exchange.vault-{name}", f"Vault: {cause}", fix)
    return None


__all__ = ["TOKEN_VARIABLES", "diagnose", "explain_refusal"]
