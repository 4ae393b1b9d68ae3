"""GCP rules and builders, with the generated CEL judged by cel-python (an independent implementation)."""

import random
import string

import pytest
from judges.cel import ERROR, CelJudge, aws_claims

from components.rules import aws as aws_rules
from components.relying_parties.gcp import audits as gcp_audits
from components.relying_parties.gcp import rules as gcp

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")
SSO_ROLE_NO_REGION = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_fedcba9876543210"
EXPORTER = "arn:aws:iam::123456789012:role/exporter"
NAME_CHARS = string.ascii_letters + string.digits + "+=,.@_-"
PATH_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "/")

# Every shape of role ARN we could think of, including paths that try to confuse a parser.
ARN_SHAPES = [
    EXPORTER,
    SSO_ROLE,
    SSO_ROLE_NO_REGION,
    "arn:aws:iam::123456789012:role/service-role/lambda-exec",
    "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
    "arn:aws:iam::123456789012:role/teams/payments/batch/exporter",
    "arn:aws:iam::123456789012:role/" + "/".join(f"level{i}" for i in range(60)) + "/deep",
    "arn:aws:iam::123456789012:role/" + "p" * 510 + "/long-path",
    "arn:aws:iam::123456789012:role/" + "N" * 64,
    "arn:aws:iam::123456789012:role/a/" + "+=,.@_-" + "x" * 57,
    "arn:aws:iam::123456789012:role/iam::999999999999:decoy/role/x/after-decoys",
    "arn:aws:iam::123456789012:role/it's/a\\path/with:colons/quoted",
    "arn:aws:iam::123456789012:role/role/role",
    "arn:aws-cn:iam::123456789012:role/china/app",
    "arn:aws-us-gov:iam::123456789012:role/gov",
    "arn:aws:iam::210987654321:role/exporter",
]


def random_arn(rng: random.Random) -> str:
    depth = rng.choice([0, 0, 1, 2, 3, 5, 12, 40])
    path = "/" + "".join("".join(rng.choice(PATH_CHARS) for _ in range(rng.randint(1, 12))) + "/"
                         for _ in range(depth))
    name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 64)))
    account = "".join(rng.choice(string.digits) for _ in range(12))
    partition = rng.choice(["aws", "aws-cn", "aws-us-gov"])
    return f"arn:{partition}:iam::{account}:role{path[: aws_rules.MAX_ROLE_PATH_LENGTH]}{name}"


RANDOM_ARNS = [random_arn(random.Random(seed)) for seed in range(300)]


def problems(found):
    """(field as the user wrote it, code) of each violation: what a test of a rule pins."""
    return [(v.field, v.code) for v in found]


@pytest.fixture(scope="module")
def judge():
    return CelJudge()


# -- google.subject --------------------------------------------------------------------------------

@pytest.mark.parametrize("arn", ARN_SHAPES + RANDOM_ARNS)
def test_the_mapping_cel_gives_exactly_the_mapped_subject(judge, arn):
    assert aws_rules.parse_role_arn(arn) is not None, "the test ARN itself must be valid"
    subject = judge.map_attributes(gcp.attribute_mapping(), aws_claims(arn))["google.subject"]
    parsed = aws_rules.parse_role_arn(arn)
    assert subject == gcp.mapped_subject(arn) == f"{parsed.account_id}:{parsed.name}"
    assert len(subject.encode()) <= gcp.MAX_MAPPED_SUBJECT_BYTES <= gcp.MAX_GOOGLE_SUBJECT_BYTES


def test_the_mapped_subject_of_an_sso_role_drops_the_path():
    assert gcp.mapped_subject(SSO_ROLE) == "123456789012:AWSReservedSSO_ReadOnly_0123456789abcdef"
    assert len(SSO_ROLE.encode()) > 100  # why the ARN itself is not the subject


def test_mapped_subjects_are_distinct_per_role():
    roles = {(p.account_id, p.name.lower()): arn for arn in ARN_SHAPES + RANDOM_ARNS
             if (p := aws_rules.parse_role_arn(arn))}
    subjects = [gcp.mapped_subject(arn) for arn in roles.values()]
    assert len(set(subjects)) == len(subjects)


def test_the_longest_possible_subject_is_77_bytes():
    arn = "arn:aws:iam::123456789012:role/" + "p/" * 255 + "N" * 64
    assert len(gcp.mapped_subject(arn).encode()) == 77 == gcp.MAX_MAPPED_SUBJECT_BYTES


