"""`fedctl token`, `verify` and `exchange` against loopback stand-ins, with the real client libraries."""

import io
import argparse
import json

import pytest

from fedctl.cli import main
from fedctl.errors import ExchangeError
from fedctl.exchange import exchange, token_supplier_factory
from fedctl.testing.standins.entra import EntraStandin
from fedctl.testing.standins.google_sts import GoogleStsStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "5b1f8c1e-0000-4000-8000-00000000c1d0"
PROVIDER = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/aws/providers/outbound"
SA_EMAIL = "exporter@usage-analytics.iam.gserviceaccount.com"


@pytest.fixture
def sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


def run(capsys, *args, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sts_args(sts):
    return ["--sts-endpoint", sts.endpoint_url, "--region", "us-east-1"]


# -- fedctl token ---------------------------------------------------------------------------------

def test_token_prints_the_decoded_claims_and_not_the_token(capsys, sts):
    code, out, _ = run(capsys, "token", "--audience", "api://AzureADTokenExchange", *sts_args(sts))
    claims = json.loads(out)
    assert code == 0
    assert claims["sub"] == ROLE_ARN and claims["aud"] == "api://AzureADTokenExchange"
    assert sts.tokens[-1] not in out


def test_token_sends_algorithm_duration_and_tags(capsys, sts):
    run(capsys, "token", "--audience", "a", "--algorithm", "ES384", "--duration", "900", "--tag", "team=data",
        *sts_args(sts))
    request = sts.requests[-1]
    assert (request["SigningAlgorithm"], request["DurationSeconds"]) == ("ES384", 900)
    assert request["Tags"] == {"team": "data"}


def test_token_prints_the_raw_token_only_when_asked(capsys, sts):
    code, out, _ = run(capsys, "token", "--audience", "a", "--raw", *sts_args(sts))
    assert code == 0 and out.strip() == sts.tokens[-1]


def test_token_speaks_googles_executable_credential_format(capsys, sts):
    _, out, _ = run(capsys, "token", "--audience", "a", "--format", "google-executable", *sts_args(sts))
    response = json.loads(out)
    assert response["version"] == 1 and response["success"] is True
    assert response["token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert response["id_token"] == sts.tokens[-1] and response["expiration_time"] > 0


def test_token_explains_a_disabled_account(capsys, sts):
    sts.fail_with("OutboundWebIdentityFederationDisabledException")
    code, out, err = run(capsys, "token", "--audience", "a", "--ready-timeout", "0", *sts_args(sts))
    assert code == 2 and out == ""
    assert "not enabled on this AWS account" in err


def test_token_refuses_a_bad_tag(capsys, sts):
    code, _, err = run(capsys, "token", "--audience", "a", "--tag", "no-equals", *sts_args(sts))
    assert code == 2 and "--tag: 'no-equals' must be KEY=VALUE" in err


# -- fedctl verify --------------------------------------------------------------------------------

def test_verify_accepts_a_good_token_and_prints_its_claims(capsys, issuer, monkeypatch):
    token = issuer.mint(ROLE_ARN, "https://api.example.com")
    code, out, _ = run(capsys, "verify", "--issuer", issuer.issuer, "--audience", "https://api.example.com",
                       "--subject", ROLE_ARN, stdin=token + "\n", monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["sub"] == ROLE_ARN


def test_verify_rejects_a_token_for_another_audience_without_echoing_it(capsys, issuer, monkeypatch):
    token = issuer.mint(ROLE_ARN, "https://other.example.com")
    code, out, err = run(capsys, "verify", "--issuer", issuer.issuer, "--audience", "https://api.example.com",
                         stdin=token, monkeypatch=monkeypatch)
    assert code == 1 and out == ""
    assert "rejected (bad_audience)" in err and token not in err


def test_verify_rejects_a_subject_outside_the_allow_list(capsys, issuer, monkeypatch):
    token = issuer.mint("arn:aws:iam::123456789012:role/other", "aud")
    code, _, err = run(capsys, "verify", "--issuer", issuer.issuer, "--audience", "aud", "--subject", ROLE_ARN,
                       stdin=token, monkeypatch=monkeypatch)
    assert code == 1 and "bad_subject" in err


# -- fedctl exchange ------------------------------------------------------------------------------

def azure_outputs(tmp_path, kind="azureManagedIdentity"):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"reports": {kind: {"clientId": CLIENT, "tenantId": TENANT}}}}))
    return path


def test_exchange_azure_signs_in_with_the_workloads_identity(capsys, sts, issuer, tmp_path, monkeypatch):
    entra = EntraStandin({CLIENT: [(issuer.issuer, ROLE_ARN, "api://AzureADTokenExchange")]})
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        code, out, _ = run(capsys, "exchange", "azure", "--workload", "reports", "--outputs",
                           str(azure_outputs(tmp_path)), "--authority", entra.authority, *sts_args(sts))
    assert code == 0, out
    assert out.startswith("azure: the trust works.")
    assert entra.requests[-1]["outcome"] == "issued"
    assert entra.access_tokens[-1] not in out


