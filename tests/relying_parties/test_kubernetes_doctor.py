"""`fedctl doctor` for a Kubernetes cluster: the exported authenticator judged on the real token, then the API server.

End to end with boto3 against the STS and IAM stand-ins; the authenticator is judged with the
project's CEL evaluator, and with ``--server`` a kube-apiserver stand-in answers the
SelfSubjectReview with its own configuration (which may not be the exported one).
"""

from __future__ import annotations

import json

import pytest

from components.relying_parties.kubernetes import rules
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.kube_apiserver import KubeApiServerStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
AUDIENCE = "kubernetes:onprem-prod"
PREFIX = "aws:"
OTHER_ROLE = "arn:aws:iam::123456789012:role/workloads/billing"


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", token_policy_document([AUDIENCE]))]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def configuration(issuer, *roles):
    return rules.authentication_configuration([rules.authenticator(issuer.issuer, AUDIENCE, ACCOUNT, list(roles), PREFIX)])


def run_doctor(capsys, tmp_path, aws, exported_configuration, *extra):
    sts, iam = aws
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"deployer": {"roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
                                                              "kubernetes": {
        "audience": AUDIENCE, "usernames": {"deployer": rules.mapped_username(ROLE_ARN, PREFIX)},
        "authenticationConfiguration": rules.render_yaml(exported_configuration)}}}}))
    code = main(["doctor", "--workload", "deployer", "--outputs", str(outputs), "--json", "--sts-endpoint",
                 sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1", *extra])
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == code
    return code, report


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def test_a_healthy_cluster_trust_passes_every_step_and_exits_0(capsys, tmp_path, issuer, aws):
    with KubeApiServerStandin(configuration(issuer, ROLE_ARN)).serve() as api:
        code, report = run_doctor(capsys, tmp_path, aws, configuration(issuer, ROLE_ARN), "--server", api.url)
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.authenticator": "pass",
        "exchange": "pass"}


def test_without_a_server_the_authenticator_is_judged_and_the_exchange_skipped(capsys, tmp_path, issuer, aws):
    # The exported authenticator passes, but only the API server proves the one it runs: not healthy.
    code, report = run_doctor(capsys, tmp_path, aws, configuration(issuer, ROLE_ARN))
    assert code == 2
    assert (step(report, "trust.authenticator")["status"], step(report, "exchange")["status"]) == ("pass", "skip")


def test_an_authenticator_that_does_not_pin_this_role_is_named(capsys, tmp_path, issuer, aws):
    code, report = run_doctor(capsys, tmp_path, aws, configuration(issuer, OTHER_ROLE))
    trust = step(report, "trust.authenticator")
    assert code == 1 and trust["finding"] == "trust.claim-rule-false"
    assert trust["details"]["namesRole"] is False


def test_a_control_plane_file_other_than_the_exported_one_is_named_by_the_api_server(capsys, tmp_path, issuer, aws):
    with KubeApiServerStandin(configuration(issuer, OTHER_ROLE)).serve() as api:
        code, report = run_doctor(capsys, tmp_path, aws, configuration(issuer, ROLE_ARN), "--server", api.url)
    assert code == 1 and step(report, "trust.authenticator")["status"] == "pass"
    assert step(report, "exchange")["finding"] == "exchange.kubernetes-refused"
