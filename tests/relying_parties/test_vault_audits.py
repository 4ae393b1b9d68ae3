"""The pack's Vault audits: hand-written vault.jwt.* resources on an AWS issuer, and our own."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT

from components.relying_parties.base import AuditedResource
from components.relying_parties.vault import audits
from components.relying_parties.vault import rules as vault_rules
from fedctl.preview.analyzer import PolicyPackServer
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.testing.mocks import Registration

ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
ROLE_ARN = "arn:aws:iam::123456789012:role/workloads/reports"
BACKEND = "vault:jwt/authBackend:AuthBackend"
ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
MOUNT = {"path": "aws", "oidcDiscoveryUrl": ISSUER, "boundIssuer": ISSUER, "jwtSupportedAlgs": ["RS256", "ES384"]}
PINNED = {"backend": "aws", "roleName": "reports", "roleType": "jwt", "userClaim": "sub", "boundAudiences": ["vault"],
          "boundSubject": ROLE_ARN, "boundClaims": {vault_rules.ACCOUNT_POINTER: "123456789012"},
          "disableBoundClaimsParsing": True}


def mount(**changes):
    return AuditedResource(BACKEND, "mount", {k: v for k, v in {**MOUNT, **changes}.items() if v is not None},
                           urn="urn:mount")


def role(**changes):
    return AuditedResource(ROLE, "role", {k: v for k, v in {**PINNED, **changes}.items() if v is not None},
                           urn="urn:role")


def codes(found):
    return sorted(v.code for v in found)


def role_codes(*resources, **changes):
    return sorted(v.code for _, v in audits.roles_violations([mount(), *resources, role(**changes)], {}))


# -- mounts --------------------------------------------------------------------------------------------

def test_a_mount_binding_the_aws_issuer_passes():
    assert audits.backend_violations(mount(), {}) == []


def test_a_mount_without_bound_issuer_is_refused():
    assert codes(audits.backend_violations(mount(boundIssuer=None), {})) == ["vault.backend.no-bound-issuer"]


def test_a_bound_issuer_other_than_the_discovery_url_is_refused():
    assert codes(audits.backend_violations(mount(boundIssuer=ISSUER.replace("a1d2", "ffff")), {})) == [
        "vault.backend.issuer-mismatch"]


def test_a_bound_issuer_with_a_trailing_slash_is_refused():
    assert "aws.issuer.trailing-slash" in codes(audits.backend_violations(mount(boundIssuer=ISSUER + "/"), {}))


def test_unpinned_algorithms_are_advice():
    [found] = audits.backend_violations(mount(jwtSupportedAlgs=None), {})
    assert (found.code, found.severity) == ("vault.backend.algorithms-unpinned", "warning")


def test_a_mount_of_another_issuer_is_not_ours_to_judge():
    assert audits.backend_violations(mount(oidcDiscoveryUrl="https://token.actions.githubusercontent.com",
                                           boundIssuer=None), {}) == []


# -- roles ---------------------------------------------------------------------------------------------

def test_a_pinned_role_passes():
    assert role_codes() == []


def test_a_role_left_to_the_oidc_default_is_refused():
    assert role_codes(roleType=None) == ["vault.role.type"]


def test_a_role_pinning_neither_account_nor_subject_is_refused():
    assert role_codes(boundSubject=None, boundClaims=None) == ["vault.role.account-unpinned",
                                                               "vault.role.roles-unpinned"]


def test_a_role_pinning_the_account_only_through_sub_is_advice():
    [(_, found)] = audits.roles_violations([mount(), role(boundClaims=None)], {})
    assert (found.code, found.severity) == ("vault.role.account-unpinned", "warning")


def test_a_glob_on_sub_is_refused():
    claims = {vault_rules.ACCOUNT_POINTER: "123456789012", "sub": "arn:aws:iam::123456789012:role/workloads/*"}
    assert "vault.role.glob-sub" in role_codes(boundSubject=None, boundClaimsType="glob", boundClaims=claims)


def test_an_account_glob_is_no_pin():
    claims = {vault_rules.ACCOUNT_POINTER: "1234*"}
    assert role_codes(boundClaimsType="glob", boundClaims=claims) == ["vault.role.account-unpinned"]


def test_an_unescaped_pointer_is_refused():
    claims = {"/https://sts.amazonaws.com//aws_account": "123456789012"}
    assert "vault.claim-key.unescaped" in role_codes(boundClaims=claims)


def test_mapping_a_list_claim_is_refused():
    mappings = {vault_rules.aws_pointer("ou_path"): "ou"}
    assert role_codes(claimMappings=mappings) == ["vault.claim-mappings.non-scalar"]


def test_a_comma_the_provider_splits_is_advice():
    claims = {vault_rules.ACCOUNT_POINTER: "123456789012,210987654321"}
    assert role_codes(boundClaims=claims, disableBoundClaimsParsing=False) == ["vault.bound-claims.split"]


def test_a_subject_the_account_pin_excludes_is_refused():
    assert role_codes(boundSubject=ROLE_ARN.replace("123456789012", "210987654321")) == ["vault.role.account-mismatch"]


def test_a_role_on_a_mount_of_another_issuer_is_not_ours_to_judge():
    other = AuditedResource(BACKEND, "m", {"path": "aws", "oidcDiscoveryUrl": "https://token.actions.githubusercontent.com"})
    assert audits.roles_violations([other, role(roleType=None)], {}) == []


def test_a_role_about_aws_on_a_mount_outside_the_stack_is_judged():
    assert [v.code for _, v in audits.roles_violations([role(roleType=None)], {})] == ["vault.role.type"]


# -- through the pack, as the CLI runs it ----------------------------------------------------------------

@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(ROOT / "policy", project="p", stack="dev") as server:
        yield server


def registration(type_, name, inputs):
    return Registration(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name, custom=True, parent="",
                        inputs=inputs, outputs=inputs)


def test_the_pack_refuses_a_hand_written_mount_without_bound_issuer(pack):
    verdicts = pack.analyze(registration(BACKEND, "open", {**MOUNT, "boundIssuer": None}))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("vault-jwt-issuer-bound", "mandatory")]


def test_the_pack_refuses_a_hand_written_glob_on_sub(pack):
    claims = {vault_rules.ACCOUNT_POINTER: "123456789012", "sub": "arn:aws:iam::123456789012:role/*"}
    verdicts = pack.analyze_stack([registration(BACKEND, "m", MOUNT), registration(ROLE, "r", {
        **PINNED, "boundSubject": None, "boundClaimsType": "glob", "boundClaims": claims})])
    assert ("vault-jwt-roles-pinned", "mandatory") in [(v.policy, v.enforcement) for v in verdicts]


def test_the_pack_finds_nothing_in_what_the_component_plans(pack):
    project = load_project(ROOT, "dev")
    workloads = [{"name": "reader", "trustedServices": ["lambda.amazonaws.com"],
                  "vault": {"address": "https://vault.example.com", "policies": ["r"], "orgId": "o-exampleorg1"}}]
    run = run_program(replace(project, config={**project.config,
                                               "outbound-federation:workloads": json.dumps(workloads)}))
    vault = [r for r in run.monitor.registrations.values() if r.type.startswith("vault:")]
    assert len(vault) == 2
    assert [v for v in pack.analyze_stack(vault) if v.policy.startswith("vault")] == []
    assert [v for r in vault for v in pack.analyze(r) if v.policy.startswith("vault")] == []
