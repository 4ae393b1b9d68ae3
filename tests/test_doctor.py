"""`fedctl doctor`, AWS's side (steps 1-3), end to end against loopback STS, IAM and Entra stand-ins.

Each test breaks the trust in one place and checks that doctor names that place: by the step's
code and status and the finding's code, never by wording. The relying party is an Entra app (the
stand-in judges its federated credentials); its live configuration is not read here
(``--no-live-read``): tests/relying_parties/test_azure_doctor.py covers that.
"""

from __future__ import annotations

import json

import pytest

from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.entra import EntraStandin
from fedctl.testing.standins.iam import IamStandin, stored_text
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
CLIENT = "5b1f8c1e-0000-4000-8000-00000000c1d0"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://AzureADTokenExchange"
TOKEN_POLICY = token_policy_document([AUDIENCE], 300, ["RS256"])
OTHER_ROLE = "arn:aws:iam::123456789012:role/workloads/billing"


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def iam(issuer, aws_env):
    with IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", TOKEN_POLICY)]}).serve() as standin:
        yield standin


@pytest.fixture
def entra(issuer, monkeypatch):
    with EntraStandin({CLIENT: [(issuer.issuer, ROLE_ARN, AUDIENCE)]}).serve() as standin:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_bundle)
        yield standin


def outputs_file(tmp_path, issuer, **workload_overrides):
    workload = {"roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT, "tokenPolicy": json.dumps(TOKEN_POLICY),
                "azureApp": {"clientId": CLIENT, "tenantId": TENANT, "audience": AUDIENCE}, **workload_overrides}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"issuer": issuer, "accountId": ACCOUNT, "workloads": {"reports": workload}}))
    return path


def doctor(capsys, outputs, sts, iam, entra=None, *extra):
    args = ["doctor", "--workload", "reports", "--outputs", str(outputs), "--json", "--no-live-read",
            "--sts-endpoint", sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1",
            *(["--authority", entra.authority] if entra else []), *extra]
    code = main(args)
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["exitCode"] == code
    return code, report, captured


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def statuses(report):
    return {s["code"]: s["status"] for s in report["steps"]}


# -- every step passes ----------------------------------------------------------------------------

def test_a_healthy_trust_passes_every_aws_step_and_exits_0(capsys, issuer, iam, entra, tmp_path):
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam, entra)
    assert code == 0 and report["verdict"] == "healthy"
    assert statuses(report) == {"caller": "pass", "federation": "pass", "token": "pass", "claims": "pass",
                                "trust": "skip", "exchange": "pass"}


def test_doctor_never_prints_the_token_or_the_access_token(capsys, issuer, iam, entra, tmp_path):
    with StsStandin(issuer, iam=iam).serve() as sts:
        main(["doctor", "--workload", "reports", "--outputs", str(outputs_file(tmp_path, issuer.issuer)),
              "--no-live-read", "--sts-endpoint", sts.endpoint_url, "--iam-endpoint", iam.endpoint_url,
              "--authority", entra.authority])
    captured = capsys.readouterr()
    assert sts.tokens and entra.access_tokens
    for secret in (*sts.tokens, *entra.access_tokens):
        assert secret not in captured.out and secret not in captured.err


# -- 1. who am I ----------------------------------------------------------------------------------

def test_another_role_of_the_account_is_named_and_nothing_is_minted(capsys, issuer, iam, tmp_path):
    with StsStandin(issuer, role_arn=OTHER_ROLE, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 1
    assert step(report, "caller")["finding"] == "caller.other-role"
    assert statuses(report)["token"] == "skip" and sts.calls == 0


def test_a_federated_user_session_is_named(capsys, issuer, iam, tmp_path):
    with StsStandin(issuer, caller_arn=f"arn:aws:sts::{ACCOUNT}:federated-user/alice", iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 1 and step(report, "caller")["finding"] == "caller.federated-user"


def test_a_caller_in_another_account_stops_before_federation(capsys, issuer, iam, tmp_path):
    with StsStandin(issuer, role_arn="arn:aws:iam::210987654321:role/workloads/app", iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 1 and step(report, "caller")["finding"] == "caller.other-account"
    assert statuses(report)["federation"] == "skip" and iam.calls == []


def test_no_aws_credentials_means_doctor_could_not_check(capsys, issuer, iam, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 2 and report["verdict"] == "unchecked"
    assert step(report, "caller")["finding"] == "caller.no-credentials"


# -- 2. is federation on --------------------------------------------------------------------------

def test_federation_off_is_a_finding_and_stops_minting(capsys, issuer, iam, tmp_path):
    iam.enabled = False
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 1 and step(report, "federation")["finding"] == "federation.off"
    assert statuses(report)["token"] == "skip" and sts.calls == 0


def test_an_issuer_other_than_the_exported_one_is_shown_character_by_character(capsys, issuer, iam, entra, tmp_path):
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer + "/"), sts, iam, entra)
    federation = step(report, "federation")
    assert code == 1 and federation["finding"] == "federation.issuer-differs"
    assert federation["details"]["difference"]["kind"] == "trailing-slash"


def test_when_iam_cannot_be_asked_the_issuer_comes_from_the_tokens_iss(capsys, issuer, iam, entra, tmp_path):
    iam.denied.add("GetOutboundWebIdentityFederationInfo")
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam, entra)
    federation = step(report, "federation")
    assert code == 0 and federation["status"] == "pass"
    assert federation["details"] == {"issuer": issuer.issuer, "source": "token"}


# -- 3. mint --------------------------------------------------------------------------------------

DENY_OTHER_AUDIENCES = {"Sid": "DenyTokensForEntra", "Effect": "Deny", "Action": "sts:GetWebIdentityToken",
                        "Resource": "*", "Condition": {"ForAnyValue:StringEquals": {"sts:IdentityTokenAudience": [AUDIENCE]}}}


def test_a_refusal_by_the_token_policy_names_the_statement_by_simulation(capsys, issuer, iam, tmp_path):
    policy = {"Version": "2012-10-17", "Statement": [*TOKEN_POLICY["Statement"], DENY_OTHER_AUDIENCES]}
    iam.policies[ROLE_ARN] = [("token-policy", "role", policy)]
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    simulation = step(report, "token.simulation")
    assert code == 1 and step(report, "token")["finding"] == "token.denied.identity-policy-deny"
    assert simulation["finding"] == "simulation.explicit-deny"
    (matched,) = simulation["details"]["matchedStatements"]
    assert (matched["policy"], matched["policyType"]) == ("token-policy", "role")
    named = stored_text(policy).splitlines()[matched["start"]["Line"] - 1:matched["end"]["Line"]]
    assert json.loads("\n".join(named).rstrip(","))["Sid"] == "DenyTokensForEntra"


def test_an_implicit_deny_is_explained_from_the_exported_token_policy(capsys, issuer, iam, tmp_path):
    stale = token_policy_document(["https://api.example.com"], 300, ["RS256"])
    iam.policies[ROLE_ARN] = [("token-policy", "role", stale)]
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer, tokenPolicy=json.dumps(stale)), sts, iam)
    simulation = step(report, "token.simulation")
    assert code == 1 and step(report, "token")["finding"] == "token.denied.identity-policy"
    assert simulation["finding"] == "simulation.implicit-deny"
    assert "sts:IdentityTokenAudience" in simulation["details"]["exportedTokenPolicy"]
    assert iam.simulations[-1]["context"]["sts:identitytokenaudience"] == [AUDIENCE]


