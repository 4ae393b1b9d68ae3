"""The Databricks exchange against a loopback stand-in of its token endpoints, cross-checked with databricks-sdk."""

import argparse
import json
import time

import pytest
from databricks_standin import DatabricksStandin, Policy

from components.relying_parties.databricks.runtime import exchange_token
from fedctl.cli import main
from fedctl.errors import ConfigurationError, ExchangeError
from fedctl.exchange import exchange, token_supplier_factory
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11"
APPLICATION = "5b1f8c1e-0000-4000-8000-0000000d0b1c"
NEIGHBOUR = "arn:aws:iam::123456789012:role/workloads/other"


@pytest.fixture
def databricks(issuer):
    standin = DatabricksStandin(ACCOUNT, {APPLICATION: [Policy(issuer.issuer, ROLE_ARN, (ACCOUNT,))]})
    with standin.serve():
        yield standin


@pytest.fixture
def sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


def refusal(databricks, issuer, **mint):
    claims = {"sub": ROLE_ARN, "aud": ACCOUNT, **mint}
    token = issuer.mint(claims.pop("sub"), claims.pop("aud"), **claims)
    with pytest.raises(ExchangeError) as refused:
        exchange_token(databricks.account_endpoint, token, client_id=APPLICATION)
    return refused.value.code, databricks.requests[-1]["outcome"]


# -- the exchange ----------------------------------------------------------------------------------

def test_the_intended_token_gets_a_databricks_token_at_the_account_endpoint(databricks, issuer):
    token = exchange_token(databricks.account_endpoint, issuer.mint(ROLE_ARN, ACCOUNT), client_id=APPLICATION)
    assert token.access_token == databricks.access_tokens[-1]
    assert token.token_type == "Bearer" and token.scope == "all-apis"
    assert token.expires_at.timestamp() == pytest.approx(time.time() + 3600, abs=60)


def test_the_request_is_databricks_documented_token_exchange(databricks, issuer):
    exchange_token(databricks.account_endpoint, issuer.mint(ROLE_ARN, ACCOUNT), client_id=APPLICATION)
    assert databricks.requests[-1] == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "scope": "all-apis",
        "client_id": APPLICATION, "endpoint": "account", "outcome": "issued"}


def test_the_workspace_endpoint_takes_the_same_exchange(databricks, issuer):
    exchange_token(databricks.workspace_endpoint, issuer.mint(ROLE_ARN, ACCOUNT), client_id=APPLICATION)
    assert databricks.requests[-1]["endpoint"] == "workspace" and databricks.requests[-1]["outcome"] == "issued"


def test_the_databricks_sdk_sends_the_same_request_and_is_let_in(databricks, issuer):
    from databricks.sdk import oidc

    class AwsToken(oidc.IdTokenSource):
        def id_token(self):
            return oidc.IdToken(jwt=issuer.mint(ROLE_ARN, ACCOUNT))

    source = oidc.DatabricksOidcTokenSource(host=databricks.base_url, token_endpoint=databricks.account_endpoint,
                                            id_token_source=AwsToken(), client_id=APPLICATION, scopes="all-apis",
                                            disable_async=True)
    assert source.token().access_token == databricks.access_tokens[-1]
    sdk_request = databricks.requests[-1]
    exchange_token(databricks.account_endpoint, issuer.mint(ROLE_ARN, ACCOUNT), client_id=APPLICATION)
    assert databricks.requests[-1] == sdk_request


def test_the_token_never_shows_in_its_repr(databricks, issuer):
    token = exchange_token(databricks.account_endpoint, issuer.mint(ROLE_ARN, ACCOUNT), client_id=APPLICATION)
    assert token.access_token not in repr(token)
    assert token.authorization == f"Bearer {token.access_token}"


# -- what Databricks refuses -------------------------------------------------------------------------

def test_a_neighbouring_role_is_refused(databricks, issuer):
    assert refusal(databricks, issuer, sub=NEIGHBOUR) == ("databricks-refused", "bad_subject")


def test_the_same_role_of_another_account_is_refused(databricks, issuer):
    other = ROLE_ARN.replace("123456789012", "999999999999")
    assert refusal(databricks, issuer, sub=other, account="999999999999") == ("databricks-refused", "bad_subject")


def test_another_audience_is_refused(databricks, issuer):
    assert refusal(databricks, issuer, aud="databricks") == ("databricks-refused", "bad_audience")


