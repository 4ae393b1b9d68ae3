"""The GCP credential configuration the stack exports, used for real: google-auth runs `fedctl token`.

google-auth's pluggable (executable-sourced) credentials start our CLI as a subprocess, read its
google-executable response, exchange the token at a Google STS stand-in and impersonate the
service account. boto3 inside the subprocess reaches the STS stand-in through
AWS_ENDPOINT_URL_STS, as a real workload reaches a VPC endpoint.
"""

import os
import sys
from pathlib import Path

import google.auth.exceptions
import google.auth.transport.requests
import pytest
from google.auth import pluggable

from components.relying_parties.gcp import rules as gcp_rules
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.standins.google_sts import GoogleStsStandin
from fedctl.testing.standins.sts import StsStandin

PROJECT_NUMBER, POOL, PROVIDER = "123456789", "aws-pool", "aws-oidc"
SA_EMAIL = "exporter@usage-analytics.iam.gserviceaccount.com"


@pytest.fixture
def clouds(monkeypatch):
    issuer = LocalIssuer()
    with issuer.serve():
        with StsStandin(issuer).serve() as sts:
            canonical = gcp_rules.canonical_audience(PROJECT_NUMBER, POOL, PROVIDER)
            with GoogleStsStandin({canonical: issuer.issuer}, service_accounts=[SA_EMAIL]).serve() as google_sts:
                monkeypatch.setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1")
                monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.endpoint_url)
                monkeypatch.setenv("AWS_REGION", "us-east-1")
                monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
                monkeypatch.delenv("AWS_PROFILE", raising=False)
                # The fedctl console script sits beside this interpreter in the virtualenv.
                monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
                yield sts, google_sts


def exported_configuration(google_sts, aws_audience=None):
    aws_audience = aws_audience or gcp_rules.token_audience(PROJECT_NUMBER, POOL, PROVIDER, None)
    configuration = gcp_rules.credential_configuration(PROJECT_NUMBER, POOL, PROVIDER, SA_EMAIL, aws_audience)
    configuration["token_url"] = google_sts.token_url
    configuration["service_account_impersonation_url"] = (
        f"{google_sts.base_url}/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken")
    return configuration


def test_google_auth_gets_a_token_through_the_exported_configuration(clouds):
    sts, google_sts = clouds
    credentials = pluggable.Credentials.from_info(exported_configuration(google_sts))
    credentials.refresh(google.auth.transport.requests.Request())
    assert credentials.token == google_sts.sa_tokens[-1]
    assert google_sts.impersonations[-1]["outcome"] == "issued"
    assert sts.requests[-1]["Audience"] == [f"https:{gcp_rules.canonical_audience(PROJECT_NUMBER, POOL, PROVIDER)}"]
    assert sts.requests[-1]["SigningAlgorithm"] == "RS256"


def test_a_token_for_another_audience_is_refused_by_google(clouds):
    sts, google_sts = clouds
    credentials = pluggable.Credentials.from_info(exported_configuration(google_sts, "https://unrelated.example.com"))
    with pytest.raises(google.auth.exceptions.GoogleAuthError):
        credentials.refresh(google.auth.transport.requests.Request())
    assert google_sts.sa_tokens == []
