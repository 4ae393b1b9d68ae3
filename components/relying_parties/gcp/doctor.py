"""``fedctl doctor`` for a GCP workload identity pool: its LIVE provider and service account, against the token.

Google judges a subject token in this order (the IAM docs for workload identity federation): the
provider must be active; the token's issuer its ``issuerUri`` and its ``aud`` one of the allowed
audiences (by default the provider's own name with ``//`` or ``https://``); the attribute mapping is
evaluated (``google.subject`` at most 127 bytes), then the attribute condition; then IAM: the mapped
principal needs ``roles/iam.workloadIdentityUser`` on the service account it impersonates.
``diagnose`` reads what Google holds now and walks the same order with the real claims:

- the provider: ``GET https://iam.googleapis.com/v1/{providerName}`` (REST resource
  ``projects.locations.workloadIdentityPools.providers``);
- the mapping and the condition, evaluated on the real claims with the project's CEL evaluator
  (``components/relying_parties/gcp/cel.py``, GCP's dialect); a false condition is split at its
  top-level ``&&`` to name the first clause that does not hold;
- the service account's policy: ``POST https://iam.googleapis.com/v1/projects/-/serviceAccounts/{email}:getIamPolicy``.

The reader's Google credentials are google-auth's application default credentials; a test or a
program passes ``credentials=`` instead. ``explain_refusal`` maps Google's answer to the exchange.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, Callable, Mapping

from ...rules.cel_text import split_top_level
from ...rules.errors import MissingDependencyError
from ..diagnosis import (
    FAIL,
    PASS,
    SKIP,
    UNCHECKED,
    Refusal,
    Step,
    TokenFacts,
    difference,
    difference_step,
)
from .facts import IAM_HOST, MAX_GOOGLE_SUBJECT_BYTES, WORKLOAD_IDENTITY_USER

IAM_URL = f"https://{IAM_HOST}"
TITLES = {
    "trust.provider": "Does the live provider take the token (state, issuer, audience, keys)",
    "trust.mapping": "What the provider's attribute mapping makes of it",
    "trust.condition": "Does the provider's attribute condition hold for it",
    "trust.binding": "May its principal impersonate the service account",
}
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
TIMEOUT = 30


def add_diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iam-url", default=IAM_URL, help=f"the IAM API's base URL (default {IAM_URL}; tests)")


class _ReadError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def _session(credentials: Any) -> Any:
    import google.auth
    import google.auth.transport.requests

    if credentials is None:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    return google.auth.transport.requests.AuthorizedSession(credentials)


def _call(session: Any, method: str, url: str) -> Mapping[str, Any]:
    import requests

    try:
        response = session.request(method, url, json={} if method == "POST" else None, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise _ReadError(None, f"could not reach the IAM API: {type(error).__name__}") from None
    if response.status_code != 200:
        try:
            problem = response.json().get("error") or {}
            text = f"{problem.get('status')}: {problem.get('message')}"
        except ValueError:
            text = response.text[:200]
        raise _ReadError(response.status_code, f"{response.status_code} {text}")
    return response.json()


def provider_name(exported: Mapping[str, Any]) -> str | None:
    """``projects/N/locations/global/workloadIdentityPools/P/providers/V``, from the outputs."""
    if exported.get("providerName"):
        return str(exported["providerName"])
    configuration = exported.get("credentialConfiguration")
    if isinstance(configuration, str):
        configuration = json.loads(configuration)
    audience = (configuration or {}).get("audience") or ""
    return audience[len(f"//{IAM_HOST}/"):] if audience.startswith(f"//{IAM_HOST}/") else None


def clauses(expression: str) -> list[str]:
    """The top-level ``&&`` operands of a CEL expression (quotes, brackets and parentheses respected).

    >>> clauses("a == 'x && y' && (b || c) && d in ['&&']")
    ["a == 'x && y'", '(b || c)', "d in ['&&']"]
    """
    return [part for part in split_top_level(expression, "&&") if part]


def _granted(pool: str, attributes: Mapping[str, Any]) -> list[str]:
    """The IAM members a token with these mapped attributes counts as (the principal, then its sets)."""
    members = [f"principal://{IAM_HOST}/{pool}/subject/{attributes.get('google.subject')}"]
    members += [f"principalSet://{IAM_HOST}/{pool}/{key}/{value}" for key, value in attributes.items()
                if key.startswith("attribute.")]
    return members + [f"principalSet://{IAM_HOST}/{pool}/*"]


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "gcp", progress: Callable[[str], None] = lambda message: None,
             credentials: Any = None) -> list[Step]:
    """Compare the token with the provider, its mapping and condition, and the service account's policy."""
    name = provider_name(exported)
    base = (getattr(options, "iam_url", None) or IAM_URL).rstrip("/")
    title = TITLES["trust.provider"]
    if not name:
        return [Step("trust.provider", title, UNCHECKED, "the workload identity pool provider",
                     "the outputs name no provider (providerName or credentialConfiguration)", "use current outputs",
                     "trust.no-provider-name")]
    checked = f"IAM GET /v1/{name}"
    try:
        session = _session(credentials)
        progress(f"reading the provider {name}")
        provider = _call(session, "GET", f"{base}/v1/{name}")
    except ImportError:
        raise
    except _ReadError as error:
        if error.status == 404:
            return [Step("trust.provider", title, FAIL, checked, f"the provider does not exist: {error}",
                         "it was deleted (a deleted ID stays blocked for 30 days: bump id_generation) or the outputs are "
                         "stale", "trust.not-found")]
        finding = "trust.read-denied" if error.status in (401, 403) else "trust.read-failed"
        return [Step("trust.provider", title, UNCHECKED, checked, f"could not read it: {error}",
                     "read with an identity that may (roles/iam.workloadIdentityPoolViewer, and "
                     "iam.serviceAccounts.getIamPolicy on the service account), or pass --no-live-read", finding)]
    except Exception as error:  # google-auth's DefaultCredentialsError, RefreshError
        if type(error).__module__.split(".")[0] != "google":
            raise
        return [Step("trust.provider", title, UNCHECKED, checked,
                     f"no Google credentials to read it: {str(error).splitlines()[0]}",
                     "sign in with read access (gcloud auth application-default login, GOOGLE_APPLICATION_CREDENTIALS), "
                     "or pass --no-live-read", "trust.no-read-access")]

    steps = [_provider_step(provider, name, token, checked, title)]
    try:
        from .cel import GcpCel

        cel = GcpCel()
    except (ImportError, MissingDependencyError) as error:  # cel-python: the preview extra
        missing = getattr(error, "install", "pip install 'outbound-federation[preview]'")
        steps.append(Step("trust.condition", TITLES["trust.condition"], UNCHECKED, "the attribute mapping and condition",
                          f"cannot evaluate CEL here: {error}", missing, "trust.missing-dependency"))
        return steps
    mapping = dict(provider.get("attributeMapping") or {})
    mapping_step, attributes = _mapping_step(cel, mapping, token, TITLES["trust.mapping"])
    steps.append(mapping_step)
    steps.append(_condition_step(cel, provider.get("attributeCondition") or "", mapping, token, TITLES["trust.condition"]))
    email = exported.get("serviceAccountEmail")
    if attributes is None:
        steps.append(Step("trust.binding", TITLES["trust.binding"], SKIP, "the service account's IAM policy",
                          "not checked: the attribute mapping gives no subject"))
    elif not email:
        steps.append(Step("trust.binding", TITLES["trust.binding"], SKIP, "the service account's IAM policy",
                          "no service account to impersonate: the pool principal is used directly"))
    else:
        steps.append(_binding_step(session, base, email, name.split("/providers/")[0], attributes,
                                   TITLES["trust.binding"]))
    return steps