def test_the_other_attributes_are_the_account_claim_and_the_full_arn(judge):
    attributes = judge.map_attributes(gcp.attribute_mapping(), aws_claims(SSO_ROLE))
    assert attributes["attribute.aws_account"] == ACCOUNT
    assert attributes["attribute.aws_role"] == SSO_ROLE


def test_the_mapping_evaluates_cleanly_for_a_token_without_aws_claims(judge):
    attributes = judge.map_attributes(gcp.attribute_mapping(), {"sub": EXPORTER})
    assert attributes["attribute.aws_account"] == ""


def test_the_mapping_is_within_googles_limits():
    mapping = gcp.attribute_mapping()
    assert gcp.check_attribute_mapping(mapping, "attribute_mapping") == []
    assert all(len(expression) <= 2048 for expression in mapping.values())


def test_a_non_arn_maps_to_no_subject():
    with pytest.raises(ValueError):
        gcp.mapped_subject("arn:aws:iam::123456789012:user/alice")


# -- attribute condition ---------------------------------------------------------------------------

TRUSTED = [SSO_ROLE, EXPORTER, "arn:aws:iam::123456789012:role/it's/a\\path/quoted"]


@pytest.fixture(scope="module")
def condition():
    return gcp.attribute_condition(ACCOUNT, TRUSTED)


@pytest.mark.parametrize("arn", TRUSTED)
def test_the_condition_accepts_each_trusted_role(judge, condition, arn):
    assert judge.outcome(condition, aws_claims(arn), gcp.attribute_mapping()) is True


@pytest.mark.parametrize("claims", [
    aws_claims("arn:aws:iam::123456789012:role/someone-else"),
    aws_claims("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"),
    aws_claims(SSO_ROLE.replace(ACCOUNT, OTHER_ACCOUNT)),
    aws_claims(EXPORTER.replace(ACCOUNT, OTHER_ACCOUNT)),
    aws_claims(EXPORTER, account_id=OTHER_ACCOUNT),  # right role ARN, but AWS says another account
    aws_claims(EXPORTER + "-2"),
    aws_claims(EXPORTER.upper().replace("ARN:AWS:IAM", "arn:aws:iam").replace(":ROLE/", ":role/")),
], ids=["other-role", "other-sso-role", "same-path-other-account", "same-name-other-account",
        "account-claim-mismatch", "name-prefix", "case-changed"])
def test_the_condition_rejects_everything_else(judge, condition, claims):
    assert judge.outcome(condition, claims, gcp.attribute_mapping()) is False


def test_a_token_without_the_aws_claim_namespace_is_cleanly_rejected(judge, condition):
    claims = aws_claims(EXPORTER)
    del claims["https://sts.amazonaws.com/"]
    assert judge.outcome(condition, claims, gcp.attribute_mapping()) is False


def test_a_token_whose_aws_claims_lack_the_account_is_cleanly_rejected(judge, condition):
    claims = aws_claims(EXPORTER)
    del claims["https://sts.amazonaws.com/"]["aws_account"]
    assert judge.outcome(condition, claims, gcp.attribute_mapping()) is False


def test_the_condition_pins_the_nested_account_claim_and_the_exact_arns(condition):
    assert "assertion['https://sts.amazonaws.com/'].aws_account == '123456789012'" in condition
    assert condition.endswith("]") and "assertion.sub in [" in condition


def test_the_condition_lists_a_role_once(judge):
    assert gcp.attribute_condition(ACCOUNT, [EXPORTER, EXPORTER]).count(EXPORTER) == 1


def test_a_condition_over_4096_characters_is_reported():
    arns = [f"arn:aws:iam::123456789012:role/{'p' * 180}/role-{i}" for i in range(25)]
    found = gcp.check_attribute_condition(gcp.attribute_condition(ACCOUNT, arns), "subjects")
    assert problems(found) == [("subjects", "gcp.attribute-condition.length")]
    args = {**VALID_ARGS, "subjects": {f"r{i}": arn for i, arn in enumerate(arns)}}
    assert problems(gcp.check_gcp_trust_args(args)) == [("subjects", "gcp.attribute-condition.length")]

    class FakeOutput:
        def apply(self, fn): ...
        def is_known(self): ...

    # The length is known at preview even when the account is still an Output.
    assert problems(gcp.check_gcp_trust_args({**args, "aws_account_id": FakeOutput()})) == [
        ("subjects", "gcp.attribute-condition.length")]


