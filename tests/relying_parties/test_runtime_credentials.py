"""The full chain: boto3 -> AwsTokenSupplier -> azure-identity / google-auth -> judging stand-ins."""

from __future__ import annotations

import google.auth.transport.requests
import pytest
from azure.core.exceptions import ClientAuthenticationError
from google.auth.exceptions import OAuthError

from fedctl import azure_credential, gcp_credentials
from fedctl.tokens import AwsTokenSupplier
from fedctl.testing.standins.entra import EntraStandin
from fedctl.testing.standins.google_sts import GoogleStsStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "5b1f8c1e-0000-4000-8000-00000000c1d0"
ENTRA_AUDIENCE = "api://AzureADTokenExchange"
PROVIDER = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/aws/providers/outbound"
SA_EMAIL = "reader@example-project.iam.gserviceaccount.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


@pytest.fixture
def sts(issuer):
    with StsStandin(issuer).serve() as standin:
        yield standin


@pytest.fixture
def google_sts(issuer):
    with GoogleStsStandin({PROVIDER: issuer.issuer}, service_accounts=[SA_EMAIL]).serve() as standin:
        yield standin


def google_request():
    return google.auth.transport.requests.Request()


# -- Azure ------------------------------------------------------------------------------


@pytest.fixture
def entra(issuer, monkeypatch):
    with EntraStandin({CLIENT: [(issuer.issuer, ROLE_ARN, ENTRA_AUDIENCE)]}).serve() as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_bundle)
        yield standin


def test_azure_credential_gets_an_entra_token_with_the_aws_token(sts, entra):
    supplier = AwsTokenSupplier([ENTRA_AUDIENCE], sts_client=sts.client())
    credential = azure_credential(
        TENANT, CLIENT, supplier, authority=entra.authority, disable_instance_discovery=True
    )
    access = credential.get_token("https://storage.azure.com/.default")
    assert access.token == entra.access_tokens[0]
    assert entra.requests[-1] == {"client_id": CLIENT, "scope": "https://storage.azure.com/.default", "outcome": "issued"}
    assert sts.calls == 1


def test_azure_subject_mismatch_is_refused_with_aadsts700213(issuer, sts, monkeypatch):
    other_role = ROLE_ARN.replace("workloads/app", "workloads/App")  # matching is case-sensitive
    with EntraStandin({CLIENT: [(issuer.issuer, other_role, ENTRA_AUDIENCE)]}).serve() as entra:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        supplier = AwsTokenSupplier([ENTRA_AUDIENCE], sts_client=sts.client())
        credential = azure_credential(
            TENANT, CLIENT, supplier, authority=entra.authority, disable_instance_discovery=True
        )
        with pytest.raises(ClientAuthenticationError, match="AADSTS700213"):
            credential.get_token("https://storage.azure.com/.default")
    assert sts.tokens[0] not in str(entra.requests)


def test_azure_wrong_audience_is_refused(sts, entra):
    supplier = AwsTokenSupplier(["https://not-entra.example"], sts_client=sts.client())
    credential = azure_credential(
        TENANT, CLIENT, supplier, authority=entra.authority, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700212"):
        credential.get_token("https://storage.azure.com/.default")


# -- Google -----------------------------------------------------------------------------


def test_gcp_credentials_exchange_the_aws_token_at_google_sts(sts, google_sts):
    supplier = AwsTokenSupplier([f"https:{PROVIDER}"], sts_client=sts.client())
    credentials = gcp_credentials(PROVIDER, supplier, token_url=google_sts.token_url)
    credentials.refresh(google_request())
    assert credentials.token == google_sts.sts_tokens[0]
    exchange = google_sts.exchanges[0]
    assert exchange["audience"] == PROVIDER
    assert exchange["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert exchange["scope"] == CLOUD_PLATFORM
    assert exchange["subject"] == ROLE_ARN
    assert google_sts.impersonations == []


def test_gcp_credentials_impersonate_the_service_account_with_the_sts_token(sts, google_sts):
    supplier = AwsTokenSupplier([f"https:{PROVIDER}"], sts_client=sts.client())
    credentials = gcp_credentials(
        PROVIDER, supplier, service_account_email=SA_EMAIL,
        token_url=google_sts.token_url, impersonation_url=f"{google_sts.base_url}/v1",
    )
    credentials.refresh(google_request())
    (impersonation,) = google_sts.impersonations
    assert impersonation["email"] == SA_EMAIL
    assert impersonation["authorization"] == f"Bearer {google_sts.sts_tokens[0]}"
    assert impersonation["body"]["scope"] == [CLOUD_PLATFORM]
    assert credentials.token == google_sts.sa_tokens[0]


def test_gcp_impersonation_url_defaults_to_iam_credentials(sts):
    supplier = AwsTokenSupplier([f"https:{PROVIDER}"], sts_client=sts.client())
    credentials = gcp_credentials(PROVIDER, supplier, service_account_email=SA_EMAIL)
    assert credentials.service_account_email == SA_EMAIL
    assert credentials._service_account_impersonation_url == (
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken"
    )
    assert credentials._token_url == "https://sts.googleapis.com/v1/token"


def test_gcp_refreshes_reuse_the_cached_aws_token(sts, google_sts):
    supplier = AwsTokenSupplier([f"https:{PROVIDER}"], sts_client=sts.client())
    credentials = gcp_credentials(PROVIDER, supplier, token_url=google_sts.token_url)
    credentials.refresh(google_request())
    credentials.refresh(google_request())
    assert len(google_sts.sts_tokens) == 2
    assert sts.calls == 1


def test_gcp_token_without_https_prefixed_audience_is_refused(sts, google_sts):
    supplier = AwsTokenSupplier([PROVIDER], sts_client=sts.client())  # missing "https:"
    credentials = gcp_credentials(PROVIDER, supplier, token_url=google_sts.token_url)
    with pytest.raises(OAuthError, match="audience"):
        credentials.refresh(google_request())