def test_an_expired_token_is_refused(databricks, issuer):
    assert refusal(databricks, issuer, now=time.time() - 900) == ("databricks-refused", "expired")


def test_an_es384_token_is_refused(databricks, issuer):
    assert refusal(databricks, issuer, algorithm="ES384") == ("databricks-refused", "alg_not_allowed")


def test_another_issuer_is_refused(databricks):
    from fedctl.testing.issuer import LocalIssuer

    stranger = LocalIssuer()
    with stranger.serve():
        token = stranger.mint(ROLE_ARN, ACCOUNT)
        with pytest.raises(ExchangeError) as refused:
            exchange_token(databricks.account_endpoint, token, client_id=APPLICATION)
    # Its key is not the account issuer's (same kid, other key): refused before iss is even read.
    assert refused.value.code == "databricks-refused"
    assert databricks.requests[-1]["outcome"] in ("bad_signature", "bad_issuer")


def test_a_refusal_says_what_databricks_said_and_never_the_token(databricks, issuer):
    token = issuer.mint(NEIGHBOUR, ACCOUNT)
    with pytest.raises(ExchangeError) as refused:
        exchange_token(databricks.account_endpoint, token, client_id=APPLICATION)
    assert "invalid_client" in str(refused.value) and token not in str(refused.value)


def test_a_plain_http_endpoint_off_this_machine_is_refused_before_sending(issuer):
    with pytest.raises(ConfigurationError) as refused:
        exchange_token("http://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc/v1/token", "not-sent", client_id=APPLICATION)
    assert refused.value.code == "databricks-endpoint"


# -- fedctl exchange databricks ------------------------------------------------------------------

def outputs_file(tmp_path, databricks, **extra):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"jobs": {"databricks": {
        "audience": ACCOUNT, "applicationId": APPLICATION, "servicePrincipalId": 1234567890123456,
        "policyIds": ["dev-jobs"], "tokenEndpoint": databricks.account_endpoint, **extra}}}}))
    return str(path)


def sts_args(sts):
    return ["--sts-endpoint", sts.endpoint_url, "--region", "us-east-1"]


def test_fedctl_exchange_databricks_signs_in_as_the_service_principal(capsys, sts, databricks, tmp_path):
    code = main(["exchange", "databricks", "--workload", "jobs", "--outputs", outputs_file(tmp_path, databricks),
                 *sts_args(sts)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("databricks: the trust works.") and f"service principal {APPLICATION}" in out
    assert databricks.requests[-1]["outcome"] == "issued"
    assert databricks.access_tokens[-1] not in out


def test_fedctl_exchange_asks_sts_for_the_exported_audience_with_rs256(capsys, sts, databricks, tmp_path):
    main(["exchange", "databricks", "--workload", "jobs", "--outputs", outputs_file(tmp_path, databricks),
          *sts_args(sts)])
    assert sts.requests[-1]["Audience"] == [ACCOUNT] and sts.requests[-1]["SigningAlgorithm"] == "RS256"


def test_fedctl_exchange_can_be_pointed_at_a_workspace(capsys, sts, databricks, tmp_path):
    code = main(["exchange", "databricks", "--workload", "jobs", "--outputs", outputs_file(tmp_path, databricks),
                 "--host", databricks.base_url, *sts_args(sts)])
    assert code == 0 and databricks.requests[-1]["endpoint"] == "workspace"


def test_fedctl_exchange_reports_a_policy_that_does_not_match(capsys, sts, issuer, tmp_path):
    databricks = DatabricksStandin(ACCOUNT, {APPLICATION: [Policy(issuer.issuer, NEIGHBOUR, (ACCOUNT,))]})
    with databricks.serve():
        code = main(["exchange", "databricks", "--workload", "jobs", "--outputs", outputs_file(tmp_path, databricks),
                     *sts_args(sts)])
    assert code == 1
    assert databricks.requests[-1]["outcome"] == "bad_subject"


def test_outputs_without_an_application_id_are_refused():
    with pytest.raises(ExchangeError) as refused:
        exchange("databricks", {"workloads": {"jobs": {"databricks": {"audience": ACCOUNT}}}}, "jobs",
                 argparse.Namespace(), supplier_for=token_supplier_factory(region=None, sts_client=None))
    assert refused.value.code == "databricks-outputs"
