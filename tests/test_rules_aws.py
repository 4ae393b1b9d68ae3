"""The AWS rules: each limit accepts what AWS accepts and rejects the rest, naming field, value and rule."""

import pytest

from components.rules import ERROR, WARNING, ValidationError, Violation, is_plain, raise_for
from components.rules import aws as rules

AWS_ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_ReadOnly_0123456789abcdef")


def problems(found):
    """(field as the user wrote it, code) of each violation: what a test of a rule pins."""
    return [(v.field, v.code) for v in found]


def test_an_aws_issuer_is_accepted_without_warnings():
    assert rules.check_issuer(AWS_ISSUER, "issuer") == []


@pytest.mark.parametrize("issuer, code", [
    (AWS_ISSUER + "/", "aws.issuer.trailing-slash"),
    (AWS_ISSUER.replace("https", "http"), "aws.issuer.scheme"),
    (AWS_ISSUER + "/tenant", "aws.issuer.path"),
    (" " + AWS_ISSUER, "aws.issuer.whitespace"),
    (AWS_ISSUER + "?x=1", "aws.issuer.query"),
    ("", "aws.issuer.type"),
], ids=["trailing-slash", "plain-http", "path", "whitespace", "query", "empty"])
def test_an_issuer_of_the_wrong_shape_is_rejected(issuer, code):
    found = rules.check_issuer(issuer, "account.issuer")
    assert [(v.field, v.code, v.severity) for v in found] == [("account.issuer", code, ERROR)]


def test_an_issuer_that_is_not_an_aws_issuer_only_warns():
    found = rules.check_issuer("https://issuer.example.com", "issuer")
    assert [(v.code, v.severity) for v in found] == [("aws.issuer.unfamiliar", WARNING)]


def test_audiences_within_limits_are_accepted():
    assert rules.check_audiences(["api://AzureADTokenExchange", "a" * 1000], "audiences") == []


def test_more_than_ten_audiences_are_rejected():
    found = rules.check_audiences([f"aud-{i}" for i in range(11)], "audiences")
    assert [(v.field, v.value, v.code) for v in found] == [("audiences", "11 items", "aws.audiences.count")]


def test_no_audience_at_all_is_rejected():
    assert problems(rules.check_audiences([], "audiences")) == [("audiences", "aws.audiences.count")]


def test_an_empty_audience_is_rejected_naming_its_index():
    found = rules.check_audiences(["ok", ""], "workloads[0].audiences")
    assert [(v.field, v.value, v.code) for v in found] == [("workloads[0].audiences[1]", "", "aws.audience.length")]


def test_an_audience_over_1000_characters_is_rejected():
    assert problems(rules.check_audiences(["a" * 1001], "audiences")) == [("audiences[0]", "aws.audience.length")]


def test_a_wildcard_audience_is_rejected():
    assert problems(rules.check_audiences(["api://*"], "audiences")) == [("audiences[0]", "aws.audience.wildcard")]


def test_a_duplicate_audience_is_rejected():
    assert problems(rules.check_audiences(["x", "x"], "audiences")) == [("audiences[1]", "aws.audiences.duplicate")]


@pytest.mark.parametrize("seconds", [60, 300, 3600])
def test_durations_from_60_to_3600_seconds_are_accepted(seconds):
    assert rules.check_duration_seconds(seconds, "max_duration_seconds") == []


@pytest.mark.parametrize("seconds, code", [
    (59, "aws.duration.range"), (3601, "aws.duration.range"), (0, "aws.duration.range"), (-5, "aws.duration.range"),
    ("300", "aws.duration.type"), (300.5, "aws.duration.type"), (True, "aws.duration.type"),
])
def test_durations_outside_60_to_3600_whole_seconds_are_rejected(seconds, code):
    assert problems(rules.check_duration_seconds(seconds, "max_duration_seconds")) == [("max_duration_seconds", code)]


def test_a_whole_number_arriving_as_a_float_is_accepted():
    # JSON numbers from another language reach a component as floats: 300.0 means 300.
    assert rules.check_duration_seconds(300.0, "max_duration_seconds") == []


def test_rs256_and_es384_are_the_only_signing_algorithms():
    assert rules.check_signing_algorithms(["RS256", "ES384"], "a") == []
    found = rules.check_signing_algorithms(["RS256", "HS256"], "signing_algorithms")
    assert [(v.field, v.value, v.code) for v in found] == [("signing_algorithms[1]", "HS256", "aws.algorithm.unknown")]


def test_an_empty_algorithm_list_is_rejected():
    assert problems(rules.check_signing_algorithms([], "signing_algorithms")) == [
        ("signing_algorithms", "aws.algorithms.count")]


def test_iam_tags_follow_awss_character_and_length_rules():
    assert rules.check_tags({"team": "payments", "cost center": "42/a@b.c", "Ünïcode": "ok"}, "tags") == []
    assert problems(rules.check_tags({"aws:owner": "x"}, "tags")) == [("tags.aws:owner", "aws.tag-key.reserved")]
    assert problems(rules.check_tags({"bad!key": "x"}, "tags")) == [("tags.bad!key", "aws.tag-key.charset")]
    assert problems(rules.check_tags({"k": "v" * 257}, "tags")) == [("tags.k", "aws.tag-value.length")]
    assert problems(rules.check_tags({"k" * 129: "v"}, "tags")) == [("tags." + "k" * 129, "aws.tag-key.length")]


def test_more_than_fifty_tags_are_rejected():
    found = rules.check_tags({f"k{i}": "v" for i in range(51)}, "tags")
    assert [(v.field, v.value, v.code) for v in found] == [("tags", "51 tags", "aws.tags.count")]


