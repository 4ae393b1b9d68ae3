"""``fedctl doctor`` for Databricks: the service principal's LIVE federation policies, against the token.

``diagnose`` lists the policies the service principal holds now through the account API, as
databricks-sdk 0.162.0 calls it (``ServicePrincipalFederationPolicyAPI.list``):
``GET {accounts host}/api/2.0/accounts/{account_id}/servicePrincipals/{id}/federationPolicies``,
answered with ``{"policies": [FederationPolicy], "next_page_token"}`` (followed with ``page_token``),
each policy's ``oidc_policy`` holding ``issuer``, ``subject``, ``subject_claim`` (``sub`` when
unset), ``audiences`` (the account ID when unset) and optionally ``jwks_json``/``jwks_uri``. It
compares each with the token the way Databricks matches them (the kind's judge, :mod:`.review`):
``iss`` equal to the issuer, the subject claim equal to the subject, one of ``aud`` among the
audiences, all exactly; when none matches, it shows the closest policy's first differing field.

The read needs an account admin: a bearer token in ``DATABRICKS_TOKEN``, or an OAuth client of an
admin service principal in ``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET`` (OAuth M2M: the
``client_credentials`` grant at ``/oidc/accounts/{account_id}/v1/token``, client ID and secret in
HTTP Basic authentication, scope ``all-apis``, as databricks-sdk's ``oauth-m2m`` does). The account
console is ``--accounts-url``, else ``DATABRICKS_HOST`` when it is an account console, else the
host of an account token endpoint in the outputs, else Databricks on AWS's. A program or a test
passes ``databricks_token=`` instead.

``explain_refusal`` maps the token endpoint's OAuth error (step 5) to its meaning.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ...rules.errors import missing_dependency
from ..diagnosis import FAIL, PASS, UNCHECKED, Refusal, Step, TokenFacts, closest, difference_step, first_difference
from .facts import ACCOUNT_TOKEN_PATH, ACCOUNTS_HOST, ACCOUNTS_HOST_PREFIX, DEFAULT_SCOPE, SUBJECT_CLAIM

TIMEOUT = 30
CODE = "trust.policies"
TITLE = "Does one of the service principal's live federation policies match the token"
_ACCOUNT_IN_ENDPOINT = re.compile(r"/oidc/accounts/([^/]+)/v1/token$")


def add_diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts-url", help="the Databricks account console URL (default: DATABRICKS_HOST when it "
                                               f"is one, else https://{ACCOUNTS_HOST}; tests)")
    parser.add_argument("--account-id", help="the Databricks account ID, for stack outputs that do not export it "
                                             "(default: DATABRICKS_ACCOUNT_ID)")


class _ReadError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def account_id(exported: Mapping[str, Any], options: argparse.Namespace) -> str | None:
    """The Databricks account: --account-id, the outputs, the account token endpoint, DATABRICKS_ACCOUNT_ID."""
    found = _ACCOUNT_IN_ENDPOINT.search(urlsplit(str(exported.get("tokenEndpoint") or "")).path)
    return (getattr(options, "account_id", None) or exported.get("accountId") or (found.group(1) if found else None)
            or os.environ.get("DATABRICKS_ACCOUNT_ID") or None)


def accounts_url(exported: Mapping[str, Any], options: argparse.Namespace) -> str:
    """The account console the account API lives on."""
    if getattr(options, "accounts_url", None):
        return str(options.accounts_url).rstrip("/")
    for candidate in (os.environ.get("DATABRICKS_HOST"), exported.get("tokenEndpoint")):
        parts = urlsplit(str(candidate or ""))
        if parts.scheme == "https" and (parts.hostname or "").startswith(ACCOUNTS_HOST_PREFIX):
            return f"https://{parts.netloc}"
    return f"https://{ACCOUNTS_HOST}"


def _problem(response: Any) -> str:
    """The API's error, one line: Databricks' ``error_code``/``message`` or OAuth's ``error``/``error_description``."""
    try:
        document = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(document, Mapping):
        return f"HTTP {response.status_code}"
    code = document.get("error_code") or document.get("error") or f"HTTP {response.status_code}"
    text = document.get("message") or document.get("error_description") or ""
    return " ".join(f"{code}: {text}".split())[:300] if text else str(code)


def _bearer(base: str, account: str, databricks_token: str | None, session: Any) -> str:
    """An account admin's bearer token: given, DATABRICKS_TOKEN, or OAuth M2M with an admin's client."""
    import requests

    token = databricks_token or os.environ.get("DATABRICKS_TOKEN")
    if token:
        return token
    client, secret = os.environ.get("DATABRICKS_CLIENT_ID"), os.environ.get("DATABRICKS_CLIENT_SECRET")
    if not client or not secret:
        raise LookupError("no account admin credentials (DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and "
                          "DATABRICKS_CLIENT_SECRET)")
    url = base + ACCOUNT_TOKEN_PATH.format(account_id=account)
    try:
        response = session.post(url, data={"grant_type": "client_credentials", "scope": DEFAULT_SCOPE},
                                auth=(client, secret), headers={"Accept": "application/json"}, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise _ReadError(None, f"could not reach {base}: {type(error).__name__}") from None
    try:
        answer = response.json() if response.ok else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, Mapping) or not answer.get("access_token"):
        raise _ReadError(401, f"the account's token endpoint refused the admin client {client}: {_problem(response)}")
    return str(answer["access_token"])