def test_a_refusal_by_an_scp_keeps_awss_message_and_is_not_simulated(capsys, issuer, iam, tmp_path):
    iam.scps.append(("p-guardrails", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "sts:GetWebIdentityToken", "Resource": "*",
        "Condition": {"ForAnyValue:StringNotEquals": {"sts:IdentityTokenAudience": ["https://api.example.com"]}}}]}))
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    token = step(report, "token")
    assert code == 1 and token["finding"] == "token.denied.service-control-policy"
    assert "service control policy" in token["details"]["awsMessage"]
    assert "token.simulation" not in statuses(report) and iam.simulations == []


def test_a_simulation_the_caller_may_not_run_is_skipped_saying_why(capsys, issuer, iam, tmp_path):
    iam.policies[ROLE_ARN] = [("token-policy", "role", token_policy_document(["https://api.example.com"]))]
    iam.denied.add("SimulatePrincipalPolicy")
    with StsStandin(issuer, iam=iam).serve() as sts:
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    simulation = step(report, "token.simulation")
    assert code == 1 and (simulation["status"], simulation["finding"]) == ("skip", "simulation.denied")


def test_a_role_session_shorter_than_the_token_is_named(capsys, issuer, iam, tmp_path):
    with StsStandin(issuer, iam=iam).serve() as sts:
        sts.fail_with("SessionDurationEscalationException", "The requested DurationSeconds exceeds the session")
        code, report, _ = doctor(capsys, outputs_file(tmp_path, issuer.issuer), sts, iam)
    assert code == 1 and step(report, "token")["finding"] == "token.session-too-short"


# -- the outputs ----------------------------------------------------------------------------------

def test_an_unknown_workload_means_doctor_could_not_check(capsys, issuer, iam, tmp_path):
    with StsStandin(issuer, iam=iam).serve() as sts:
        code = main(["doctor", "--workload", "nope", "--outputs", str(outputs_file(tmp_path, issuer.issuer)),
                     "--json", "--sts-endpoint", sts.endpoint_url, "--iam-endpoint", iam.endpoint_url])
    report = json.loads(capsys.readouterr().out)
    assert code == 2 and report["steps"][0]["finding"] == "outputs.unknown-workload"


def test_unreadable_outputs_exit_2(capsys, tmp_path):
    broken = tmp_path / "outputs.json"
    broken.write_text("{not json")
    assert main(["doctor", "--workload", "reports", "--outputs", str(broken), "--region", "us-east-1"]) == 2


def test_a_botocore_without_the_federation_lookup_reads_the_issuer_from_the_token(issuer, iam, entra, tmp_path):
    import argparse
    import types

    from fedctl.doctor import doctor

    old_iam = types.SimpleNamespace(meta=types.SimpleNamespace(endpoint_url="https://iam.amazonaws.com"),
                                    simulate_principal_policy=iam.client().simulate_principal_policy)
    outputs = json.loads(outputs_file(tmp_path, issuer.issuer).read_text())
    options = argparse.Namespace(authority=entra.authority, wait=0, no_live_read=True, relying_party=None)
    with StsStandin(issuer, iam=iam).serve() as sts:
        report = doctor(outputs, "reports", options, sts_client=sts.client(), iam_client=old_iam)
    federation = report.step("federation")
    assert report.exit_code == 0 and (federation.status, federation.details["source"]) == ("pass", "token")
