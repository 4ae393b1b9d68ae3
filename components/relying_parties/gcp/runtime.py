"""At run time: Google credentials that exchange the AWS token, and ``fedctl exchange gcp``.

Imports google-auth only when called, so the runtime stays importable without it.

Example::

    supplier = AwsTokenSupplier([f"https:{GCP_AUDIENCE}"], region="eu-west-1")
    credentials = gcp_credentials(GCP_AUDIENCE, supplier, service_account_email=SA_EMAIL)
    storage.Client(project=PROJECT, credentials=credentials)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any, Callable, Mapping, Sequence

from ...rules.errors import ExchangeError, missing_dependency
from ..base import TokenSupplier
from .doctor import add_diagnose_arguments, diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import IAM_CREDENTIALS_BASE, JWT_TOKEN_TYPE, STS_TOKEN_URL

COMMAND = "gcp"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def google_executable(token: str, expires_in: float | None) -> str:
    """the response google-auth's executable credential source reads (credential_source.executable)"""
    import json
    import time

    # google-auth compares expiration_time with this host's clock, so it is given in that clock:
    # now plus the life AWS gave the token, right even on a host whose clock is off.
    return json.dumps({"version": 1, "success": True, "token_type": JWT_TOKEN_TYPE, "id_token": token,
                       "expiration_time": int(time.time() + expires_in) if expires_in is not None else None})


TOKEN_FORMATS = {"google-executable": google_executable}
"""``fedctl token --format google-executable``: what the exported credential configuration runs."""



def _subject_token_supplier(supplier: TokenSupplier) -> Any:
    from google.auth import identity_pool

    class _AwsSubjectTokenSupplier(identity_pool.SubjectTokenSupplier):
        """Adapts a token supplier to google-auth's subject token protocol.

        google-auth does not cache subject tokens; the AWS supplier does.
        """

        def __init__(self, inner: TokenSupplier) -> None:
            self._inner = inner

        def get_subject_token(self, context: Any, request: Any) -> str:
            return self._inner.get_token()

    return _AwsSubjectTokenSupplier(supplier)


def gcp_credentials(
    audience: str,
    supplier: TokenSupplier,
    *,
    service_account_email: str | None = None,
    token_url: str | None = None,
    impersonation_url: str | None = None,
    scopes: Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """``google.auth.identity_pool.Credentials`` that exchange the AWS token at Google STS.

    Args:
        audience: The workload identity provider, e.g.
            ``//iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV``.
            By Google's default the AWS token's ``aud`` must then be ``"https:" + audience``.
        supplier: Supplies the AWS token.
        service_account_email: Impersonate this service account after the exchange; without
            it the federated principal is used directly.
        token_url: Google STS token endpoint (for tests and other universes).
        impersonation_url: Base of the IAM Credentials API (for tests); the
            ``/projects/-/serviceAccounts/{email}:generateAccessToken`` path is appended.
        scopes: Defaults to ``cloud-platform``.

    Other keyword arguments go to ``identity_pool.Credentials`` (``quota_project_id``,
    ``service_account_impersonation_options``, ...).
    """
    try:
        from google.auth import identity_pool
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error

    if service_account_email:
        base = (impersonation_url or IAM_CREDENTIALS_BASE).rstrip("/")
        kwargs["service_account_impersonation_url"] = (
            f"{base}/projects/-/serviceAccounts/{service_account_email}:generateAccessToken"
        )
    return identity_pool.Credentials(
        audience=audience,
        subject_token_type=JWT_TOKEN_TYPE,
        token_url=token_url or STS_TOKEN_URL,
        subject_token_supplier=_subject_token_supplier(supplier),
        scopes=list(scopes) if scopes is not None else list(SCOPES),
        **kwargs,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token-url", help="Google STS token URL (default: from the credential configuration)")
    parser.add_argument("--impersonation-url",
                        help="IAM Credentials API base URL, e.g. https://iamcredentials.googleapis.com/v1 (tests)")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Exchange the workload's AWS token at Google STS (and impersonate its service account).

    ``exported`` is what the stack exports for the workload:'s ``gcp`` outputs: the ``audience`` its role requests and the
    credential configuration naming the provider.
    """
    from fedctl.exchange import ExchangeResult

    try:
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    configuration = exported.get("credentialConfiguration")
    if isinstance(configuration, str):
        configuration = json.loads(configuration)
    supplier = supplier_for(exported["audience"], "RS256")
    email = exported.get("serviceAccountEmail")
    impersonation = getattr(options, "impersonation_url", None)
    credentials = gcp_credentials(
        configuration["audience"], supplier, service_account_email=email,
        token_url=getattr(options, "token_url", None) or configuration.get("token_url"),
        **({"impersonation_url": impersonation} if impersonation else {}),
    )
    try:
        credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.GoogleAuthError as error:
        raise ExchangeError(f"Google refused the AWS token for {configuration['audience']}: {error}",
                            code="google-refused") from None
    expiry = credentials.expiry.replace(tzinfo=dt.timezone.utc) if credentials.expiry else None
    return ExchangeResult("gcp", workload, f"service account {email}" if email else "the pool principal", expiry, 1)
