"""The Kubernetes kind's pure parts: its builders, its rules (by code), its CEL dialect and its pack audits."""

from __future__ import annotations

import pytest
from judges.cel import aws_claims

from components.relying_parties.base import AuditedResource
from components.relying_parties.kubernetes import audits, rules
from components.relying_parties.kubernetes.cel import KubernetesCel
from components.relying_parties.kubernetes.facts import AKS_AUTHENTICATOR_TYPE, GA_API_VERSION
from components.rules.facts import AWS_CLAIMS
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
DEPLOYER = "arn:aws:iam::123456789012:role/teams/platform/deployer"
OTHER = "arn:aws:iam::123456789012:role/teams/platform/other"
ODD_PATH = "arn:aws:iam::123456789012:role/odd:pa'th\"/x\\y/deployer2"
BASE = {"cluster_name": "prod-eu", "issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"deployer": DEPLOYER}}


def codes(found):
    return sorted(v.code for v in found)


def entry(*roles, prefix="aws:", tag=None):
    return rules.authenticator(ISSUER, "kubernetes:prod-eu", ACCOUNT, list(roles) or [DEPLOYER], prefix, tag)


@pytest.fixture(scope="module")
def cel():
    return KubernetesCel()


# -- the audience, names and the rendered file --------------------------------------------------------

def test_the_default_audience_is_one_per_cluster():
    assert rules.audience_for({"cluster_name": "prod-eu"}) == "kubernetes:prod-eu"


def test_an_explicit_audience_wins():
    assert rules.audience_for({"cluster_name": "prod-eu", "audience": "https://k8s.example.com"}) == "https://k8s.example.com"


def test_the_default_prefix_is_aws_and_on_aks_it_carries_the_aks_prefix():
    assert rules.username_prefix_for({}) == "aws:"
    assert rules.username_prefix_for({"aks_resource_group_name": "rg"}) == "aks:jwt:aws:"


def test_the_rendered_file_is_a_ga_authentication_configuration_with_one_authenticator():
    import yaml

    configuration = yaml.safe_load(rules.render_yaml(rules.authentication_configuration([entry()])))
    assert configuration["apiVersion"] == GA_API_VERSION == "apiserver.config.k8s.io/v1"
    assert configuration["kind"] == "AuthenticationConfiguration"
    [authenticator] = configuration["jwt"]
    assert authenticator["issuer"] == {"url": ISSUER, "audiences": ["kubernetes:prod-eu"]}


def test_the_username_mapping_is_an_expression_without_a_prefix_field():
    username = entry()["claimMappings"]["username"]
    assert set(username) == {"expression"}


def test_the_rules_read_the_aws_claims_by_index():
    [account_rule, _] = entry()["claimValidationRules"]
    assert f'claims["{AWS_CLAIMS}"].aws_account == "{ACCOUNT}"' in account_rule["expression"]


# -- the CEL, evaluated by cel-python -------------------------------------------------------------------

def test_the_username_is_the_account_and_role_name_under_the_prefix(cel):
    ok, user = cel.judge(entry(), aws_claims(DEPLOYER))
    assert ok and user["username"] == "aws:123456789012:deployer" == rules.mapped_username(DEPLOYER, "aws:")


def test_a_path_with_colons_quotes_and_backslashes_maps_and_matches_exactly(cel):
    ok, user = cel.judge(entry(ODD_PATH), aws_claims(ODD_PATH))
    assert ok and user["username"] == rules.mapped_username(ODD_PATH, "aws:") == "aws:123456789012:deployer2"


def test_a_neighbouring_role_fails_the_role_rule(cel):
    ok, why = cel.judge(entry(), aws_claims(OTHER))
    assert not ok and why.startswith("claim_validation")


def test_another_accounts_token_fails_the_account_rule(cel):
    ok, why = cel.judge(entry(), aws_claims(DEPLOYER, account_id="210987654321"))
    assert not ok and "210987654321" not in why and why.startswith("claim_validation")


def test_a_token_without_the_aws_claims_is_rejected_cleanly(cel):
    claims = {k: v for k, v in aws_claims(DEPLOYER).items() if k != AWS_CLAIMS}
    assert cel.judge(entry(), claims)[0] is False


def test_groups_come_from_the_principal_tag(cel):
    ok, user = cel.judge(entry(tag="team"), aws_claims(DEPLOYER, principal_tags={"team": "platform"}))
    assert ok and user["groups"] == ["aws:team:platform"] == [rules.group_name("aws:", "team", "platform")]


def test_a_role_without_the_tag_gets_no_group_and_still_signs_in(cel):
    ok, user = cel.judge(entry(tag="team"), aws_claims(DEPLOYER))
    assert ok and user["groups"] == []


def test_an_empty_username_rejects(cel):
    broken = {**entry(), "claimMappings": {"username": {"expression": '""'}}}
    assert cel.judge(broken, aws_claims(DEPLOYER)) == (False, "claim_mapping: the username mapping gives an empty username")


def test_a_false_user_validation_rule_rejects(cel):
    guarded = {**entry(), "userValidationRules": [{"expression": "!user.username.startsWith('aws:')", "message": "no"}]}
    assert cel.judge(guarded, aws_claims(DEPLOYER)) == (False, "user_validation: no")


def test_a_mapping_that_fails_to_evaluate_rejects(cel):
    broken = {**entry(), "claimMappings": {"username": {"expression": "claims.nope"}}}
    assert cel.judge(broken, aws_claims(DEPLOYER))[0] is False


@pytest.mark.parametrize("expression, value", [
    ("'AbC-ß'.lowerAscii()", "abc-ß"),
    ("'abc'.upperAscii()", "ABC"),
    ("'hello'.substring(1, 3)", "el"),
    ("'hello'.substring(2)", "llo"),
    ("'a/b/c'.indexOf('/')", 1),
    ("'a/b/c'.indexOf('/', 2)", 3),
    ("'a/b/c'.lastIndexOf('/')", 3),
    ("'a/b/c'.lastIndexOf('/', 2)", 1),
    ("'abc'.lastIndexOf('x')", -1),
    ("['a', 'b'].join('-')", "a-b"),
    ("['a', 'b'].join()", "ab"),
    ("claims.sub.substring(claims.sub.lastIndexOf('/') + 1)", "deployer"),
])
def test_the_strings_extension_follows_cel_go(cel, expression, value):
    assert cel.evaluate(expression, {"sub": DEPLOYER}) == value


def test_a_substring_out_of_range_is_an_error(cel):
    with pytest.raises(cel.CelError):
        cel.evaluate("'abc'.substring(2, 9)", {})


# -- rules, by code -------------------------------------------------------------------------------------

def test_good_args_pass():
    assert rules.check_kubernetes_trust_args(BASE) == []


@pytest.mark.parametrize("change, code", [
    ({"cluster_name": "prod eu"}, "kubernetes.cluster-name.format"),
    ({"audience": "kubernetes:*"}, "kubernetes.audience.wildcard"),
    ({"audience": "kubernetes: prod"}, "kubernetes.audience.whitespace"),
    ({"api_version": "apiserver.config.k8s.io/v2"}, "kubernetes.api-version.unknown"),
    ({"username_prefix": ""}, "kubernetes.prefix.empty"),
    ({"username_prefix": "system:aws:"}, "kubernetes.prefix.reserved"),
    ({"username_prefix": "aws"}, "kubernetes.prefix.format"),
    ({"username_prefix": "aws:", "aks_resource_group_name": "rg"}, "kubernetes.prefix.aks"),
    ({"other_username_prefixes": ["aws:prod:"]}, "kubernetes.prefix.collision"),
    ({"other_username_prefixes": ["a"]}, "kubernetes.prefix.collision"),
    ({"groups_from_principal_tag": "aws:team"}, "aws.tag-key.reserved"),
    ({"role_bindings": [{"clusterRole": "view"}]}, "kubernetes.role-bindings.no-kubeconfig"),
    ({"kubeconfig": "k", "role_bindings": [{"clusterRole": "View"}]}, "kubernetes.role-binding.cluster-role"),
    ({"kubeconfig": "k", "role_bindings": [{"clusterRole": "view", "namespace": "Apps"}]}, "kubernetes.role-binding.namespace"),
    ({"kubeconfig": "k", "role_bindings": [{"clusterRole": "view", "group": "ops"}]}, "kubernetes.role-binding.no-groups"),
    ({"kubeconfig": "k", "role_bindings": [{"clusterRole": "view", "verbs": ["get"]}]}, "kubernetes.role-binding.unknown"),
    ({"kubeconfig": "k", "role_bindings": [{"clusterRole": "view"}, {"cluster_role": "view"}]},
     "kubernetes.role-binding.duplicate"),
    ({"output_file": "/etc/kubernetes/"}, "kubernetes.output-file.directory"),
    ({"output_file": "auth.yaml", "aks_resource_group_name": "rg"}, "kubernetes.output-file.aks"),
    ({"subjects": {}}, "kubernetes.subjects.empty"),
    ({"subjects": {"a": DEPLOYER.replace(ACCOUNT, "210987654321")}}, "aws.subject.other-account"),
    ({"subjects": {"a": DEPLOYER, "b": DEPLOYER.replace("teams/platform/", "")}}, "kubernetes.subjects.same-user"),
])
def test_a_broken_setting_is_refused_with_its_code(change, code):
    assert code in codes(rules.check_kubernetes_trust_args({**BASE, **change}))


def test_errors_name_the_field_as_the_user_wrote_it():
    from components.stack.config import snake_to_camel

    [violation] = rules.check_kubernetes_trust_args({**BASE, "username_prefix": ""}, "workloads[1].kubernetes.",
                                                    snake_to_camel)
    assert violation.field == "workloads[1].kubernetes.usernamePrefix"


def test_a_kubeconfig_without_bindings_is_only_a_warning():
    [violation] = rules.check_kubernetes_trust_args({**BASE, "kubeconfig": "~/.kube/config"})
    assert (violation.code, violation.severity) == ("kubernetes.kubeconfig.unused", "warning")


def test_an_aks_prefix_passes_on_aks():
    assert rules.check_kubernetes_trust_args({**BASE, "aks_resource_group_name": "rg",
                                              "username_prefix": "aks:jwt:corp-aws:"}) == []


def test_a_configuration_with_two_authenticators_for_one_issuer_is_refused():
    configuration = rules.authentication_configuration([entry(), entry(OTHER)])
    assert "kubernetes.configuration.duplicate-issuer" in codes(rules.check_configuration(configuration, "c"))


def test_a_configuration_whose_cel_does_not_compile_is_refused():
    broken = {**entry(), "claimValidationRules": [{"expression": "claims.sub ==", "message": "x"}]}
    found = rules.check_configuration(rules.authentication_configuration([broken]), "c")
    assert codes(found) == ["kubernetes.cel.invalid"] and found[0].field == "c.jwt[0].claimValidationRules[0].expression"


def test_several_audiences_need_match_any():
    assert codes(rules.check_audiences(["a", "b"], None, "aud")) == ["kubernetes.audiences.match-policy"]
    assert rules.check_audiences(["a", "b"], "MatchAny", "aud") == []


def test_our_rendered_configuration_passes_its_own_checks():
    assert rules.check_configuration(rules.authentication_configuration([entry(tag="team")]), "c") == []


@pytest.mark.parametrize("expression, prefix", [
    ('"aws:" + claims.sub', "aws:"),
    ("'aks:jwt:' + claims.sub", "aks:jwt:"),
    ("['aks:jwt:g:' + claims.group]", "aks:jwt:g:"),
    ("claims.sub", None),
    ("claims.a + 'x:'", None),
])
def test_the_fixed_prefix_of_a_mapping_is_read_from_its_leading_literal(expression, prefix):
    assert rules.static_prefix(expression) == prefix


@pytest.mark.parametrize("expression, pinned", [
    ('claims["https://sts.amazonaws.com/"].aws_account == "123456789012"', True),
    ('claims.sub == "x" && claims["https://sts.amazonaws.com/"].aws_account == "123456789012"', True),
    ('claims["https://sts.amazonaws.com/"].aws_account == "123456789012" || true', False),
    ('(claims["https://sts.amazonaws.com/"].aws_account == "123456789012" || claims.aud == "x") && claims.sub != ""', False),
    ('!(claims["https://sts.amazonaws.com/"].aws_account == "123456789012")', False),
    ('claims["https://sts.amazonaws.com/"].aws_account in ["123456789012", "210987654321"]', True),
    ("has(claims.sub)", False),
])
def test_an_account_pin_must_hold_on_every_path(expression, pinned):
    assert rules.rules_pin_account([{"expression": expression}]) is pinned


# -- pack audits of hand-written AKS authenticators -------------------------------------------------------

def aks(name="jwt", cluster="aks-prod", **properties):
    body = {"issuer": {"url": ISSUER, "audiences": ["kubernetes:aks-prod"]},
            "claimValidationRules": rules.claim_validation_rules(ACCOUNT, [DEPLOYER]),
            "claimMappings": {"username": {"expression": rules.username_expression("aks:jwt:aws:")}}}
    body.update(properties)
    return AuditedResource(AKS_AUTHENTICATOR_TYPE, name, {"resourceGroupName": "platform", "resourceName": cluster,
                                                         "properties": body}, urn=f"urn:{name}")


def audit_codes(resource, config=None):
    return codes(audits.authenticator_violations(resource, config or {}))


def test_our_aks_authenticator_passes_the_audit():
    assert audit_codes(aks()) == []


def test_an_authenticator_with_no_claim_validation_is_an_error():
    assert audit_codes(aks(claimValidationRules=[])) == ["kubernetes.authenticator.no-claim-validation"]


def test_an_authenticator_that_does_not_pin_the_account_is_an_error():
    rules_ = [{"expression": f'claims.sub in ["{DEPLOYER}"]'}]
    assert audit_codes(aks(claimValidationRules=rules_)) == ["kubernetes.authenticator.account-unpinned"]


def test_pinning_the_account_but_not_the_roles_is_a_warning():
    found = audits.authenticator_violations(aks(claimValidationRules=rules.claim_validation_rules(ACCOUNT, [DEPLOYER])[:1]), {})
    assert [(v.code, v.severity) for v in found] == [("kubernetes.authenticator.roles-unpinned", "warning")]


def test_an_unprefixed_username_is_an_error():
    mappings = {"username": {"expression": "claims.sub"}}
    assert audit_codes(aks(claimMappings=mappings)) == ["kubernetes.authenticator.unprefixed"]


def test_a_username_outside_aks_jwt_is_an_error():
    mappings = {"username": {"expression": "'aws:' + claims.sub"}}
    assert audit_codes(aks(claimMappings=mappings)) == ["kubernetes.prefix.aks"]


def test_an_audience_outside_the_allowed_ones_is_an_error():
    found = audit_codes(aks(), {"allowedAudiences": {"kubernetes": ["kubernetes:other"]}})
    assert found == ["kubernetes.audience.not-allowed"]


def test_another_issuers_authenticator_is_not_ours_to_judge():
    other = {"url": "https://token.actions.githubusercontent.com", "audiences": ["x"]}
    assert audit_codes(aks(issuer=other, claimValidationRules=[])) == []


def test_cel_the_rehearsal_cannot_parse_is_a_warning():
    rules_ = rules.claim_validation_rules(ACCOUNT, [DEPLOYER]) + [{"expression": "claims.?email.orValue('') == ''"}]
    found = audits.authenticator_violations(aks(claimValidationRules=rules_), {})
    assert [(v.code, v.severity) for v in found] == [("kubernetes.cel.unparsed", "warning")]


def test_two_authenticators_of_one_cluster_may_not_share_an_issuer():
    found = audits.cluster_violations([aks("a"), aks("b", claimMappings={"username": {"expression": "'aks:jwt:b:' + claims.sub"}})], {})
    assert [(urn, v.code) for urn, v in found] == [("urn:b", "kubernetes.authenticator.duplicate-issuer")]


def test_overlapping_prefixes_on_one_cluster_collide():
    github = {"url": "https://token.actions.githubusercontent.com", "audiences": ["x"]}
    found = audits.cluster_violations([aks("a"), aks("b", issuer=github)], {})
    assert [v.code for _, v in found] == ["kubernetes.authenticator.prefix-collision"]


def test_authenticators_of_different_clusters_do_not_collide():
    assert audits.cluster_violations([aks("a", cluster="one"), aks("b", cluster="two")], {}) == []
