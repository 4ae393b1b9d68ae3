"""What pulumi-vault writes to Vault for the inputs a program gave it (pure).

pulumi-vault bridges the Terraform Vault provider; for ``vault.jwt.AuthBackend`` it enables the
auth method at ``path`` and writes ``auth/<path>/config``, and for ``vault.jwt.AuthBackendRole``
it writes ``auth/<backend>/role/<role_name>`` with the body its ``jwtAuthBackendRoleDataToWrite``
builds: bound claim values always as lists (split on commas unless
``disable_bound_claims_parsing``), the three leeways always sent (0 meaning Vault's default),
``role_type`` only when set (Vault then uses ``oidc``).

The rehearsal's judges and the tests apply these bodies to a real OpenBao server, or evaluate
them by Vault's documented rules (:mod:`.login`): both judge what the program would really write.
The inputs are as recorded by the engine, in camelCase.

Example::

    body = role_body(registration.inputs)       # POST auth/<mount>/role/<name>
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules import whole_number
from .facts import PROVIDER_DEFAULT_MOUNT
from .rules import written_bound_claims

# pulumi-vault input (camelCase) -> Vault's API field, for the token settings every auth role has.
_TOKEN_FIELDS = {
    "tokenPolicies": "token_policies", "tokenTtl": "token_ttl", "tokenMaxTtl": "token_max_ttl",
    "tokenType": "token_type", "tokenNoDefaultPolicy": "token_no_default_policy",
    "tokenBoundCidrs": "token_bound_cidrs", "tokenExplicitMaxTtl": "token_explicit_max_ttl",
    "tokenNumUses": "token_num_uses", "tokenPeriod": "token_period",
}
_OPTIONAL_ROLE_FIELDS = {
    "roleType": "role_type", "boundSubject": "bound_subject", "boundClaimsType": "bound_claims_type",
    "claimMappings": "claim_mappings", "groupsClaim": "groups_claim", "allowedRedirectUris": "allowed_redirect_uris",
    "oidcScopes": "oidc_scopes", "maxAge": "max_age",
}
_CONFIG_FIELDS = {
    "boundIssuer": "bound_issuer", "jwtSupportedAlgs": "jwt_supported_algs", "defaultRole": "default_role",
    "oidcDiscoveryUrl": "oidc_discovery_url", "oidcDiscoveryCaPem": "oidc_discovery_ca_pem", "jwksUrl": "jwks_url",
    "jwksCaPem": "jwks_ca_pem", "jwtValidationPubkeys": "jwt_validation_pubkeys",
}
# Whole seconds or counts: the engine records every number as a float (900.0); the provider sends an int.
_INTEGER_FIELDS = ("token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_num_uses", "token_period", "max_age")
KEY_SOURCES = ("oidc_discovery_url", "oidc_discovery_ca_pem", "jwks_url", "jwks_ca_pem", "jwt_validation_pubkeys",
               "jwks_pairs")


def mount_path(backend_inputs: Mapping[str, Any]) -> str:
    """Where an AuthBackend is mounted (pulumi-vault's default ``jwt``)."""
    return str(backend_inputs.get("path") or PROVIDER_DEFAULT_MOUNT).strip("/")


def role_mount(role_inputs: Mapping[str, Any]) -> str:
    """The mount an AuthBackendRole is written on (pulumi-vault trims the slashes)."""
    return str(role_inputs.get("backend") or PROVIDER_DEFAULT_MOUNT).strip("/")


def role_id(backend: str, role_name: str) -> str:
    """pulumi-vault's ID of a role: the API path it writes."""
    return f"auth/{backend.strip('/')}/role/{role_name.strip('/')}"


def config_body(backend_inputs: Mapping[str, Any], *, public_keys: list[str] | None = None) -> dict[str, Any]:
    """``auth/<path>/config`` as pulumi-vault writes it; with ``public_keys``, the key source
    (discovery, JWKS URL or keys) is replaced by those PEM keys and everything else kept.

    A rehearsal must do that: Vault's discovery demands that the discovery document's issuer equal
    the URL byte for byte, so an AWS issuer string cannot be discovered on 127.0.0.1.
    ``bound_issuer`` is kept as written (absent stays absent: Vault then checks no ``iss``).
    """
    body = {api: backend_inputs[name] for name, api in _CONFIG_FIELDS.items()
            if backend_inputs.get(name) not in (None, "", [])}
    if public_keys is not None:
        for source in KEY_SOURCES:
            body.pop(source, None)
        body["jwt_validation_pubkeys"] = list(public_keys)
    return body


def role_body(role_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``auth/<backend>/role/<name>`` as pulumi-vault writes it for these inputs."""
    body: dict[str, Any] = {
        "user_claim": role_inputs.get("userClaim") or "",
        "user_claim_json_pointer": bool(role_inputs.get("userClaimJsonPointer", False)),
        "bound_audiences": list(role_inputs.get("boundAudiences") or []),
        "bound_claims": written_bound_claims(role_inputs.get("boundClaims"),
                                             bool(role_inputs.get("disableBoundClaimsParsing", False))),
        "clock_skew_leeway": _integer(role_inputs.get("clockSkewLeeway")),
        "expiration_leeway": _integer(role_inputs.get("expirationLeeway")),
        "not_before_leeway": _integer(role_inputs.get("notBeforeLeeway")),
    }
    for name, api in _OPTIONAL_ROLE_FIELDS.items():
        if role_inputs.get(name) not in (None, [], {}):
            body[api] = role_inputs[name]
    for name, api in _TOKEN_FIELDS.items():
        if role_inputs.get(name) not in (None, []):
            body[api] = role_inputs[name]
    for api in _INTEGER_FIELDS:
        if api in body:
            body[api] = _integer(body[api])
    return body


def _integer(value: Any) -> Any:
    whole = whole_number(value if value is not None else 0)
    return whole if whole is not None else value