def _provider_step(provider: Mapping[str, Any], name: str, token: TokenFacts, checked: str, title: str) -> Step:
    code = "trust.provider"
    state = provider.get("state", "ACTIVE")
    if provider.get("disabled") or state != "ACTIVE":
        return Step(code, title, FAIL, checked, f"the provider is {'disabled' if provider.get('disabled') else state}",
                    "enable (or undelete) the provider", "trust.provider-disabled", details={"state": state})
    oidc = provider.get("oidc")
    if not isinstance(oidc, Mapping):
        return Step(code, title, FAIL, checked, "the provider is not an OIDC provider (AWS SigV4 or SAML)",
                    "trust the account's issuer with an OIDC provider", "trust.not-oidc")
    iss = token.claims.get("iss")
    differs = difference("iss", oidc.get("issuerUri"), iss)
    if differs is not None:
        return difference_step(code, title, checked, differs, relying_party="", where="the provider's issuerUri",
                               fix=f"set the provider's issuerUri to the AWS account's issuer exactly: {iss}")
    allowed = list(oidc.get("allowedAudiences") or [])
    accepted = allowed or [f"//{IAM_HOST}/{name}", f"https://{IAM_HOST}/{name}"]
    if not set(token.audiences) & set(accepted):
        differs = difference("aud", accepted[-1] if not allowed else allowed[0], token.audiences[0])
        if differs is None:  # unreachable: the token's audience is not among those accepted
            differs = difference("aud", " ".join(accepted), " ".join(token.audiences))
        return difference_step(code, title, checked, differs, relying_party="",
                               where="the provider's allowed audiences" if allowed else
                               "the provider's default audience (its own name)",
                               fix="request one of the provider's audiences (the stack's workloads.<name>.gcp.audience), "
                                   "or add the token's audience to allowedAudiences",
                               details={"accepted": accepted})
    keys = oidc.get("jwksJson")
    if keys:
        kids = {key.get("kid") for key in (json.loads(keys).get("keys") or [])}
        if token.key_id not in kids:
            return Step(code, title, FAIL, checked,
                        f"the provider holds uploaded keys (jwksJson) without the token's key {token.key_id!r}: "
                        "uploaded keys do not follow AWS's key rotation",
                        "remove jwksJson so Google reads the issuer's JWKS, or upload the current keys",
                        "trust.jwks-missing-key")
    return Step(code, title, PASS, checked, f"provider {name.rsplit('/', 1)[-1]} is active and takes the token's "
                f"issuer and audience", details={"acceptedAudiences": accepted})


