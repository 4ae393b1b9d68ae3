"""`fedctl doctor` for Entra apps and managed identities: their live federated credentials, then Entra's answer.

End to end against loopback stand-ins with the real clients: boto3 for STS and IAM, azure-identity's
DefaultAzureCredential (a reader's client secret, from the environment) for Microsoft Graph and ARM,
and azure-identity's ClientAssertionCredential for the exchange. Assertions are on step codes,
statuses and findings.
"""

from __future__ import annotations

import json

import pytest

from components.relying_parties.azure.doctor import explain_refusal
from components.rules.errors import ExchangeError
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.entra import EntraStandin
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
CLIENT = "5b1f8c1e-0000-4000-8000-00000000c1d0"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
READER, READER_SECRET = "0a0a0a0a-0000-4000-8000-00000000reed", "reader-secret-value"
AUDIENCE = "api://AzureADTokenExchange"
IDENTITY_ID = ("/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/reports/providers/"
               "Microsoft.ManagedIdentity/userAssignedIdentities/aws-reports-reader")
PATHLESS_ROLE = "arn:aws:iam::123456789012:role/app"  # ROLE_ARN rebuilt from the role's name: its path is lost


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", token_policy_document([AUDIENCE]))]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def entra_with(issuer, monkeypatch, *credentials):
    """An Entra stand-in whose app (and managed identity) hold these credentials, read by a reader."""
    entra = EntraStandin({CLIENT: list(credentials)}, client_secrets={READER: READER_SECRET},
                         identities={IDENTITY_ID: CLIENT})
    for name, value in (("AZURE_CLIENT_ID", READER), ("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_SECRET", READER_SECRET)):
        monkeypatch.setenv(name, value)
    entra.monkeypatch = monkeypatch
    return entra


def run_doctor(capsys, tmp_path, issuer, aws, entra, kind="azureApp"):
    sts, iam = aws
    exported = {"clientId": CLIENT, "tenantId": TENANT, "audience": AUDIENCE}
    if kind == "azureManagedIdentity":
        exported["identityId"] = IDENTITY_ID
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"issuer": issuer.issuer, "accountId": ACCOUNT, "workloads": {"reports": {
        "roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT, kind: exported}}}))
    with entra.serve():
        entra.monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        code = main(["doctor", "--workload", "reports", "--outputs", str(outputs), "--json",
                     "--sts-endpoint", sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1",
                     "--authority", entra.authority, "--graph-url", entra.authority, "--arm-url", entra.authority])
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == code
    return code, report


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


# -- a healthy trust ------------------------------------------------------------------------------

def test_a_healthy_app_trust_passes_every_step_and_exits_0(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, ROLE_ARN, AUDIENCE))
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.credentials": "pass",
        "exchange": "pass"}


def test_a_managed_identitys_credentials_are_read_from_arm(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, ROLE_ARN, AUDIENCE))
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra, kind="azureManagedIdentity")
    assert code == 0 and step(report, "trust.credentials")["status"] == "pass"
    assert [read["path"] for read in entra.reads] == [f"{IDENTITY_ID}/federatedIdentityCredentials"]


# -- 4. the live credentials ----------------------------------------------------------------------

def test_a_subject_that_lost_the_role_path_is_shown_character_by_character(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, PATHLESS_ROLE, AUDIENCE))
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    trust = step(report, "trust.credentials")
    assert code == 1 and trust["finding"] == "trust.sub-differs"
    difference = trust["details"]["difference"]
    assert (difference["kind"], difference["expected"], difference["actual"]) == ("path-lost", PATHLESS_ROLE, ROLE_ARN)
    assert difference["position"] == len("arn:aws:iam::123456789012:role/")


def test_a_credential_for_another_audience_is_named(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, ROLE_ARN, "api://AzureADTokenExchangeChina"))
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    trust = step(report, "trust.credentials")
    assert code == 1 and trust["finding"] == "trust.aud-differs"
    assert trust["details"]["difference"]["kind"] == "extra"


def test_the_closest_of_many_credentials_is_the_one_compared(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, "arn:aws:iam::123456789012:role/billing", AUDIENCE),
                       (issuer.issuer, PATHLESS_ROLE, AUDIENCE))
    _, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    assert step(report, "trust.credentials")["details"]["credential"] == "credential-1"


def test_a_reader_without_permission_could_not_check_the_credentials(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, ROLE_ARN, AUDIENCE))
    entra.deny_reads = True
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    trust = step(report, "trust.credentials")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.read-denied")
    assert step(report, "exchange")["status"] == "pass"


def test_a_deleted_app_is_a_finding(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch)
    del entra.federated_credentials[CLIENT]
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    assert code == 1 and step(report, "trust.credentials")["finding"] == "trust.not-found"
    assert step(report, "exchange")["finding"] == "exchange.AADSTS700016"


# -- 5. Entra's answer ----------------------------------------------------------------------------

def test_entras_aadsts700213_is_mapped_to_the_subject(capsys, tmp_path, issuer, aws, monkeypatch):
    entra = entra_with(issuer, monkeypatch, (issuer.issuer, PATHLESS_ROLE, AUDIENCE))
    code, report = run_doctor(capsys, tmp_path, issuer, aws, entra)
    exchange = step(report, "exchange")
    assert code == 1 and (exchange["status"], exchange["finding"]) == ("fail", "exchange.AADSTS700213")
    assert entra.requests[-1]["outcome"] == "AADSTS700213"


@pytest.mark.parametrize("answer, finding", [
    ("AADSTS700211: No matching federated identity record found for presented assertion issuer", "exchange.AADSTS700211"),
    ("AADSTS70021: No matching federated identity record found for presented assertion.", "exchange.AADSTS70021"),
    ("AADSTS7002138: No matching federated identity record found for presented assertion subject", "exchange.AADSTS7002138"),
    ("AADSTS90099: something new", "exchange.AADSTS90099"),
])
def test_each_aadsts_code_keeps_its_own_finding(answer, finding):
    refusal = explain_refusal(ExchangeError(f"Entra refused the AWS token for client x: {answer}", code="entra-refused"))
    assert refusal.finding == finding


def test_an_answer_without_an_aadsts_code_is_not_explained():
    assert explain_refusal(ExchangeError("connection reset", code="entra-refused")) is None