def _policies(base: str, account: str, principal: Any, bearer: str, session: Any) -> list[Mapping[str, Any]]:
    """Every federation policy of the service principal, page by page."""
    import requests

    url = f"{base}/api/2.0/accounts/{account}/servicePrincipals/{principal}/federationPolicies"
    found: list[Mapping[str, Any]] = []
    query: dict[str, str] = {}
    while True:
        try:
            response = session.get(url, params=query, headers={"Authorization": f"Bearer {bearer}",
                                                                "Accept": "application/json"}, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise _ReadError(None, f"could not reach {base}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise _ReadError(response.status_code, f"{response.status_code} {_problem(response)}")
        document = response.json()
        found.extend(p for p in document.get("policies") or [] if isinstance(p, Mapping))
        if not document.get("next_page_token"):
            return found
        query["page_token"] = str(document["next_page_token"])


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "databricks", progress: Callable[[str], None] = lambda message: None,
             databricks_token: str | None = None) -> list[Step]:
    """Compare the token with the federation policies the service principal holds right now."""
    principal, account = exported.get("servicePrincipalId"), account_id(exported, options)
    if principal in (None, "") or not account:
        missing = "servicePrincipalId" if principal in (None, "") else "the Databricks account ID"
        return [Step(CODE, TITLE, UNCHECKED, "the service principal's federation policies",
                     f"the outputs do not say {missing}", "use current outputs, or give --account-id "
                     "(DATABRICKS_ACCOUNT_ID)", "trust.no-service-principal" if missing != "the Databricks account ID"
                     else "trust.no-account-id")]
    base = accounts_url(exported, options)
    path = f"/api/2.0/accounts/{account}/servicePrincipals/{principal}/federationPolicies"
    checked = f"Databricks account API GET {path}"
    try:
        import requests
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    with requests.Session() as session:
        try:
            progress(f"reading the federation policies of service principal {principal} at {base}")
            policies = _policies(base, account, principal, _bearer(base, account, databricks_token, session), session)
        except LookupError as error:
            return [Step(CODE, TITLE, UNCHECKED, checked, str(error),
                         "read as an account admin: export DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET of an "
                         "admin service principal (or DATABRICKS_TOKEN), or pass --no-live-read",
                         "trust.no-read-access")]
        except _ReadError as error:
            if error.status == 404:
                return [Step(CODE, TITLE, FAIL, checked, f"the service principal is not in the account: {error}",
                             "it was deleted, or the outputs (servicePrincipalId, the account ID) are stale: "
                             "redeploy the stack, or read its outputs again", "trust.not-found")]
            return [Step(CODE, TITLE, UNCHECKED, checked, f"could not read them: {error}",
                         "read as an account admin (--accounts-url, the account ID), or pass --no-live-read",
                         "trust.read-denied" if error.status in (401, 403) else "trust.read-failed")]
    return [_judged(policies, token, account, checked, principal)]


def _oidc(policy: Mapping[str, Any], account: str) -> dict[str, Any]:
    """A policy's OIDC part with Databricks' defaults applied: subject claim ``sub``, audience the account ID."""
    oidc = policy.get("oidc_policy") if isinstance(policy.get("oidc_policy"), Mapping) else {}
    return {"id": policy.get("policy_id") or str(policy.get("name") or "").rsplit("/", 1)[-1],
            "issuer": oidc.get("issuer"), "subject": oidc.get("subject"),
            "subject_claim": oidc.get("subject_claim") or SUBJECT_CLAIM,
            "audiences": list(oidc.get("audiences") or [account]), "jwks_json": oidc.get("jwks_json")}


def _matches(policy: Mapping[str, Any], token: TokenFacts) -> bool:
    return (policy["issuer"] == token.claims.get("iss") and policy["subject"] is not None
            and token.claims.get(policy["subject_claim"]) == policy["subject"]
            and bool(set(token.audiences) & set(policy["audiences"])))


def _judged(listed: list[Mapping[str, Any]], token: TokenFacts, account: str, checked: str, principal: Any) -> Step:
    policies = [_oidc(policy, account) for policy in listed]
    checked = f"{checked}: {len(policies)} federation policy(ies)"
    iss, sub = token.claims.get("iss"), token.claims.get("sub")
    aud = token.audiences[0] if token.audiences else ""
    for policy in policies:
        if _matches(policy, token):
            keys = policy["jwks_json"]
            if keys:
                kids = {key.get("kid") for key in (json.loads(keys).get("keys") or []) if isinstance(key, Mapping)}
                if token.key_id not in kids:
                    return Step(CODE, TITLE, FAIL, checked,
                                f"policy '{policy['id']}' matches, but it holds uploaded keys (jwks_json) without the "
                                f"token's key {token.key_id!r}: uploaded keys do not follow AWS's key rotation",
                                "remove jwks_json so Databricks reads the issuer's keys", "trust.jwks-missing-key",
                                details={"policy": policy["id"]})
            return Step(CODE, TITLE, PASS, checked, f"policy '{policy['id']}' trusts this token: issuer, "
                        f"{policy['subject_claim']} and audience match exactly", details={"policy": policy["id"]})
    if not policies:
        return Step(CODE, TITLE, FAIL, checked, f"service principal {principal} holds no federation policy",
                    "add one for the account's issuer, the role's ARN as subject and the audience the role requests "
                    "(pulumi up)", "trust.no-policies")
    candidates = [{"iss": p["issuer"], "sub": p["subject"],
                   "aud": next((a for a in p["audiences"] if a in token.audiences), p["audiences"][0])}
                  for p in policies]
    best = closest(candidates, {"iss": iss, "sub": sub, "aud": aud}, ["iss", "sub", "aud"])
    policy, candidate = policies[best], candidates[best]
    details = {"policy": policy["id"], "policies": len(policies), "subjectClaim": policy["subject_claim"]}
    claim = policy["subject_claim"]
    if claim != SUBJECT_CLAIM and claim not in token.claims:
        return Step(CODE, TITLE, FAIL, checked, f"the closest policy '{policy['id']}' reads the subject from the claim "
                    f"{claim!r}, which the token does not carry", "set the policy's subject_claim to sub (AWS puts the "
                    "role ARN there)", "trust.subject-claim-missing", details=details)
    found = first_difference([("iss", candidate["iss"], iss),
                              (claim, candidate["sub"], token.claims.get(claim)),
                              ("aud", candidate["aud"], aud)])
    if found is None:  # unreachable: a policy equal on all three would have matched
        return Step(CODE, TITLE, FAIL, checked, f"no policy matches; the closest is '{policy['id']}'",
                    "compare the policy with the token", "trust.no-match", details=details)
    fixes = {"iss": f"set the policy's issuer to the AWS account's issuer exactly: {iss}",
             "aud": f"make the policy's audience and the one the role requests the same: the token asks for {aud}"}
    fix = fixes.get(found.field, f"set the policy's subject to the role's ARN exactly, path included (the stack's "
                                 f"workloads.<name>.subject): {token.claims.get(claim)}")
    return difference_step(CODE, TITLE, checked, found, relying_party="",
                           where=f"no federation policy matches; the closest is '{policy['id']}'", fix=fix,
                           details=details)


# -- step 5: what the token endpoint's refusal means ---------------------------------------------------
#
# Databricks' token endpoint answers an RFC 8693 exchange with OAuth errors (databricks-sdk 0.162.0's
# oauth.py reads "error"/"error_description", or "errorCode"/"errorSummary"). Databricks documents no
# per-cause error text for federation, so each code is explained by what the RFCs define it to mean:
# - invalid_client: RFC 6749 section 5.2, client authentication failed; the client is the service
#   principal (client_id = its application ID), which the AWS token authenticates through a policy;
# - invalid_request: RFC 8693 section 2.2.2, the request is not valid, or the subject token is
#   invalid or unacceptable based on policy;
# - invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope: RFC 6749 section 5.2.

_REFUSALS = {
    "invalid_client": ("Databricks did not authenticate the service principal with the token (OAuth invalid_client): "
                       "its application ID is unknown, or no federation policy of it accepts the token",
                       "step 4 compares the service principal's policies with the token; check the outputs' "
                       "applicationId"),
    "invalid_request": ("Databricks found the request or the AWS token invalid or unacceptable by its policies "
                        "(OAuth invalid_request, RFC 8693)", "step 4 compares the policies with the token"),
    "invalid_grant": ("Databricks rejected the AWS token as a grant (OAuth invalid_grant: invalid or expired)",
                      "check the host's clock and step 4"),
    "unauthorized_client": ("the service principal may not use the token exchange (OAuth unauthorized_client)",
                            "check that workload identity federation is enabled for the service principal"),
    "unsupported_grant_type": ("the endpoint does not take the token exchange (OAuth unsupported_grant_type)",
                               "exchange at the workspace's /oidc/v1/token or the account's "
                               "/oidc/accounts/<id>/v1/token (--host, --token-endpoint)"),
    "invalid_scope": ("Databricks does not grant the requested scope (OAuth invalid_scope)",
                      f"request {DEFAULT_SCOPE}"),
}


def explain_refusal(error: Any) -> Refusal | None:
    """The token endpoint's refusal (an ExchangeError carrying its OAuth error): its meaning and fix."""
    if getattr(error, "code", "") != "databricks-refused":
        return None
    found = re.search(r" at \S+: ([A-Za-z_]+)(?::|$)", str(getattr(error, "message", error)))
    meaning = _REFUSALS.get(found.group(1)) if found else None
    if meaning is None:
        return None
    return Refusal(f"exchange.{found.group(1)}", meaning[0], meaning[1])


__all__ = ["account_id", "accounts_url", "add_diagnose_arguments", "diagnose", "explain_refusal"]