def test_role_names_follow_iam_rules():
    assert rules.check_role_name("reports-reader_1+=,.@", "role_name") == []
    assert problems(rules.check_role_name("x" * 65, "role_name")) == [("role_name", "aws.role-name.length")]
    assert problems(rules.check_role_name("has space", "role_name")) == [("role_name", "aws.role-name.charset")]


def test_role_paths_must_start_and_end_with_a_slash():
    assert rules.check_role_path("/", "path") == []
    assert rules.check_role_path("/teams/payments/", "path") == []
    assert problems(rules.check_role_path("teams/", "path")) == [("path", "aws.role-path.format")]
    assert problems(rules.check_role_path("/teams", "path")) == [("path", "aws.role-path.format")]


def test_paths_that_aws_manages_are_reserved():
    assert problems(rules.check_role_path("/aws-reserved/sso.amazonaws.com/", "path")) == [
        ("path", "aws.role-path.reserved")]
    assert problems(rules.check_role_path("/aws-service-role/x/", "path")) == [("path", "aws.role-path.reserved")]


def test_a_role_arn_is_parsed_with_its_path():
    parsed = rules.parse_role_arn(SSO_ROLE)
    assert (parsed.account_id, parsed.path, parsed.name) == (
        "123456789012", "/aws-reserved/sso.amazonaws.com/eu-west-1/", "AWSReservedSSO_ReadOnly_0123456789abcdef")
    assert parsed.is_identity_center


def test_a_user_arn_is_not_a_role_arn():
    assert problems(rules.check_role_arn("arn:aws:iam::123456789012:user/alice", "existing_role_arn")) == [
        ("existing_role_arn", "aws.role-arn.format")]


def test_a_service_principal_must_be_an_aws_service():
    assert rules.check_trusted_services(["ec2.amazonaws.com", "pods.eks.amazonaws.com"], "s") == []
    assert problems(rules.check_trusted_services(["ec2"], "trusted_services")) == [
        ("trusted_services[0]", "aws.trusted-service.format")]


def test_a_role_needs_exactly_one_source():
    assert problems(rules.check_role_source({}, "")) == [("trusted_services", "aws.role-source.missing")]
    both = rules.check_role_source({"trusted_services": ["ec2.amazonaws.com"], "assume_role_policy": "{}"})
    assert problems(both) == [("assume_role_policy", "aws.role-source.conflict")]


def test_creation_settings_are_refused_for_an_existing_role():
    found = rules.check_role_source({"existing_role_arn": SSO_ROLE, "path": "/x/", "create_instance_profile": True})
    assert sorted(problems(found)) == [("create_instance_profile", "aws.role-source.conflict"),
                                       ("path", "aws.role-source.conflict")]


def test_the_token_policy_cannot_be_attached_to_an_identity_center_role():
    found = rules.check_federated_role_args(
        {"existing_role_arn": SSO_ROLE, "attach_token_policy": True, "audiences": ["a"]})
    assert problems(found) == [("existing_role_arn", "aws.identity-center.attach")]


def test_a_subject_from_another_account_is_rejected():
    found = rules.check_subject_account("arn:aws:iam::210987654321:role/x", "123456789012", "subjects[0]")
    assert [(v.field, v.value, v.code) for v in found] == [
        ("subjects[0]", "arn:aws:iam::210987654321:role/x", "aws.subject.other-account")]


def test_a_custom_trust_policy_must_name_a_principal():
    assert problems(rules.check_trust_policy_json("not json", "assume_role_policy")) == [
        ("assume_role_policy", "aws.trust-policy.json")]
    no_principal = '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}'
    assert problems(rules.check_trust_policy_json(no_principal, "p")) == [("p", "aws.trust-policy.no-principal")]


def test_disable_on_destroy_needs_manage():
    found = rules.check_account_federation_args({"disable_on_destroy": True})
    assert problems(found) == [("disable_on_destroy", "aws.account.disable-without-manage")]


def test_field_names_are_spelt_the_way_the_user_wrote_them():
    found = rules.check_federated_role_args(
        {"trusted_services": ["ec2.amazonaws.com"], "audiences": ["a"], "max_duration_seconds": 5},
        "workloads[3].", lambda key: {"max_duration_seconds": "maxDurationSeconds"}.get(key, key))
    assert [v.field for v in found] == ["workloads[3].maxDurationSeconds"]


def test_raise_for_lists_every_error_and_returns_the_warnings():
    warning = Violation("issuer", "https://x.example", "looks odd", WARNING, code="test.odd")
    with pytest.raises(ValidationError) as caught:
        raise_for("FederatedRole 'r'", [Violation("a", 1, "is bad", code="test.bad"),
                                        Violation("b", 2, "is worse", code="test.worse"), warning])
    assert caught.value.codes == ["test.bad", "test.worse"]
    # Kept on purpose: the one test of how a ValidationError reads (users see it in `pulumi up` and
    # fedctl): the label, then one line per error starting with the field as they wrote it.
    assert str(caught.value) == "FederatedRole 'r' has invalid input:\n  - a: 1 is bad\n  - b: 2 is worse"
    assert raise_for("x", [warning]) == [warning]


def test_long_values_are_shortened_in_messages():
    # Kept on purpose: shortening is a property of the message itself.
    message = rules.check_audiences(["a" * 5000], "audiences")[0].message
    assert len(message) < 250 and "(5000 chars)" in message


def test_values_known_only_at_deploy_time_are_not_plain():
    class FakeOutput:
        def apply(self): ...
        def is_known(self): ...
    assert is_plain(["a", {"b": 1}])
    assert not is_plain(["a", FakeOutput()])