def _mapping_step(cel: Any, mapping: Mapping[str, str], token: TokenFacts,
                  title: str) -> tuple[Step, dict[str, Any] | None]:
    code = "trust.mapping"
    checked = "the provider's attribute mapping, evaluated on the token's claims"
    if "google.subject" not in mapping:
        return Step(code, title, FAIL, checked, "the mapping has no google.subject", "map google.subject",
                    "trust.mapping-no-subject"), None
    try:
        attributes = {key: value for key, value in cel.map_attributes(mapping, token.claims).items()}
    except cel.CelError as error:
        return Step(code, title, FAIL, checked, f"the mapping fails on this token: {error}",
                    "fix the mapping expression (Google rejects a token whose mapping fails)",
                    "trust.mapping-error"), None
    subject = str(attributes.get("google.subject"))
    shown = {key: str(value) for key, value in attributes.items()}
    if len(subject.encode()) > MAX_GOOGLE_SUBJECT_BYTES:
        return Step(code, title, FAIL, checked, f"google.subject is {len(subject.encode())} bytes, over Google's "
                    f"{MAX_GOOGLE_SUBJECT_BYTES}: {subject}", "map a shorter subject (the stack maps <account>:<role name>)",
                    "trust.subject-too-long", details={"attributes": shown}), None
    return Step(code, title, PASS, checked, f"google.subject = {subject}", details={"attributes": shown}), shown


def _condition_step(cel: Any, condition: str, mapping: Mapping[str, str], token: TokenFacts, title: str) -> Step:
    code = "trust.condition"
    checked = "the provider's attribute condition, evaluated on the token's claims"
    if not condition:
        return Step(code, title, PASS, checked, "the provider has no attribute condition: every token of the issuer "
                    "with an allowed audience gets in (pin the account and the roles)")
    outcome = cel.outcome(condition, token.claims, mapping)
    if outcome is True:
        return Step(code, title, PASS, checked, "the condition holds for this token")
    first = next((part for part in clauses(condition) if cel.outcome(part, token.claims, mapping) is not True), condition)
    sub = str(token.claims.get("sub"))
    found = (f"the condition is {'false' if outcome is False else 'an error'} for this token; the first clause that "
             f"does not hold: {first}")
    if sub not in condition:
        found += f". The condition does not name this role ({sub}) at all"
    return Step(code, title, FAIL, checked, found,
                "add the role's ARN (path included) to the condition: let the stack list the role among the pool's "
                "subjects and `pulumi up`", "trust.condition-false" if outcome is False else "trust.condition-error",
                details={"clause": first, "condition": condition, "namesRole": sub in condition})


