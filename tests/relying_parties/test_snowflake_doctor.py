"""`fedctl doctor` for Snowflake: the exported workload identity judged on the real token (not read live).

End to end with boto3 against the STS and IAM stand-ins. Snowflake's side has no read API doctor
can use, so step 4 compares the token with what the stack exported, and says so; step 5 is
`fedctl exchange snowflake` (with --check, the token verified against the exported identity).
Assertions are on step codes, statuses and findings.
"""

from __future__ import annotations

import json

import pytest

from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
AUDIENCE = "snowflakecomputing.com"
PATHLESS_ROLE = "arn:aws:iam::123456789012:role/app"  # ROLE_ARN rebuilt from the role's name: its path is lost


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    policy = token_policy_document([AUDIENCE], 300, ["ES384"])
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", policy)]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def run_doctor(capsys, tmp_path, aws, *extra, **exported_overrides):
    sts, iam = aws
    exported = {"audience": AUDIENCE, "account": "myorg-analytics", "userName": "AWS_LOADER", "issuer": iam.issuer,
                "roleArn": ROLE_ARN, **exported_overrides}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"loader": {
        "roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
        "snowflake": {k: v for k, v in exported.items() if v is not None}}}}))
    code = main(["doctor", "--workload", "loader", "--outputs", str(outputs), "--json", "--sts-endpoint",
                 sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1", *extra])
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == code
    return code, report


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def test_a_healthy_snowflake_trust_passes_every_step_and_exits_0(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, "--check")
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.identity": "pass",
        "exchange": "pass"}


def test_step_4_says_it_compared_with_the_outputs_not_the_live_user(capsys, tmp_path, aws):
    _, report = run_doctor(capsys, tmp_path, aws)
    assert step(report, "trust.identity")["details"]["live"] is False


def test_an_exported_role_arn_without_the_path_is_shown_character_by_character(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, roleArn=PATHLESS_ROLE)
    trust = step(report, "trust.identity")
    assert code == 1 and trust["finding"] == "trust.sub-differs"
    assert trust["details"]["difference"]["kind"] == "path-lost"


def test_the_checked_exchanges_refusal_of_that_identity_is_explained(capsys, tmp_path, aws):
    _, report = run_doctor(capsys, tmp_path, aws, "--check", roleArn=PATHLESS_ROLE)
    assert step(report, "exchange")["finding"] == "exchange.snowflake-identity-mismatch"


def test_an_exported_issuer_with_a_trailing_slash_is_shown(capsys, tmp_path, aws, issuer):
    code, report = run_doctor(capsys, tmp_path, aws, issuer=issuer.issuer + "/")
    trust = step(report, "trust.identity")
    assert code == 1 and (trust["finding"], trust["details"]["difference"]["kind"]) == ("trust.iss-differs",
                                                                                        "trailing-slash")


def test_outputs_without_the_identity_could_not_be_compared(capsys, tmp_path, aws):
    code, report = run_doctor(capsys, tmp_path, aws, issuer=None)
    trust = step(report, "trust.identity")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.no-exported-identity")
