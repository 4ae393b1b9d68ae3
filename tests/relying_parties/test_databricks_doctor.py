"""`fedctl doctor` for Databricks: the service principal's live federation policies, then the token endpoint's answer.

End to end against loopback stand-ins: boto3 for STS and IAM; the Databricks stand-in serves the
account API an account admin reads the policies with (OAuth M2M, then the paged list, as
databricks-sdk 0.162.0 calls it: cross-checked below with the SDK itself) and judges the exchange
by the same policies. Assertions are on step codes, statuses and findings.
"""

from __future__ import annotations

import json

import pytest
from databricks_standin import DatabricksStandin, Policy

from components.relying_parties.databricks.doctor import explain_refusal
from components.rules.errors import ExchangeError
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
DATABRICKS_ACCOUNT = "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11"
APPLICATION = "5b1f8c1e-0000-4000-8000-0000000d0b1c"
SERVICE_PRINCIPAL = 1234567890123456
ADMIN, ADMIN_SECRET = "7c1e0000-0000-4000-8000-00000000ad01", "admin-secret-value"
PATHLESS_ROLE = "arn:aws:iam::123456789012:role/app"  # ROLE_ARN rebuilt from the role's name: its path is lost
OTHER_ROLE = "arn:aws:iam::123456789012:role/workloads/billing"


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    policy = token_policy_document([DATABRICKS_ACCOUNT], 300, ["RS256"])
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", policy)]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


@pytest.fixture
def admin(monkeypatch):
    """An account admin's OAuth client in the environment, as databricks-sdk's oauth-m2m reads it."""
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", ADMIN)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", ADMIN_SECRET)
    for name in ("DATABRICKS_TOKEN", "DATABRICKS_HOST", "DATABRICKS_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)


def databricks_with(*policies, page_size=20):
    return DatabricksStandin(DATABRICKS_ACCOUNT, {APPLICATION: list(policies)},
                             service_principals={SERVICE_PRINCIPAL: APPLICATION}, admins={ADMIN: ADMIN_SECRET},
                             page_size=page_size)


def run_doctor(capsys, tmp_path, aws, databricks, **exported_overrides):
    sts, iam = aws
    with databricks.serve():
        exported = {"audience": DATABRICKS_ACCOUNT, "applicationId": APPLICATION, "accountId": DATABRICKS_ACCOUNT,
                    "servicePrincipalId": SERVICE_PRINCIPAL, "policyIds": ["dev-jobs"],
                    "tokenEndpoint": databricks.account_endpoint, **exported_overrides}
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps({"workloads": {"jobs": {
            "roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
            "databricks": {k: v for k, v in exported.items() if v is not None}}}}))
        code = main(["doctor", "--workload", "jobs", "--outputs", str(outputs), "--json", "--sts-endpoint",
                     sts.endpoint_url, "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1",
                     "--accounts-url", databricks.base_url])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["exitCode"] == code
    return code, report, captured


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


def healthy(issuer):
    return Policy(issuer.issuer, ROLE_ARN, (DATABRICKS_ACCOUNT,), policy_id="dev-jobs")


# -- a healthy trust ------------------------------------------------------------------------------

def test_a_healthy_databricks_trust_passes_every_step_and_exits_0(capsys, tmp_path, issuer, aws, admin):
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(healthy(issuer)))
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.policies": "pass",
        "exchange": "pass"}


def test_doctors_exchange_asks_databricks_for_its_own_scope(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(healthy(issuer))
    run_doctor(capsys, tmp_path, aws, databricks)
    assert databricks.requests[-1]["scope"] == "all-apis"


def test_doctor_prints_neither_the_admin_secret_nor_any_token(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(healthy(issuer))
    _, _, captured = run_doctor(capsys, tmp_path, aws, databricks)
    sts, _ = aws
    for secret in (ADMIN_SECRET, *databricks._admin_tokens, *databricks.access_tokens, *sts.tokens):
        assert secret not in captured.out and secret not in captured.err


# -- 4. the live policies -------------------------------------------------------------------------

def test_a_policy_subject_that_lost_the_role_path_is_shown_character_by_character(capsys, tmp_path, issuer, aws,
                                                                                   admin):
    databricks = databricks_with(Policy(issuer.issuer, PATHLESS_ROLE, (DATABRICKS_ACCOUNT,)))
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks)
    trust = step(report, "trust.policies")
    assert code == 1 and trust["finding"] == "trust.sub-differs"
    difference = trust["details"]["difference"]
    assert (difference["kind"], difference["expected"], difference["actual"]) == ("path-lost", PATHLESS_ROLE, ROLE_ARN)


def test_the_token_endpoints_refusal_of_that_subject_is_explained(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(Policy(issuer.issuer, PATHLESS_ROLE, (DATABRICKS_ACCOUNT,)))
    _, report, _ = run_doctor(capsys, tmp_path, aws, databricks)
    assert step(report, "exchange")["finding"] == "exchange.invalid_client"


def test_a_policy_for_another_audience_is_named(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(Policy(issuer.issuer, ROLE_ARN, ("databricks",)))
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks)
    trust = step(report, "trust.policies")
    assert code == 1 and trust["finding"] == "trust.aud-differs"
    assert trust["details"]["difference"]["expected"] == "databricks"


def test_a_policy_without_audiences_takes_the_account_id(capsys, tmp_path, issuer, aws, admin):
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(Policy(issuer.issuer, ROLE_ARN, ())))
    assert code == 0 and step(report, "trust.policies")["status"] == "pass"


def test_the_closest_of_many_policies_is_the_one_compared(capsys, tmp_path, issuer, aws, admin):
    billing = "arn:aws:iam::123456789012:role/billing"
    databricks = databricks_with(Policy(issuer.issuer, billing, (DATABRICKS_ACCOUNT,), policy_id="billing"),
                                 Policy(issuer.issuer, PATHLESS_ROLE, (DATABRICKS_ACCOUNT,), policy_id="jobs"))
    _, report, _ = run_doctor(capsys, tmp_path, aws, databricks)
    assert step(report, "trust.policies")["details"]["policy"] == "jobs"


def test_every_page_of_policies_is_read(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(Policy(issuer.issuer, OTHER_ROLE, (DATABRICKS_ACCOUNT,)), healthy(issuer),
                                 page_size=1)
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks)
    assert code == 0 and step(report, "trust.policies")["details"]["policy"] == "dev-jobs"
    assert len(databricks.reads) == 2


def test_a_service_principal_the_account_does_not_hold_is_a_finding(capsys, tmp_path, issuer, aws, admin):
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(healthy(issuer)), servicePrincipalId=42)
    assert code == 1 and step(report, "trust.policies")["finding"] == "trust.not-found"