def test_exchange_azure_asks_sts_for_the_audience_the_trust_exports(capsys, sts, issuer, tmp_path, monkeypatch):
    entra = EntraStandin({CLIENT: [(issuer.issuer, ROLE_ARN, "api://custom-exchange")]})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"reports": {"azureApp": {
        "clientId": CLIENT, "tenantId": TENANT, "audience": "api://custom-exchange"}}}}))
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        code, out, _ = run(capsys, "exchange", "azure", "--workload", "reports", "--outputs", str(outputs),
                           "--authority", entra.authority, *sts_args(sts))
    assert code == 0, out
    assert sts.requests[-1]["Audience"] == ["api://custom-exchange"]


def test_exchange_azure_reports_a_credential_that_does_not_match(capsys, sts, issuer, tmp_path, monkeypatch):
    entra = EntraStandin({CLIENT: [(issuer.issuer, "arn:aws:iam::123456789012:role/someone-else",
                                    "api://AzureADTokenExchange")]})
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        code, _, err = run(capsys, "exchange", "azure", "--workload", "reports", "--outputs",
                           str(azure_outputs(tmp_path)), "--authority", entra.authority, "--wait", "0",
                           *sts_args(sts))
    assert code == 1
    assert "AADSTS700213" in err and "take minutes to propagate" in err


def test_exchange_azure_names_entras_whole_code_not_a_prefix_of_it(sts, issuer, monkeypatch):
    entra = EntraStandin({CLIENT: [(issuer.issuer, "arn:aws:iam::123456789012:role/app", "api://AzureADTokenExchange")]})
    outputs = {"workloads": {"reports": {"azureApp": {"clientId": CLIENT, "tenantId": TENANT}}}}
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        options = argparse.Namespace(authority=entra.authority, scope="https://management.azure.com/.default",
                                     wait=0, relying_party=None)
        with pytest.raises(ExchangeError) as refused:
            exchange("azure", outputs, "reports", options,
                     supplier_for=token_supplier_factory(region=None, sts_client=sts.client()))
    assert refused.value.code == "AADSTS700213"


def test_exchange_azure_retries_while_a_new_credential_propagates(sts, issuer, monkeypatch):
    entra = EntraStandin({CLIENT: [(issuer.issuer, "arn:aws:iam::123456789012:role/older", "api://AzureADTokenExchange")]})
    naps = []

    def nap(seconds):  # the new credential "propagates" during the first wait
        naps.append(seconds)
        entra.federated_credentials[CLIENT].append((issuer.issuer, ROLE_ARN, "api://AzureADTokenExchange"))

    outputs = {"workloads": {"reports": {"azureApp": {"clientId": CLIENT, "tenantId": TENANT}}}}
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        messages = []
        options = argparse.Namespace(authority=entra.authority, scope="https://management.azure.com/.default",
                                     wait=300, relying_party=None)
        result = exchange("azure", outputs, "reports", options, sleep=nap, progress=messages.append,
                          supplier_for=token_supplier_factory(region=None, sts_client=sts.client()))
    assert result.attempts == 2 and naps == [5.0]
    assert "take minutes to propagate" in messages[0]


def test_exchange_names_the_known_workloads_when_one_is_missing():
    with pytest.raises(ExchangeError) as refused:
        exchange("azure", {"workloads": {"reports": {}}}, "nope", argparse.Namespace(),
                 supplier_for=token_supplier_factory(region=None, sts_client=None))
    assert refused.value.code == "unknown-workload" and "(workloads: reports)" in str(refused.value)


def test_exchange_gcp_trades_the_token_and_impersonates(capsys, sts, issuer, tmp_path):
    configuration = {"type": "external_account", "audience": PROVIDER,
                     "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                     "token_url": "https://sts.googleapis.com/v1/token"}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"exporter": {"gcp": {
        "audience": f"https:{PROVIDER}", "serviceAccountEmail": SA_EMAIL,
        "credentialConfiguration": json.dumps(configuration)}}}}))
    google = GoogleStsStandin({PROVIDER: issuer.issuer}, service_accounts=[SA_EMAIL])
    with google.serve():
        code, out, err = run(capsys, "exchange", "gcp", "--workload", "exporter", "--outputs", str(outputs),
                           "--token-url", google.token_url, "--impersonation-url", f"{google.base_url}/v1", *sts_args(sts))
    assert code == 0, err
    assert f"service account {SA_EMAIL}" in out
    assert google.impersonations[-1]["outcome"] == "issued"
    assert sts.requests[-1]["Audience"] == [f"https:{PROVIDER}"]
