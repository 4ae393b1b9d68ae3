"""`fedctl doctor` for a SaaS trust made by hand: the exported rules judged on the real token, the manual step reminded.

End to end with boto3 against the STS and IAM stand-ins, and the OpenAI stand-in for step 5. The
vendor side has no API doctor can read, so step 4 compares the token with what the stack exported
and says so, and a skipped step reminds of the manual step. Assertions are on step codes, statuses
and findings.
"""

from __future__ import annotations

import json

import pytest
from saas_standin import OPENAI_AUDIENCE, PROVIDER_ID, SERVICE_ACCOUNT, VendorStandin

from components.relying_parties.saas import rules
from components.relying_parties.saas.doctor import explain_refusal
from components.rules.errors import ExchangeError
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
GENERIC_AUDIENCE = "https://api.billing.example"
PATHLESS_ROLE = "arn:aws:iam::123456789012:role/app"  # ROLE_ARN rebuilt from the role's name: its path is lost
OPENAI_IDS = ("--identity-provider-id", PROVIDER_ID, "--service-account-id", SERVICE_ACCOUNT)


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    policy = token_policy_document([OPENAI_AUDIENCE, GENERIC_AUDIENCE])
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", policy)]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def run_doctor(capsys, tmp_path, aws, *extra, preset="openai", role=ROLE_ARN, issuer=None):
    sts, iam = aws
    audience = OPENAI_AUDIENCE if preset == "openai" else GENERIC_AUDIENCE
    issuer = issuer or iam.issuer
    exported = {"preset": preset, "audience": audience, "issuer": issuer, "subjects": {"dev-app": role},
                "mappingRules": {"dev-app": rules.mapping_rule(preset, audience, ACCOUNT, role)},
                "manualStep": rules.manual_step(preset, issuer, audience, 1)}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"app": {"roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
                                                         "saas": exported}}}))
    code = main(["doctor", "--workload", "app", "--outputs", str(outputs), "--json", "--sts-endpoint",
                 sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1", *extra])
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == code
    return code, report


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def test_a_healthy_openai_trust_passes_and_reminds_of_the_manual_step(capsys, tmp_path, issuer, aws):
    with VendorStandin("openai", issuer.issuer, OPENAI_AUDIENCE).serve() as openai:
        code, report = run_doctor(capsys, tmp_path, aws, "--token-url", openai.token_url, *OPENAI_IDS)
    assert code == 0, [s for s in report["steps"] if s["status"] not in ("pass", "skip")]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.rules": "pass",
        "trust.manual": "skip", "exchange": "pass"}


def test_the_manual_step_reminder_carries_the_exported_instructions(capsys, tmp_path, aws):
    _, report = run_doctor(capsys, tmp_path, aws)
    manual = step(report, "trust.manual")
    _, iam = aws
    assert manual["finding"] == "trust.manual-step"
    assert manual["fix"] == rules.manual_step("openai", iam.issuer, OPENAI_AUDIENCE, 1)


def test_step_4_says_it_compared_with_the_outputs_not_the_vendor(capsys, tmp_path, aws):
    _, report = run_doctor(capsys, tmp_path, aws)
    assert step(report, "trust.rules")["details"]["live"] is False


def test_without_the_console_ids_step_5_is_not_run_and_the_trust_is_not_called_healthy(capsys, tmp_path, aws):
    # Nothing is a finding, but nothing proved the vendor takes the token either: could not check.
    code, report = run_doctor(capsys, tmp_path, aws)
    exchange = step(report, "exchange")
    assert (code, report["verdict"]) == (2, "unchecked")
    assert (exchange["status"], exchange["finding"]) == ("skip", "exchange.needs-options")


def test_a_generic_saas_has_no_exchange_to_run(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, preset="generic")
    assert code == 2 and step(report, "exchange")["status"] == "skip"
    assert step(report, "trust.rules")["status"] == "pass"


def test_an_exported_rule_for_the_role_without_its_path_is_shown(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, role=PATHLESS_ROLE)
    trust = step(report, "trust.rules")
    assert code == 1 and trust["finding"] == "trust.sub-differs"
    assert trust["details"]["difference"]["kind"] == "path-lost"


def test_an_exported_issuer_of_another_account_is_shown(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, issuer="https://0f2c0000-0000-4000-8000-000000000000.tokens.sts"
                                                          ".global.api.aws")
    assert code == 1 and step(report, "trust.rules")["finding"] == "trust.iss-differs"


def test_a_refused_vendor_exchange_is_shown_as_the_vendor_said_it(capsys, tmp_path, issuer, aws):
    with VendorStandin("openai", issuer.issuer, OPENAI_AUDIENCE, role=ROLE_ARN + "-other").serve() as openai:
        code, report = run_doctor(capsys, tmp_path, aws, "--token-url", openai.token_url, *OPENAI_IDS)
    assert code == 1 and step(report, "exchange")["finding"] == "exchange.openai-refused"


def test_an_assertion_too_large_for_anthropics_sdk_is_explained():
    refusal = explain_refusal(ExchangeError("the AWS token is 17000 bytes", code="anthropic-assertion-too-large"))
    assert refusal.finding == "exchange.anthropic-assertion-too-large"


def test_a_vendors_own_refusal_is_not_explained():
    assert explain_refusal(ExchangeError("OpenAI refused the AWS token (HTTP 401): invalid_grant",
                                         code="openai-refused")) is None