def _binding_step(session: Any, base: str, email: str, pool: str, attributes: Mapping[str, Any], title: str) -> Step:
    code = "trust.binding"
    checked = f"IAM POST /v1/projects/-/serviceAccounts/{email}:getIamPolicy"
    try:
        policy = _call(session, "POST", f"{base}/v1/projects/-/serviceAccounts/{email}:getIamPolicy")
    except _ReadError as error:
        if error.status == 404:
            return Step(code, title, FAIL, checked, f"the service account does not exist: {error}",
                        "recreate it (pulumi up) or fix serviceAccountEmail", "trust.service-account-not-found")
        return Step(code, title, UNCHECKED, checked, f"could not read its policy: {error}",
                    "read with iam.serviceAccounts.getIamPolicy on it, or pass --no-live-read", "trust.read-denied"
                    if error.status in (401, 403) else "trust.read-failed")
    members = {member for binding in policy.get("bindings") or [] if binding.get("role") == WORKLOAD_IDENTITY_USER
               for member in binding.get("members") or []}
    granted = _granted(pool, attributes)
    matched = [member for member in granted if member in members]
    if matched:
        return Step(code, title, PASS, checked, f"{WORKLOAD_IDENTITY_USER} is granted to {matched[0]}",
                    details={"member": matched[0]})
    return Step(code, title, FAIL, checked,
                f"no {WORKLOAD_IDENTITY_USER} binding names this token's principal {granted[0]} (or a set it belongs to); "
                f"the role is granted to: {', '.join(sorted(members)) or 'nobody'}",
                f"grant {WORKLOAD_IDENTITY_USER} on {email} to {granted[0]}", "trust.no-binding",
                details={"principal": granted[0], "members": sorted(members)})


# -- step 5: what Google's refusal means ----------------------------------------------------------------
#
# Google STS answers an RFC 8693 token exchange with OAuth error codes, and IAM Credentials with
# google.rpc statuses. Sources for what each means here:
# - unauthorized_client "The given credential is rejected by the attribute condition." (Google's
#   reply quoted in circleci/circleci-docs PR #8541 and terraform-google-modules/terraform-example-foundation#1362);
# - invalid_request 'Invalid value for "audience". This value should be the full resource name of the
#   Identity Provider' (google-github-actions/auth#60, #211);
# - invalid_grant: RFC 6749 section 5.2, the grant (here the subject token) is invalid: its issuer,
#   audience, signature or lifetime; step 4 names which;
# - invalid_target: RFC 8693 section 2.2.2, the server will not issue a token for the audience (the
#   provider named there);
# - PERMISSION_DENIED "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not
#   exist)." (google-github-actions/auth#340, #418: the principal lacks roles/iam.workloadIdentityUser);
# - FAILED_PRECONDITION "... Org Policy violated": the organisation policy
#   constraints/iam.workloadIdentityPoolProviders rejects the issuer (seen when a provider is created).

_REFUSALS = (
    ("unauthorized_client", "the provider's attribute condition rejects the token",
     "step 4 names the clause; add the role to the condition (pulumi up)"),
    ("invalid_request", "Google STS did not take the request's audience: it must be the provider's full resource name",
     "use the credential configuration the stack exports (workloads.<name>.gcp.credentialConfiguration)"),
    ("invalid_grant", "Google STS rejected the token itself: its issuer, audience, signature or lifetime",
     "step 4 shows which field differs from the provider"),
    ("invalid_target", "Google STS will not issue a token for the provider the audience names (deleted, disabled or "
                       "not there)", "check the provider (step 4) and the audience in the outputs"),
    ("PERMISSION_DENIED", "the federated principal may not impersonate the service account "
                          "(no roles/iam.workloadIdentityUser for it)",
     "grant roles/iam.workloadIdentityUser on the service account to the principal step 4 names"),
    ("FAILED_PRECONDITION", "an organisation policy (constraints/iam.workloadIdentityPoolProviders) rejects the "
                            "account's issuer", "ask the organisation's administrators to allow the issuer"),
)


def explain_refusal(error: Any) -> Refusal | None:
    """Google's refusal of the exchange (an ExchangeError carrying google-auth's text): its cause and fix."""
    text = str(getattr(error, "message", error))
    for code, cause, fix in _REFUSALS:
        if re.search(rf"\b{code}\b", text):
            return Refusal(f"exchange.{code}", f"Google: {cause} ({code})", fix)
    return None


__all__ = ["add_diagnose_arguments", "clauses", "diagnose", "explain_refusal", "provider_name"]
