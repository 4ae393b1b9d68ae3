"""Vault rules and builders: pointers, the audience rule, pulumi-vault's comma splitting, the config checks,
and Vault's login by its documented rules (the judge used when no OpenBao server is installed)."""

import time

import pytest

from components.relying_parties.vault import api
from components.relying_parties.vault import rules as vault
from components.relying_parties.vault.login import evaluate
from components.stack.config import parse_stack_config
from components.rules import ValidationError
from fedctl.testing.issuer import LocalIssuer

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::123456789012:role/outbound/reader"
ISSUER = "https://0b1f6a4e-3c2d-4e5f-9a8b-7c6d5e4f3a2b.tokens.sts.global.api.aws"
ADDRESS = "https://vault.example.com:8200"
BASE = {"address": ADDRESS, "issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"reader": ROLE},
        "policies": ["reader"]}
TEAM = vault.aws_pointer("principal_tags", "Team")


def codes(found):
    return sorted(v.code for v in found)


def check(**changes):
    return codes(vault.check_vault_trust_args({**BASE, **changes}))


# -- pointers and the audience rule -------------------------------------------------------------------

def test_the_aws_namespace_is_one_escaped_pointer_segment():
    assert vault.aws_pointer("aws_account") == "/https:~1~1sts.amazonaws.com~1/aws_account"


def test_a_pointer_resolves_nested_claims_and_plain_keys_are_top_level():
    claims = {"sub": "s", "https://sts.amazonaws.com/": {"principal_tags": {"Team": "platform"}}}
    assert vault.claim_at(claims, TEAM) == (True, "platform")
    assert vault.claim_at(claims, "sub") == (True, "s")
    assert vault.claim_at(claims, "/https://sts.amazonaws.com//principal_tags/Team")[0] is False


@pytest.mark.parametrize("pointer", ["/a~2b", "/https://sts.amazonaws.com//aws_account", "/", "no-slash", "/a//b"])
def test_a_malformed_pointer_has_no_segments(pointer):
    assert vault.pointer_segments(pointer) is None


def test_the_default_audience_is_the_mounts_login_url():
    assert vault.vault_audience(ADDRESS + "/", "aws-dev-x") == f"{ADDRESS}/v1/auth/aws-dev-x"


def test_an_explicit_audience_wins():
    assert vault.vault_audience(ADDRESS, "m", "vault://prod") == "vault://prod"


def test_the_existing_mount_decides_the_mount_path():
    assert vault.mount_path_of("t", {"existing_mount_path": "jwt-aws"}) == "jwt-aws"
    assert vault.mount_path_of("t", {}) == "aws-t"


# -- pulumi-vault's comma splitting -----------------------------------------------------------------

def test_one_value_per_claim_disables_parsing_so_a_comma_stays_literal():
    claims, disable = vault.provider_bound_claims({"/p": ["arn:aws:iam::1:role/a,b"]})
    assert (claims, disable) == ({"/p": "arn:aws:iam::1:role/a,b"}, True)
    assert vault.written_bound_claims(claims, disable) == {"/p": ["arn:aws:iam::1:role/a,b"]}


def test_several_values_are_joined_and_split_back_by_the_provider():
    claims, disable = vault.provider_bound_claims({"/p": ["a", "b"], "/q": ["c"]})
    assert vault.written_bound_claims(claims, disable) == {"/p": ["a", "b"], "/q": ["c"]}


def test_the_provider_splits_and_trims_unless_told_not_to():
    assert vault.written_bound_claims({"/p": " a , b "}, False) == {"/p": ["a", "b"]}
    assert vault.written_bound_claims({"/p": " a , b "}, True) == {"/p": ["a , b"]}


def test_a_comma_inside_one_of_several_values_is_refused():
    assert check(bound_claims={TEAM: ["a,b", "c"]}) == ["vault.bound-claims.comma"]


def test_a_comma_inside_the_only_value_is_fine():
    assert check(bound_claims={TEAM: ["a,b"]}) == []


def test_the_claims_only_the_account_can_show_satisfy_the_pins():
    claims = vault.role_bound_claims(ACCOUNT, "o-a1b2c3d4e5", ["o-a1b2c3d4e5/r-ab12/*"], {TEAM: ["platform"]})
    assert vault.account_claims(claims, glob=True) == {
        "org_id": "o-a1b2c3d4e5", "ou_path": ["o-a1b2c3d4e5/r-ab12/"], "principal_tags": {"Team": "platform"}}


# -- the config checks --------------------------------------------------------------------------------

def test_a_complete_trust_passes():
    assert check(org_id="o-a1b2c3d4e5", ou_paths=["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"],
                 claim_mappings={TEAM: "team"}, token_ttl=600, token_max_ttl=1200) == []