# -- IDs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,code", [
    ("abc", "gcp.id.length"),
    ("a" * 33, "gcp.id.length"),
    ("Upper-case", "gcp.id.charset"),
    ("under_score", "gcp.id.charset"),
    ("gcp-pool", "gcp.id.reserved-prefix"),
    (1234, "gcp.id.type"),
])
@pytest.mark.parametrize("check,field", [(gcp.check_pool_id, "pool_id"), (gcp.check_provider_id, "provider_id")])
def test_bad_ids_are_refused_naming_the_field(check, field, value, code):
    assert problems(check(value, field)) == [(field, code)]


@pytest.mark.parametrize("value", ["aws1", "a" * 32, "1234", "aws-pool-1", "gcp4"])
def test_valid_ids_pass(value):
    assert gcp.check_pool_id(value, "pool_id") == [] == gcp.check_provider_id(value, "provider_id")


ODD_NAMES = ["", "x", "---", "GCP", "gcp", "gcp-trust", "Ünïcødé trust", "9lives", "a" * 200,
             "prod/exporter:gcp", "a_b.c d", "-leading-and-trailing-"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_default_ids_are_valid_for_any_name(name):
    assert gcp.check_pool_id(gcp.default_pool_id(name), "pool_id") == []
    assert gcp.check_provider_id(gcp.default_provider_id(name), "provider_id") == []
    assert gcp.check_service_account_id(gcp.default_service_account_id(name), "sa") == []
    for generation in (1, 2, 9999):
        assert gcp.check_pool_id(gcp.default_pool_id(name, generation), "pool_id") == []


def test_default_ids_are_deterministic_and_a_new_generation_gives_fresh_ones():
    assert gcp.default_pool_id("reports") == gcp.default_pool_id("reports")
    assert gcp.default_pool_id("reports").startswith("reports-")
    generations = {gcp.default_pool_id("reports", g) for g in range(5)}
    assert len(generations) == 5
    assert gcp.default_provider_id("reports", 1) != gcp.default_provider_id("reports")
    # Names that slug alike still get different IDs.
    assert gcp.default_pool_id("a b") != gcp.default_pool_id("a-b")


def test_a_new_generation_keeps_the_service_account():
    assert gcp.default_service_account_id("reports").startswith("reports-")


# -- audiences and names ---------------------------------------------------------------------------

def test_canonical_names_and_principals():
    assert gcp.canonical_audience("42", "pool", "prov") == (
        "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool/providers/prov")
    assert gcp.token_audience("42", "pool", "prov") == (
        "https://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool/providers/prov")
    assert gcp.token_audience("42", "pool", "prov", ["api://gcp", "b"]) == "api://gcp"
    assert gcp.principal_for("42", "pool", "123456789012:exporter") == (
        "principal://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool/"
        "subject/123456789012:exporter")


@pytest.mark.parametrize("audiences,field,code", [
    (["a"] * 11, "allowed_audiences", "gcp.allowed-audiences.count"),
    (["x" * 257], "allowed_audiences[0]", "gcp.allowed-audience.length"),
    ([""], "allowed_audiences[0]", "gcp.allowed-audience.length"),
    (["has space"], "allowed_audiences[0]", "gcp.allowed-audience.whitespace"),
    (["https://*.example.com"], "allowed_audiences[0]", "gcp.allowed-audience.wildcard"),
    (["a", "a"], "allowed_audiences[1]", "gcp.allowed-audiences.duplicate"),
    ("api://gcp", "allowed_audiences", "gcp.allowed-audiences.type"),
])
def test_bad_allowed_audiences_are_refused(audiences, field, code):
    found = gcp.check_allowed_audiences(audiences, "allowed_audiences")
    # Eleven copies of one audience are also duplicates: the rule under test must be among what is reported.
    assert (field, code) in problems(found), found


def test_the_credential_configuration_runs_fedctl_and_impersonates():
    config = gcp.credential_configuration("42", "pool", "prov", "sa@p.iam.gserviceaccount.com", "https://aud")
    assert config["audience"] == gcp.canonical_audience("42", "pool", "prov")
    assert config["credential_source"]["executable"]["command"] == (
        "fedctl token --audience https://aud --format google-executable")
    assert config["service_account_impersonation_url"] == (
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com"
        ":generateAccessToken")


def test_the_service_account_resource_name_names_its_project_when_it_can():
    assert gcp.service_account_resource_name("sa@proj-1.iam.gserviceaccount.com") == (
        "projects/proj-1/serviceAccounts/sa@proj-1.iam.gserviceaccount.com")
    assert gcp.service_account_resource_name("123-compute@developer.gserviceaccount.com") == (
        "projects/-/serviceAccounts/123-compute@developer.gserviceaccount.com")


# -- subjects and the subject length ---------------------------------------------------------------

def test_google_subject_is_measured_in_bytes():
    # 64 characters, 128 bytes
    assert problems(gcp.check_google_subject("é" * 64, "subjects.x")) == [("subjects.x", "gcp.google-subject.length")]
    assert gcp.check_google_subject("e" * 127, "subjects.x") == []


@pytest.mark.parametrize("arn,code", [
    ("arn:aws:iam::210987654321:role/exporter", "aws.subject.other-account"),
    ("arn:aws:iam::123456789012:user/alice", "aws.role-arn.format"),
    ("arn:aws:sts::123456789012:assumed-role/exporter/session", "aws.role-arn.format"),
    ("arn:aws:iam::123456789012:role/" + "n" * 65, "gcp.trusted-role.name-length"),
])
def test_untrustable_subjects_are_refused(arn, code):
    found = gcp.check_trusted_role(arn, ACCOUNT, "subjects.x")
    assert problems(found) == [("subjects.x", code)]


def test_two_labels_for_one_role_are_refused():
    found = gcp.check_distinct_subjects({
        "a": EXPORTER, "b": EXPORTER, "c": "arn:aws:iam::123456789012:role/other-path/exporter"}, "subjects")
    assert problems(found) == [("subjects.b", "gcp.subjects.duplicate"), ("subjects.c", "gcp.subjects.path-mismatch")]


# -- check_gcp_trust_args --------------------------------------------------------------------------

VALID_ARGS = {
    "project": "my-project-1",
    "issuer": "https://a1d2b0fd-1177-4468-9351-2fe0c0ffe723.tokens.sts.global.api.aws",
    "aws_account_id": ACCOUNT,
    "subjects": {"exporter": EXPORTER, "sso": SSO_ROLE},
    "create_service_account": True,
}


def test_valid_args_pass():
    assert gcp.check_gcp_trust_args(VALID_ARGS) == []
    assert gcp.check_gcp_trust_args({**VALID_ARGS, "id_generation": 0, "pool_id": "aws-pool",
                                     "provider_id": "aws-prov"}) == []
    assert gcp.check_gcp_trust_args({**VALID_ARGS, "create_service_account": False,
                                     "service_account_email": "sa@my-project-1.iam.gserviceaccount.com",
                                     "pool_id": "aws-pool", "allowed_audiences": ["api://gcp"]}) == []


@pytest.mark.parametrize("change,field,code", [
    ({"project": "My Project"}, "project", "gcp.project.format"),
    ({"project": None}, "project", "gcp.args.missing"),
    ({"issuer": "https://example.com/"}, "issuer", "aws.issuer.trailing-slash"),
    ({"issuer": "http://x.tokens.sts.global.api.aws"}, "issuer", "aws.issuer.scheme"),
    ({"aws_account_id": "12345"}, "aws_account_id", "aws.account-id.format"),
    ({"subjects": {}}, "subjects", "gcp.subjects.empty"),
    ({"subjects": ["arn"]}, "subjects", "gcp.subjects.type"),
    ({"subjects": {"x": 42}}, "subjects.x", "aws.role-arn.format"),
    ({"subjects": {"bad label!": EXPORTER}}, "subjects.bad label!", "gcp.subject-label.format"),
    ({"subjects": {"x": "arn:aws:iam::210987654321:role/x"}}, "subjects.x", "aws.subject.other-account"),
    ({"pool_id": "gcp-mine"}, "pool_id", "gcp.id.reserved-prefix"),
    ({"provider_id": "ab"}, "provider_id", "gcp.id.length"),
    ({"id_generation": -1}, "id_generation", "gcp.id-generation.range"),
    ({"id_generation": 1, "pool_id": "aws-pool", "provider_id": "aws-prov"}, "id_generation",
     "gcp.id-generation.explicit-ids"),
    ({"allowed_audiences": ["a b"]}, "allowed_audiences[0]", "gcp.allowed-audience.whitespace"),
    ({"create_service_account": "yes"}, "create_service_account", "switch.type"),
    ({"create_service_account": False}, "service_account_email", "gcp.service-account.missing"),
    ({"service_account_email": "sa@my-project-1.iam.gserviceaccount.com"}, "service_account_email",
     "gcp.service-account.conflict"),
    ({"create_service_account": False, "service_account_email": "someone@gmail.com"}, "service_account_email",
     "gcp.service-account-email.format"),
])
def test_every_rejection_names_its_field(change, field, code):
    args = {k: v for k, v in {**VALID_ARGS, **change}.items() if v is not None}
    assert problems(gcp.check_gcp_trust_args(args)) == [(field, code)]


def test_fields_are_spelled_the_way_the_user_wrote_them():
    camel = lambda key: "".join(p if i == 0 else p.title() for i, p in enumerate(key.split("_")))  # noqa: E731
    found = gcp.check_gcp_trust_args(
        {**VALID_ARGS, "aws_account_id": "x", "create_service_account": False}, "gcp[0].", camel)
    assert {v.field for v in found} == {"gcp[0].awsAccountId", "gcp[0].serviceAccountEmail"}
    # Kept on purpose: a message that names another setting must spell it the way the user wrote it.
    assert "createServiceAccount" in next(v.rule for v in found if v.field.endswith("serviceAccountEmail"))


def test_ids_must_be_plain():
    class FakeOutput:
        def apply(self, fn): ...
        def is_known(self): ...

    found = gcp.check_gcp_trust_args({**VALID_ARGS, "pool_id": FakeOutput()})
    assert [(v.field, v.value) for v in found] == [("pool_id", "<Output>")]


def test_output_subject_arns_are_left_for_later():
    class FakeOutput:
        def apply(self, fn): ...
        def is_known(self): ...

    assert gcp.check_gcp_trust_args({**VALID_ARGS, "subjects": {"later": FakeOutput()}}) == []
    found = gcp.check_gcp_trust_args({**VALID_ARGS, "subjects": FakeOutput()})
    assert problems(found) == [("subjects", "gcp.subjects.output")]


def test_attribute_mapping_rule_catches_bad_keys_and_too_many_attributes():
    found = gcp.check_attribute_mapping({"google.subject": "assertion.sub", "attribute.Bad-Key": "x",
                                         "subject": "x", "attribute.ok": "y" * 2049}, "attribute_mapping")
    assert problems(found) == [("attribute_mapping.attribute.Bad-Key", "gcp.attribute-mapping.key"),
                               ("attribute_mapping.subject", "gcp.attribute-mapping.unknown-target"),
                               ("attribute_mapping.attribute.ok", "gcp.attribute-mapping.expression.length")]
    many = {"google.subject": "assertion.sub", **{f"attribute.a{i}": "x" for i in range(51)}}
    assert problems(gcp.check_attribute_mapping(many, "m")) == [("m", "gcp.attribute-mapping.count")]
    assert problems(gcp.check_attribute_mapping({"attribute.a": "x"}, "m")) == [("m", "gcp.attribute-mapping.no-subject")]


def test_a_broken_expression_is_an_error_not_an_acceptance(judge):
    assert judge.outcome("assertion.missing == 'x'", aws_claims(EXPORTER)) == ERROR


# -- judging hand-written providers and grants (the policy pack's rules) ---------------------------

def test_our_generated_condition_pins_account_and_roles():
    condition = gcp.attribute_condition("123456789012", ["arn:aws:iam::123456789012:role/a"])
    assert gcp_audits.check_condition_pins_account(condition, "c") == []


def test_a_provider_without_a_condition_is_rejected():
    assert problems(gcp_audits.check_condition_pins_account(None, "provider.attributeCondition")) == [
        ("provider.attributeCondition", "gcp.condition.missing")]


def test_a_condition_that_does_not_pin_the_account_is_rejected():
    found = gcp_audits.check_condition_pins_account("assertion.sub.startsWith('arn:aws:iam::')", "c")
    assert problems(found) == [("c", "gcp.condition.account-unpinned")]


def test_a_condition_pinning_only_the_account_is_advisory():
    found = gcp_audits.check_condition_pins_account(
        "assertion['https://sts.amazonaws.com/'].aws_account == '123456789012'", "c")
    assert [(v.code, v.severity) for v in found] == [("gcp.condition.roles-unpinned", "warning")]


def test_a_pool_wide_workload_identity_user_grant_is_rejected():
    member = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/aws/*"
    assert problems(gcp_audits.check_impersonation_member("roles/iam.workloadIdentityUser", member, "m")) == [
        ("m", "gcp.binding.pool-wide")]


def test_a_grant_to_one_principal_passes():
    member = gcp.principal_for("1", "aws", "123456789012:app")
    assert gcp_audits.check_impersonation_member("roles/iam.workloadIdentityUser", member, "m") == []
