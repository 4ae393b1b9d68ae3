"""Facts about SaaS relying parties set up by hand (OpenAI, Anthropic), each written once.

No Pulumi provider manages them: the trust is made in the vendor's console or admin API.

OpenAI (developers.openai.com, "Configuring workload identity federation for AWS" and the
"workload identity token exchange" reference; openai/openai-python ``auth/_workload.py``): a
Workload Identity Provider holds the issuer (equal to the token's ``iss``), the audience (the
guide's IAM example pins ``https://api.openai.com/v1``) and the key source; a service account
mapping authorises token attributes (the exact ``sub``; nested AWS claims through CEL attribute
transformations) for one service account. Tokens need ``kid`` and a supported ``alg``, and
``iss``, ``aud``, ``sub``, ``exp``, ``iat``. At most 50 providers per organisation and 50
mappings per provider. Exchange: ``POST https://auth.openai.com/oauth/token``, JSON, RFC 8693
``token-exchange`` with ``identity_provider_id`` and ``service_account_id``.

Anthropic (platform.claude.com WIF docs; the Admin API's federation rule ``match`` as the
anthropics SDKs type it; anthropics/anthropic-sdk-python ``lib/credentials``): a federation
issuer, and a federation rule whose ``match`` has ``subject_prefix`` (exact unless it ends in
``*``), ``audience`` (exact, any element of a list ``aud``), ``claims`` (exact, top-level string
claims) and ``condition`` (CEL over ``claims``). Exchange: ``POST https://api.anthropic.com/v1/oauth/token``,
JSON, RFC 7523 ``jwt-bearer`` with ``federation_rule_id`` and ``organization_id`` (and optionally
``service_account_id``, ``workspace_id``), with the ``anthropic-beta`` header the SDK sends.

Neither vendor lists the JWS algorithms it accepts for AWS tokens: both AWS algorithms are taken
(OpenAI's guide recommends ES384).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...rules.facts import SIGNING_ALGORITHMS

OPENAI, ANTHROPIC, GENERIC = "openai", "anthropic", "generic"
PRESETS = (OPENAI, ANTHROPIC, GENERIC)


@dataclass(frozen=True)
class Preset:
    key: str
    vendor: str
    audience: str
    """The audience the vendor documents ("" for generic: the user gives one)."""
    accepted_algorithms: tuple[str, ...]
    recommended_algorithm: str
    where: str
    """Where the user makes the trust by hand."""
    max_mappings_per_provider: int | None = None
    max_providers_per_org: int | None = None
    token_url: str = ""
    """The vendor's documented token endpoint ("" when none is documented)."""


PRESET_FACTS = {
    OPENAI: Preset(
        OPENAI, "OpenAI", "https://api.openai.com/v1", SIGNING_ALGORITHMS, "ES384",
        "OpenAI: Organization Settings > Security > Workload Identity Provider (organization owner), "
        "then a service account mapping on the provider's details page",
        max_mappings_per_provider=50, max_providers_per_org=50,
        token_url="https://auth.openai.com/oauth/token"),
    ANTHROPIC: Preset(
        ANTHROPIC, "Anthropic", "https://api.anthropic.com", SIGNING_ALGORITHMS, "RS256",
        "the Claude Console (or the Admin API): a federation issuer, a service account and a federation rule",
        token_url="https://api.anthropic.com/v1/oauth/token"),
    GENERIC: Preset(
        GENERIC, "SaaS", "", SIGNING_ALGORITHMS, "RS256", "the SaaS's own console or admin API"),
}

# -- token exchange (OpenAI RFC 8693, Anthropic RFC 7523) ---------------------------------------
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ANTHROPIC_BETA = "oauth-2025-04-20,oidc-federation-2026-04-01"
"""The ``anthropic-beta`` header anthropic-sdk-python sends on jwt-bearer exchanges."""
ANTHROPIC_MAX_ASSERTION_BYTES = 16 * 1024
"""anthropic-sdk-python refuses a longer assertion; AWS tokens with many tags can be longer (~20 KB)."""

# -- the record of a trust set up by hand ---------------------------------------------------------
RECORD_TYPE = "outbound-federation:index:SaasManualTrust"