def test_address_and_policies_are_required():
    found = vault.check_vault_trust_args({k: v for k, v in BASE.items() if k not in ("address", "policies")})
    assert codes(found) == ["vault.args.missing", "vault.args.missing"]


def test_the_root_policy_is_refused():
    assert check(policies=["root"]) == ["vault.policy.root"]


def test_an_upper_case_policy_is_a_warning_vault_lowers_it():
    [found] = vault.check_vault_trust_args({**BASE, "policies": ["Reader"]})
    assert (found.code, found.severity) == ("vault.policy.case", "warning")


def test_a_ttl_over_its_max_is_refused():
    assert check(token_ttl=900, token_max_ttl=600) == ["vault.token-ttl.over-max"]


def test_a_mount_and_an_existing_mount_conflict():
    assert check(mount_path="a", existing_mount_path="b") == ["vault.mount.conflict"]


@pytest.mark.parametrize("path", ["/aws", "aws/", "a b", "token"])
def test_a_mount_path_vault_cannot_take_is_refused(path):
    assert check(mount_path=path)[0].startswith("vault.mount-path.")


def test_sub_is_never_a_bound_claim():
    assert check(bound_claims={"sub": ["arn:aws:iam::123456789012:role/*"]}) == ["vault.bound-claims.sub"]


def test_the_account_org_and_ou_pins_come_from_their_own_settings():
    assert check(bound_claims={vault.ACCOUNT_POINTER: [ACCOUNT]}) == ["vault.bound-claims.reserved"]


def test_an_unescaped_aws_pointer_is_refused_with_the_fix():
    [found] = vault.check_vault_trust_args({**BASE, "bound_claims": {"/https://sts.amazonaws.com//principal_tags/Team":
                                                                     ["x"]}})
    assert found.code == "vault.claim-key.unescaped" and TEAM in found.rule


def test_a_bad_escape_in_a_pointer_is_refused():
    assert check(bound_claims={"/a~2b": ["x"]}) == ["vault.claim-key.pointer"]


def test_a_star_without_glob_is_a_warning_that_it_is_literal():
    assert check(bound_claims={TEAM: ["plat*"]}) == ["vault.bound-claims.literal-star"]


def test_a_glob_that_matches_everything_is_refused():
    assert check(bound_claims_type="glob", bound_claims={TEAM: ["*"]}) == ["vault.bound-claims.match-all"]


def test_a_glob_ou_path_needs_glob_matching():
    assert check(ou_paths=["o-a1b2c3d4e5/r-ab12/*"]) == ["vault.ou-path.literal-star"]
    assert check(ou_paths=["o-a1b2c3d4e5/r-ab12/*"], bound_claims_type="glob") == []


@pytest.mark.parametrize("claim", [vault.aws_pointer("ou_path"), vault.aws_pointer("principal_tags"),
                                   vault.aws_pointer("request_tags"), "aud", "/https:~1~1sts.amazonaws.com~1"])
def test_mapping_a_list_or_object_claim_is_refused(claim):
    assert check(claim_mappings={claim: "x"}) == ["vault.claim-mappings.non-scalar"]


def test_mapping_onto_the_role_metadata_key_is_refused():
    assert check(claim_mappings={TEAM: "role"}) == ["vault.claim-mappings.reserved"]


def test_mapping_two_claims_onto_one_key_is_refused():
    assert check(claim_mappings={TEAM: "aws_account"}) == ["vault.claim-mappings.duplicate"]


def test_a_role_of_another_account_is_refused():
    assert check(subjects={"reader": ROLE.replace(ACCOUNT, "210987654321")}) == ["aws.subject.other-account"]


def test_a_role_name_vault_cannot_take_is_refused():
    assert check(subjects={"-reader": ROLE}) == ["vault.role-name.format"]


def test_plain_http_to_a_remote_vault_is_a_warning():
    [found] = vault.check_vault_trust_args({**BASE, "address": "http://vault.internal:8200"})
    assert (found.code, found.severity) == ("vault.address.plain-http", "warning")


# -- through the stack config: errors name the config path -------------------------------------------

LAMBDA = {"name": "reader", "trustedServices": ["lambda.amazonaws.com"]}


def test_the_stack_reports_a_broken_setting_with_its_config_path():
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, [{**LAMBDA, "vault": {"address": ADDRESS, "policies": ["root"]}}], "dev")
    assert [(v.field, v.code) for v in refused.value.violations] == [("workloads[0].vault.policies[0]",
                                                                      "vault.policy.root")]


