"""`fedctl doctor` for a GCP workload identity pool: its live provider, condition and bindings, then Google's answer.

End to end against loopback stand-ins with the real clients: boto3 for STS and IAM, google-auth's
application default credentials (an authorized_user file) for the IAM API, google-auth's
identity_pool credentials for the exchange. The Google STS stand-in judges exchanges by the same
providers and policies the IAM stand-in serves. Assertions are on step codes, statuses and findings.
"""

from __future__ import annotations

import json

import pytest

from components.relying_parties.gcp import rules
from components.relying_parties.gcp.doctor import clauses
from components.relying_parties.gcp.facts import WORKLOAD_IDENTITY_USER
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.gcp_iam import GcpIamStandin, oidc_provider
from fedctl.testing.standins.google_sts import GoogleStsStandin
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT, NUMBER, POOL, PROVIDER = "123456789012", "987654321098", "aws-pool", "aws-oidc"
NAME = f"{rules.pool_name(NUMBER, POOL)}/providers/{PROVIDER}"
AUDIENCE = rules.token_audience(NUMBER, POOL, PROVIDER)
SA_EMAIL = "exporter@usage-analytics.iam.gserviceaccount.com"
PRINCIPAL = rules.principal_for(NUMBER, POOL, rules.mapped_subject(ROLE_ARN))
OTHER_ROLE = "arn:aws:iam::123456789012:role/workloads/billing"


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", token_policy_document([AUDIENCE]))]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def gcp_with(issuer, *, issuer_uri=None, trusted=(ROLE_ARN,), members=(PRINCIPAL,)):
    provider = oidc_provider(NAME, issuer_uri or issuer.issuer, mapping=rules.attribute_mapping(),
                             condition=rules.attribute_condition(ACCOUNT, list(trusted)))
    return GcpIamStandin({NAME: provider}, policies={SA_EMAIL: [(WORKLOAD_IDENTITY_USER, list(members))]})


def run_doctor(capsys, tmp_path, monkeypatch, aws, gcp):
    sts, iam = aws
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"exporter": {"roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
                                                               "gcp": {
        "audience": AUDIENCE, "serviceAccountEmail": SA_EMAIL, "providerName": NAME,
        "credentialConfiguration": json.dumps(rules.credential_configuration(NUMBER, POOL, PROVIDER, SA_EMAIL,
                                                                             AUDIENCE))}}}}))
    with gcp.serve(), GoogleStsStandin(iam=gcp).serve() as google:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.write_adc(tmp_path / "adc.json")))
        code = main(["doctor", "--workload", "exporter", "--outputs", str(outputs), "--json",
                     "--sts-endpoint", sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1",
                     "--iam-url", gcp.base_url, "--token-url", google.token_url,
                     "--impersonation-url", f"{google.base_url}/v1"])
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == code
    return code, report


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def test_a_healthy_pool_trust_passes_every_step_and_exits_0(capsys, tmp_path, monkeypatch, issuer, aws):
    code, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp_with(issuer))
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.provider": "pass",
        "trust.mapping": "pass", "trust.condition": "pass", "trust.binding": "pass", "exchange": "pass"}


def test_a_condition_that_does_not_pin_this_role_names_its_failing_clause(capsys, tmp_path, monkeypatch, issuer, aws):
    code, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp_with(issuer, trusted=(OTHER_ROLE,)))
    condition = step(report, "trust.condition")
    assert code == 1 and condition["finding"] == "trust.condition-false"
    assert condition["details"]["namesRole"] is False
    assert condition["details"]["clause"] == f"assertion.sub in ['{OTHER_ROLE}']"


def test_googles_refusal_by_the_condition_is_mapped_to_it(capsys, tmp_path, monkeypatch, issuer, aws):
    _, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp_with(issuer, trusted=(OTHER_ROLE,)))
    assert step(report, "exchange")["finding"] == "exchange.unauthorized_client"


def test_a_missing_workload_identity_user_binding_is_named(capsys, tmp_path, monkeypatch, issuer, aws):
    other = rules.principal_for(NUMBER, POOL, rules.mapped_subject(OTHER_ROLE))
    code, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp_with(issuer, members=(other,)))
    binding = step(report, "trust.binding")
    assert code == 1 and binding["finding"] == "trust.no-binding"
    assert (binding["details"]["principal"], binding["details"]["members"]) == (PRINCIPAL, [other])
    assert step(report, "exchange")["finding"] == "exchange.PERMISSION_DENIED"


def test_a_provider_issuer_with_a_trailing_slash_is_shown(capsys, tmp_path, monkeypatch, issuer, aws):
    code, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp_with(issuer, issuer_uri=issuer.issuer + "/"))
    provider = step(report, "trust.provider")
    assert code == 1 and provider["finding"] == "trust.iss-differs"
    assert provider["details"]["difference"]["kind"] == "trailing-slash"
    assert step(report, "exchange")["finding"] == "exchange.invalid_grant"


def test_a_reader_without_permission_could_not_check_the_provider(capsys, tmp_path, monkeypatch, issuer, aws):
    gcp = gcp_with(issuer)
    gcp.deny_reads = True
    code, report = run_doctor(capsys, tmp_path, monkeypatch, aws, gcp)
    provider = step(report, "trust.provider")
    assert code == 2 and (provider["status"], provider["finding"]) == ("unchecked", "trust.read-denied")


def test_a_condition_is_split_only_at_its_top_level_ands():
    condition = rules.attribute_condition(ACCOUNT, ["arn:aws:iam::123456789012:role/a&&b/x"])
    assert len(clauses(condition)) == 4 and clauses(condition)[-1].endswith("role/a&&b/x']")

