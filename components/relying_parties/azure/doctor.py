"""``fedctl doctor`` for Entra apps and user-assigned managed identities: their LIVE federated credentials.

``diagnose`` reads the credentials the app or identity holds right now and compares each with the
real token, the way Entra matches them: issuer, subject and audience, exactly and case-sensitively.
When none matches, it shows the credential the workload most likely meant and its first differing
field, character by character (a subject rebuilt from the role's name has lost the role's path).

- App registration: Microsoft Graph ``GET /v1.0/applications(appId='{clientId}')/federatedIdentityCredentials``
  (Graph addresses an application by its ``id`` or its ``appId``; "List federatedIdentityCredentials",
  microsoftgraph/microsoft-graph-docs-contrib ``api-reference/v1.0/api/application-list-federatedidentitycredentials.md``).
  Needs ``Application.Read.All`` (or ownership of the app).
- Managed identity: ARM ``GET {identity id}/federatedIdentityCredentials?api-version=2023-01-31``
  (Azure/azure-rest-api-specs ``specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31``,
  ``examples/FederatedIdentityCredentialList.json``; pages by ``nextLink``). Needs read access to the identity.

The caller's Azure read access comes from azure-identity's ``DefaultAzureCredential`` (with
``--authority`` when given); a test or a program passes ``credential=`` instead.

``explain_refusal`` maps Entra's answer to the exchange (step 5) to its cause.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Callable, Mapping
from urllib.parse import quote

from ..diagnosis import FAIL, PASS, UNCHECKED, Refusal, Step, TokenFacts, closest, difference_step, first_difference
from .facts import DEFAULT_AUDIENCE
from .rules import fic_audience

GRAPH_URL = "https://graph.microsoft.com"
ARM_URL = "https://management.azure.com"
ARM_API_VERSION = "2023-01-31"
TIMEOUT = 30


def token_request(exported: Mapping[str, Any]) -> tuple[str, str]:
    """What ``fedctl exchange azure`` requests: the credential's one audience, RS256 (Entra's only)."""
    return fic_audience({"audience": exported.get("audience")} if exported.get("audience") else {}), "RS256"


def add_diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graph-url", default=GRAPH_URL,
                        help=f"Microsoft Graph base URL (default {GRAPH_URL}; sovereign clouds, tests)")
    parser.add_argument("--arm-url", default=ARM_URL,
                        help=f"Azure Resource Manager base URL (default {ARM_URL}; sovereign clouds, tests)")
    parser.add_argument("--identity-id", help="the managed identity's ARM resource ID, for stacks that do not "
                                              "export workloads.<name>.azureManagedIdentity.identityId")


class _ReadError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def _credential(options: argparse.Namespace) -> Any:
    from azure.identity import DefaultAzureCredential

    authority = getattr(options, "authority", None)
    return DefaultAzureCredential(**({"authority": authority, "disable_instance_discovery": True} if authority else {}))


def _get_all(url: str, credential: Any, base: str) -> list[Mapping[str, Any]]:
    """GET a Graph or ARM collection with a bearer token for ``base``, following ``nextLink``s."""
    import requests

    token = credential.get_token(f"{base.rstrip('/')}/.default").token
    found: list[Mapping[str, Any]] = []
    while url:
        try:
            response = requests.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                    timeout=TIMEOUT)
        except requests.RequestException as error:
            raise _ReadError(None, f"could not reach {base}: {type(error).__name__}") from None
        if response.status_code != 200:
            try:
                problem = response.json().get("error") or {}
                text = f"{problem.get('code')}: {problem.get('message')}"
            except ValueError:
                text = response.text[:200]
            raise _ReadError(response.status_code, f"{response.status_code} {text}")
        document = response.json()
        found.extend(document.get("value") or [])
        url = document.get("@odata.nextLink") or document.get("nextLink")
    return found


def _records(kind: str, exported: Mapping[str, Any], options: argparse.Namespace,
             credential: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """(what was read, where, its credentials as {name, issuer, subject, audiences})."""
    if kind == "azureManagedIdentity":
        identity = exported.get("identityId") or getattr(options, "identity_id", None)
        if not identity:
            raise LookupError("the outputs do not export the identity's ARM resource ID "
                              "(workloads.<name>.azureManagedIdentity.identityId)")
        base = getattr(options, "arm_url", None) or ARM_URL
        url = f"{base.rstrip('/')}{identity}/federatedIdentityCredentials?api-version={ARM_API_VERSION}"
        values = _get_all(url, credential, base)
        return (f"managed identity {identity.rsplit('/', 1)[-1]}", f"ARM GET {identity}/federatedIdentityCredentials",
                [{"name": v.get("name"), **{k: (v.get("properties") or {}).get(k) for k in ("issuer", "subject",
                                                                                         "audiences")}}
                 for v in values])
    base = getattr(options, "graph_url", None) or GRAPH_URL
    client = exported["clientId"]
    path = f"/v1.0/applications(appId='{quote(client, safe='')}')/federatedIdentityCredentials"
    values = _get_all(f"{base.rstrip('/')}{path}", credential, base)
    return (f"app {client}", f"Microsoft Graph GET {path}",
            [{"name": v.get("name"), "issuer": v.get("issuer"), "subject": v.get("subject"),
              "audiences": v.get("audiences")} for v in values])


_FIXES = {
    "iss": "set the credential's issuer to the AWS account's issuer exactly (the stack's issuer output): {iss}",
    "sub": "set the credential's subject to the role's ARN exactly, path and case included (the stack's "
           "workloads.<name>.subject): {sub}",
    "aud": "make the credential's audience and the one the role requests (and its token policy pins) the same: "
           "the token asks for {aud}",
}


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str, progress: Callable[[str], None] = lambda message: None, credential: Any = None) -> list[Step]:
    """Compare the token with the federated credentials the app or managed identity holds right now."""
    code = "trust.credentials"
    title = "Does one of its live federated credentials match the token"
    try:
        credential = credential or _credential(options)
        progress("reading the federated credentials (Microsoft Graph / ARM)")
        what, where, records = _records(kind, exported, options, credential)
    except ImportError:
        raise
    except LookupError as error:
        return [Step(code, title, UNCHECKED, "the managed identity's federated credentials", str(error),
                     "give --identity-id /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                     "Microsoft.ManagedIdentity/userAssignedIdentities/<name>", "trust.no-identity-id")]
    except _ReadError as error:
        if error.status == 404:
            return [Step(code, title, FAIL, "the relying party's federated credentials",
                         f"it does not exist: {error}", "the app or identity was deleted or the outputs are stale: "
                         "redeploy the stack, or read its outputs again", "trust.not-found")]
        finding = "trust.read-denied" if error.status in (401, 403) else "trust.read-failed"
        return [Step(code, title, UNCHECKED, "the relying party's federated credentials",
                     f"could not read them: {error}",
                     "read with an identity that may (Graph Application.Read.All or the app's owner; Reader on the "
                     "managed identity), or pass --no-live-read", finding)]
    except Exception as error:  # azure-identity's ClientAuthenticationError and CredentialUnavailableError
        if type(error).__name__ not in ("ClientAuthenticationError", "CredentialUnavailableError"):
            raise
        return [Step(code, title, UNCHECKED, "the relying party's federated credentials",
                     f"no Azure credentials to read them: {str(error).splitlines()[0]}",
                     "sign in with read access (az login, AZURE_CLIENT_ID/AZURE_TENANT_ID/..., a managed identity), "
                     "or pass --no-live-read", "trust.no-read-access")]

    iss, sub = token.claims.get("iss"), token.claims.get("sub")
    aud = token.audiences[0] if len(token.audiences) == 1 else token.claims.get("aud")
    checked = f"{where}: {len(records)} federated credential(s) of {what}"
    for record in records:
        if record["issuer"] == iss and record["subject"] == sub and aud in (record["audiences"] or []):
            return [Step(code, title, PASS, checked,
                         f"credential '{record['name']}' trusts this token: issuer, subject and audience match exactly",
                         details={"credential": record["name"]})]
    if not records:
        return [Step(code, title, FAIL, checked, f"{what} holds no federated credential",
                     "add one for the account's issuer, the role's ARN as subject and the audience the role requests "
                     "(pulumi up)", "trust.no-credentials")]
    candidates = [{"iss": r["issuer"], "sub": r["subject"],
                   "aud": (r["audiences"] or [""])[0] if len(r["audiences"] or []) <= 1 else r["audiences"]}
                  for r in records]
    best = closest(candidates, {"iss": iss, "sub": sub, "aud": aud}, ["iss", "sub", "aud"])
    record, candidate = records[best], candidates[best]
    found = first_difference([("iss", candidate["iss"], iss), ("sub", candidate["sub"], sub),
                              ("aud", candidate["aud"], aud)])
    if found is None:  # a credential with several audiences, one of them close: say so plainly
        return [Step(code, title, FAIL, checked, f"no credential matches; the closest is '{record['name']}'",
                     _NO_MATCH_FIX, "trust.no-match", details={"credential": record["name"]})]
    return [difference_step(code, title, checked, found, relying_party="",
                            where=f"no credential matches; the closest is '{record['name']}'",
                            fix=_FIXES[found.field].format(iss=iss, sub=sub, aud=aud),
                            details={"credential": record["name"], "credentials": len(records)})]


# -- step 5: what Entra's refusal means ---------------------------------------------------------------
#
# Entra answers a client assertion that no federated credential accepts with AADSTS codes. Microsoft's
# error-code reference (MicrosoftDocs/entra-docs docs/identity-platform/reference-error-codes.md) does
# not list the federated-credential ones; their meaning is taken from Entra's own messages as quoted
# in Microsoft's repositories and docs:
# - AADSTS70021 "No matching federated identity record found for presented assertion. Assertion Issuer:
#   ... Assertion Subject: ... Assertion Audience: ..." (Azure/azure-workload-identity
#   docs/book/src/troubleshooting.md; MicrosoftDocs/azure-devops-docs: "No federated credential was
#   created or the issuer URL isn't correct").
# - AADSTS700211 "... for presented assertion issuer" (Azure/azure-workload-identity#1200).
# - AADSTS700212 "... for presented assertion audience" (Entra's reply quoted in client test fixtures; also
#   seen as AADSTS7002121).
# - AADSTS700213 "... for presented assertion subject ... Please note that the matching is done using a
#   case-sensitive comparison" (Azure/login#482, #517 and PR #619; Microsoft's breaking-change note
#   "Federated identity credentials now use case-sensitive matching"); also seen as AADSTS7002137/7002138.
# - AADSTS700024 "Client assertion is not within its valid time range" (MicrosoftDocs/azure-devops-docs
#   docs/pipelines/release/includes/errors-workload-identity.md).
# - AADSTS700016 "Application with identifier '...' wasn't found" (the same Azure DevOps page).
# - AADSTS50013 InvalidAssertion, AADSTS700027 "Client assertion failed signature validation",
#   AADSTS53003 BlockedByConditionalAccess (Microsoft's error-code reference).
# Codes are matched by prefix family only where a source shows the variant.

_NO_MATCH_FIX = ("compare the credential's issuer, subject and audience with the token (step 4 shows the first "
                 "difference); a credential created minutes ago may not have propagated yet")
_REFUSALS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("700211",), "issuer", "no federated credential has the token's issuer (the AWS account's issuer)",
     "set the credential's issuer to the account's issuer exactly (no trailing slash)"),
    (("700212", "7002121"), "audience", "no federated credential has the token's audience",
     "make the credential's audience the one the role requests (default api://AzureADTokenExchange)"),
    (("700213", "7002137", "7002138"), "subject",
     "no federated credential has the token's subject, the role's ARN (compared case-sensitively, path included)",
     "set the credential's subject to the role's ARN exactly, path included (workloads.<name>.subject)"),
    (("70021",), "no-match", "no federated credential matches the token's issuer, subject and audience together",
     _NO_MATCH_FIX),
    (("700024",), "time", "the token is not within its valid time range (expired, or a clock far off)",
     "check the host's clock; the token lives 300 s"),
    (("700016",), "no-application", "Entra knows no application with this client ID in the tenant",
     "check clientId and tenantId in the outputs (the app may have been deleted)"),
    (("50013", "700027"), "signature", "Entra could not validate the token's signature with the issuer's keys",
     "Entra reads the keys from the issuer's JWKS; check that the issuer is the AWS account's"),
    (("53003",), "conditional-access", "a Conditional Access policy for workload identities blocked the sign-in",
     "ask the tenant's administrators about the workload identity Conditional Access policy"),
)


def explain_refusal(error: Any) -> Refusal | None:
    """Entra's refusal of the exchange (an ExchangeError carrying AADSTS text): its cause and fix."""
    found = re.search(r"AADSTS(\d+)", str(getattr(error, "message", error))) or \
        re.search(r"AADSTS(\d+)", str(getattr(error, "code", "")))
    if not found:
        return None
    number = found.group(1)
    for codes, name, cause, fix in _REFUSALS:
        if number in codes:
            return Refusal(f"exchange.AADSTS{number}", f"Entra: {cause} (AADSTS{number}, {name})", fix)
    return Refusal(f"exchange.AADSTS{number}", f"Entra refused the token (AADSTS{number})",
                   f"see https://login.microsoftonline.com/error?code={number}")


__all__ = ["DEFAULT_AUDIENCE", "add_diagnose_arguments", "diagnose", "explain_refusal", "token_request"]
