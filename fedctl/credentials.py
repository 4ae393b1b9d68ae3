"""Azure and Google credentials that present an AWS web identity token.

Both take an :class:`~fedctl.tokens.AwsTokenSupplier` (or anything with ``get_token() -> str``)
and plug it into the cloud SDK's own credential class, so token exchange, caching of the
resulting access token and retries stay the SDK's business.

Example::

    supplier = AwsTokenSupplier(["api://AzureADTokenExchange"], region="eu-west-1")
    credential = azure_credential(TENANT_ID, CLIENT_ID, supplier)
    BlobServiceClient(account_url, credential=credential)

    supplier = AwsTokenSupplier([f"https:{GCP_AUDIENCE}"], region="eu-west-1")
    credentials = gcp_credentials(GCP_AUDIENCE, supplier, service_account_email=SA_EMAIL)
    storage.Client(project=PROJECT, credentials=credentials)
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

GCP_TOKEN_URL = "https://sts.googleapis.com/v1/token"
GCP_IMPERSONATION_BASE = "https://iamcredentials.googleapis.com/v1"
GCP_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


class TokenSupplier(Protocol):
    def get_token(self) -> str: ...


def azure_credential(tenant_id: str, client_id: str, supplier: TokenSupplier, **kwargs: Any) -> Any:
    """An ``azure.identity.ClientAssertionCredential`` whose assertion is the AWS token.

    The Entra app (or user-assigned managed identity) ``client_id`` needs a federated identity
    credential with the AWS issuer, the role ARN as subject and (usually)
    ``api://AzureADTokenExchange`` as audience, matching the supplier's audiences.

    Why not ``WorkloadIdentityCredential``: it reads its assertion from a file and re-reads
    it only every 600 s, longer than a 300 s AWS token lives, so it would present expired
    tokens. ``ClientAssertionCredential`` calls the supplier whenever it needs a new access
    token, and the supplier hands out a token with life left.

    Keyword arguments go to ``ClientAssertionCredential`` (``authority``,
    ``disable_instance_discovery``, ``additionally_allowed_tenants``, ...).

    Example::

        credential = azure_credential(tenant, client, supplier)
        credential.get_token("https://storage.azure.com/.default")
    """
    from azure.identity import ClientAssertionCredential

    return ClientAssertionCredential(tenant_id, client_id, func=supplier.get_token, **kwargs)


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
    from google.auth import identity_pool

    if service_account_email:
        base = (impersonation_url or GCP_IMPERSONATION_BASE).rstrip("/")
        kwargs["service_account_impersonation_url"] = (
            f"{base}/projects/-/serviceAccounts/{service_account_email}:generateAccessToken"
        )
    return identity_pool.Credentials(
        audience=audience,
        subject_token_type=JWT_TOKEN_TYPE,
        token_url=token_url or GCP_TOKEN_URL,
        subject_token_supplier=_subject_token_supplier(supplier),
        scopes=list(scopes) if scopes is not None else list(GCP_SCOPES),
        **kwargs,
    )