def test_the_stack_spells_bound_claims_as_written():
    with pytest.raises(ValidationError) as refused:
        parse_stack_config({}, [{**LAMBDA, "vault": {"address": ADDRESS, "policies": ["r"],
                                                     "boundClaims": {"sub": ["x"]}}}], "dev")
    assert [v.field for v in refused.value.violations] == ["workloads[0].vault.boundClaims.sub"]


def test_each_workload_gets_its_own_mount_by_default():
    spec = parse_stack_config({}, [{**LAMBDA, "vault": {"address": ADDRESS, "policies": ["r"]}},
                                   {**LAMBDA, "name": "writer", "vault": {"address": ADDRESS, "policies": ["r"]}}], "dev")
    assert [p.settings["mount_path"] for p in spec.relying_parties] == ["aws-dev-reader", "aws-dev-writer"]


def test_workloads_naming_one_mount_share_it():
    section = {"address": ADDRESS, "policies": ["r"], "mountPath": "aws"}
    spec = parse_stack_config({}, [{**LAMBDA, "vault": section}, {**LAMBDA, "name": "writer", "vault": section}], "dev")
    [party] = spec.relying_parties
    assert party.workloads == ["reader", "writer"]


# -- Vault's login by its documented rules --------------------------------------------------------------

@pytest.fixture(scope="module")
def issuer():
    return LocalIssuer(ISSUER)


def planned(**role_changes):
    backend = {"path": "aws", "oidcDiscoveryUrl": ISSUER, "boundIssuer": ISSUER, "jwtSupportedAlgs": ["RS256", "ES384"]}
    claims, disable = vault.provider_bound_claims(vault.role_bound_claims(ACCOUNT))
    role = {"backend": "aws", "roleName": "reader", "roleType": "jwt", "userClaim": "sub", "boundAudiences": ["aud"],
            "boundSubject": ROLE, "boundClaimsType": "string", "boundClaims": claims,
            "disableBoundClaimsParsing": disable, "claimMappings": vault.claim_mappings(), "tokenPolicies": ["reader"],
            "tokenTtl": 900.0}
    role.update(role_changes)
    return api.config_body(backend), api.role_body(role)


def judged(issuer, token, **role_changes):
    config, role = planned(**role_changes)
    return evaluate(config, role, token, issuer.jwks())


def test_the_rules_accept_the_intended_role_with_its_policies(issuer):
    verdict = judged(issuer, issuer.mint(ROLE, "aud"))
    assert verdict.accepted and "default, reader" in verdict.reason


def test_the_rules_refuse_the_neighbour_by_its_subject(issuer):
    verdict = judged(issuer, issuer.mint(ROLE.replace("reader", "writer"), "aud"))
    assert verdict.reason == "error validating token: invalid subject (sub) claim"


def test_the_rules_refuse_a_token_without_aws_account(issuer):
    token = issuer.mint(ROLE, "aud", extra_claims={"https://sts.amazonaws.com/": {"source_region": "us-east-1"}})
    assert "is missing" in judged(issuer, token).reason


def test_the_rules_refuse_every_login_to_an_oidc_role(issuer):
    assert judged(issuer, issuer.mint(ROLE, "aud"), roleType=None).reason == "role with oidc role_type is not allowed"


def test_the_rules_allow_sixty_seconds_of_clock_skew_on_exp(issuer):
    assert judged(issuer, issuer.mint(ROLE, "aud", now=time.time() - 355, lifetime=300)).accepted
    assert not judged(issuer, issuer.mint(ROLE, "aud", now=time.time() - 370, lifetime=300)).accepted


def test_the_rules_break_every_login_of_a_role_mapping_a_list(issuer):
    verdict = judged(issuer, issuer.mint(ROLE, "aud"), claimMappings={vault.aws_pointer("ou_path"): "ou"})
    assert verdict.reason.startswith("error converting claim")


def test_the_rules_match_any_element_of_a_list_claim(issuer):
    claims, disable = vault.provider_bound_claims(vault.role_bound_claims(ACCOUNT, ou_paths=issuer.ou_path))
    assert judged(issuer, issuer.mint(ROLE, "aud"), boundClaims=claims, disableBoundClaimsParsing=disable).accepted


def test_the_rules_without_bound_issuer_check_no_iss(issuer):
    forged_issuer = LocalIssuer("https://evil.example")
    forged_issuer._keys, forged_issuer._current = issuer._keys, issuer._current  # same keys, another iss
    token = forged_issuer.mint(ROLE, "aud")
    config, role = planned()
    assert not evaluate(config, role, token, issuer.jwks()).accepted
    assert evaluate({k: v for k, v in config.items() if k != "bound_issuer"}, role, token, issuer.jwks()).accepted
