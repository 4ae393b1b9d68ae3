"""The Tailscale rules: pure functions, judged by their codes."""

from __future__ import annotations

import pytest

from components.relying_parties.base import AuditedResource
from components.relying_parties.tailscale import rules
from components.relying_parties.tailscale.audits import identity_violations
from components.relying_parties.tailscale.facts import FEDERATED_IDENTITY_TYPE
from components.rules import WARNING

ACCOUNT = "123456789012"
ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-deploy"
ARGS = {"issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"ci": ROLE}, "scopes": ["devices:core:read"]}


def codes(found):
    return [v.code for v in found]


def check(**changes):
    args = {**ARGS, **changes}
    return codes(rules.check_tailscale_trust_args({k: v for k, v in args.items() if v is not None}))


# -- Tailscale's pattern ----------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, value, matches", [
    (ROLE, ROLE, True),
    (ROLE, ROLE + "x", False),
    (f"arn:aws:iam::{ACCOUNT}:role/workloads/*", ROLE, True),
    (f"arn:aws:iam::{ACCOUNT}:role/*-deploy", ROLE, True),
    (f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:role/a/b/c", True),
    (f"arn:aws:iam::{ACCOUNT}:role/ci*", ROLE, False),
    ("*", "anything at all", True),
    ("a.c", "abc", False),
    ("a+c", "a+c", True),
])
def test_a_star_matches_any_run_of_characters_and_everything_else_itself(pattern, value, matches):
    assert rules.glob_match(pattern, value) is matches


def test_a_pattern_matches_the_whole_subject_not_a_part():
    assert not rules.glob_match("role/ci", f"arn:aws:iam::{ACCOUNT}:role/ci")


# -- the audience ---------------------------------------------------------------------------------

def test_the_audience_is_known_from_the_name_alone():
    assert rules.token_audience("dev-ci-tailscale") == "api.tailscale.com/dev-ci-tailscale"


def test_an_explicit_audience_wins():
    assert rules.token_audience("x", "ts-federation") == "ts-federation"


@pytest.mark.parametrize("audience, code", [
    ("", "tailscale.audience.length"), ("a b", "tailscale.audience.whitespace"),
    ("api.tailscale.com/*", "tailscale.audience.wildcard"), ("x" * 1001, "tailscale.audience.length"),
    (7, "tailscale.audience.type"),
])
def test_a_bad_audience_is_refused(audience, code):
    assert code in check(audience=audience)


# -- scopes, tags, description --------------------------------------------------------------------

def test_valid_args_pass():
    assert check() == []


def test_scopes_are_required():
    assert "tailscale.args.missing" in check(scopes=None)


@pytest.mark.parametrize("scopes, code", [
    ([], "tailscale.scopes.type"), (["Devices:Core"], "tailscale.scope.format"),
    (["devices core"], "tailscale.scope.format"), (["dns", "dns"], "tailscale.scopes.duplicate"),
])
def test_malformed_scopes_are_errors(scopes, code):
    assert code in check(scopes=scopes)


def test_an_unlisted_but_well_formed_scope_is_only_a_warning():
    [found] = rules.check_scopes(["devices:brand_new"], "scopes")
    assert (found.code, found.severity) == ("tailscale.scope.unlisted", WARNING)


def test_the_all_scope_is_a_warning():
    [found] = rules.check_scopes(["all"], "scopes")
    assert (found.code, found.severity) == ("tailscale.scope.broad", WARNING)


@pytest.mark.parametrize("scope", ["devices:core", "auth_keys"])
def test_scopes_that_assign_tags_need_tags(scope):
    assert check(scopes=[scope]) == ["tailscale.tags.required"]
    assert check(scopes=[scope], tags=["tag:ci"]) == []


@pytest.mark.parametrize("tag", ["ci", "tag:", "tag:1ci", "tag:c i", "group:ci"])
def test_tags_are_tag_colon_name(tag):
    assert "tailscale.tag.format" in check(tags=[tag])


@pytest.mark.parametrize("description, code", [
    ("x" * 51, "tailscale.description.length"), ("AWS: ci", "tailscale.description.colon"),
    ("ci (deploy)", "tailscale.description.charset"),
])
def test_descriptions_tailscale_refuses_are_refused(description, code):
    assert code in check(description=description)