def test_outputs_without_the_account_id_read_it_from_the_account_token_endpoint(capsys, tmp_path, issuer, aws, admin):
    databricks = databricks_with(healthy(issuer))
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks, accountId=None)
    assert code == 0 and databricks.reads[0]["path"].startswith(f"/api/2.0/accounts/{DATABRICKS_ACCOUNT}/")


# -- 4. could not read --------------------------------------------------------------------------------

def test_without_admin_credentials_the_live_read_could_not_check(capsys, tmp_path, issuer, aws, admin, monkeypatch):
    monkeypatch.delenv("DATABRICKS_CLIENT_SECRET")
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(healthy(issuer)))
    trust = step(report, "trust.policies")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.no-read-access")
    assert step(report, "exchange")["status"] == "pass"


def test_a_client_the_account_refuses_could_not_check(capsys, tmp_path, issuer, aws, admin, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "not-the-secret")
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(healthy(issuer)))
    trust = step(report, "trust.policies")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.read-denied")


def test_a_bearer_that_is_not_an_admins_could_not_check(capsys, tmp_path, issuer, aws, admin, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "a-workspace-users-token")
    code, report, _ = run_doctor(capsys, tmp_path, aws, databricks_with(healthy(issuer)))
    trust = step(report, "trust.policies")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.read-denied")


# -- the stand-in serves what databricks-sdk reads ----------------------------------------------------

def test_databricks_sdk_lists_the_same_policies_from_the_stand_in(issuer):
    from databricks.sdk.core import ApiClient, Config
    from databricks.sdk.service.oauth2 import ServicePrincipalFederationPolicyAPI

    databricks = databricks_with(Policy(issuer.issuer, OTHER_ROLE, ()), healthy(issuer), page_size=1)
    with databricks.serve():
        config = Config(host=databricks.base_url, account_id=DATABRICKS_ACCOUNT, client_id=ADMIN,
                        client_secret=ADMIN_SECRET, auth_type="oauth-m2m",
                        discovery_url=f"{databricks.base_url}/oidc/accounts/{DATABRICKS_ACCOUNT}/.well-known/"
                                      "oauth-authorization-server")
        listed = list(ServicePrincipalFederationPolicyAPI(ApiClient(config)).list(SERVICE_PRINCIPAL))
    assert [(p.policy_id, p.oidc_policy.subject, p.oidc_policy.audiences) for p in listed] == [
        ("policy-1", OTHER_ROLE, None), ("dev-jobs", ROLE_ARN, [DATABRICKS_ACCOUNT])]


# -- 5. the token endpoint's answer ---------------------------------------------------------------------

@pytest.mark.parametrize("error", ["invalid_client", "invalid_request", "invalid_grant", "unauthorized_client",
                                   "unsupported_grant_type", "invalid_scope"])
def test_each_oauth_error_keeps_its_own_finding(error):
    refusal = explain_refusal(ExchangeError(f"Databricks refused the AWS token for client {APPLICATION} at "
                                            f"https://accounts.cloud.databricks.com/oidc/v1/token: {error}: words",
                                            code="databricks-refused"))
    assert refusal.finding == f"exchange.{error}"


def test_an_answer_without_an_oauth_error_is_not_explained():
    assert explain_refusal(ExchangeError(f"Databricks refused the AWS token for client {APPLICATION} at "
                                         "https://x/oidc/v1/token: HTTP 502", code="databricks-refused")) is None