def test_the_default_description_is_one_tailscale_takes():
    description = rules.default_description("dev-a-very-long-workload-name-that-goes-on-and-on:x")
    assert rules.check_description(description, "description") == []


# -- subjects and patterns ------------------------------------------------------------------------

def test_a_role_of_another_account_is_refused():
    assert "aws.subject.other-account" in check(subjects={"ci": ROLE.replace(ACCOUNT, "210987654321")})


@pytest.mark.parametrize("pattern, code", [
    ("*", "tailscale.subject-pattern.any"),
    ("arn:aws:iam::*:role/ci-*", "tailscale.subject-pattern.account-wildcard"),
    ("arn:aws:iam::12345678901*:role/ci", "tailscale.subject-pattern.account-wildcard"),
    ("arn:*:iam::123456789012:role/ci", "tailscale.subject-pattern.account-wildcard"),
    (f"arn:aws:iam::{ACCOUNT}:*", "tailscale.subject-pattern.prefix"),
    (f"arn:aws:iam::{ACCOUNT}:user/*", "tailscale.subject-pattern.prefix"),
    ("arn:aws:iam::210987654321:role/workloads/*", "tailscale.subject-pattern.other-account"),
    (f"arn:aws:iam::{ACCOUNT}:role/batch-*", "tailscale.subject-pattern.misses-role"),
    (f"arn:aws:iam::{ACCOUNT}:role/ ci*", "tailscale.subject-pattern.whitespace"),
])
def test_a_subject_pattern_must_pin_the_account_and_role_prefix_and_match_the_role(pattern, code):
    assert code in check(subject_pattern=pattern)


def test_a_pinned_pattern_that_matches_the_role_passes():
    assert check(subject_pattern=f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-*") == []


def test_a_pattern_applies_to_one_role_only():
    found = check(subjects={"ci": ROLE, "ops": f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-ops"},
                  subject_pattern=f"arn:aws:iam::{ACCOUNT}:role/workloads/ci-*")
    assert found == ["tailscale.subject-pattern.several-roles"]


def test_labels_name_identities_and_must_be_plain_words():
    assert "tailscale.subject-label.format" in check(subjects={"c i": ROLE})


# -- what the audits say of hand-written identities -------------------------------------------------

def audit(**props):
    base = {"issuer": ISSUER, "subject": ROLE, "scopes": ["devices:core:read"], "audience": "api.tailscale.com/x"}
    return identity_violations(AuditedResource(FEDERATED_IDENTITY_TYPE, "ci", {**base, **props}), {})


def severities(found):
    return {(v.code, v.severity) for v in found}


def test_an_exact_role_subject_passes_the_audit():
    assert audit() == []


@pytest.mark.parametrize("subject, code", [
    ("*", "tailscale.subject.any"), ("**", "tailscale.subject.any"),
    ("arn:aws:iam::*:role/ci", "tailscale.subject.any-account"),
    ("arn:aws:iam::*", "tailscale.subject.any-account"),
    (f"arn:aws:iam::{ACCOUNT}:*", "tailscale.subject.role-unpinned"),
])
def test_subjects_that_span_accounts_or_principals_are_mandatory(subject, code):
    assert severities(audit(subject=subject)) == {(code, "error")}


def test_a_wildcard_within_one_accounts_roles_is_advisory():
    assert severities(audit(subject=f"arn:aws:iam::{ACCOUNT}:role/ci-*")) == {("tailscale.subject.wildcard", WARNING)}


def test_an_exact_subject_that_is_not_a_role_is_advisory():
    found = audit(subject=f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/session")
    assert severities(found) == {("tailscale.subject.not-a-role", WARNING)}


def test_an_issuer_that_is_not_an_aws_account_issuer_is_advisory_and_its_subject_not_judged():
    found = audit(issuer="https://token.actions.githubusercontent.com", subject="repo:org/*")
    assert severities(found) == {("tailscale.issuer.not-aws", WARNING)}


def test_the_audit_applies_tailscales_own_rules_too():
    found = audit(scopes=["auth_keys"], description="AWS: ci", customClaimRules={"sub": "x"})
    assert {"tailscale.tags.required", "tailscale.description.colon", "tailscale.custom-claim-rules.reserved"} \
        <= set(codes(found))


def test_other_resource_types_are_not_judged():
    assert identity_violations(AuditedResource("tailscale:index/acl:Acl", "acl", {"subject": "*"}), {}) == []
