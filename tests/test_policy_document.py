"""aws.iam.get_policy_document, rendered by the mock cloud the way the AWS provider renders it.

The provider's rules (terraform-provider-aws internal/service/iam, policy_model.go and the data
source): several actions, resources or principal identifiers are sorted in reverse, a single one is
a plain string, condition values keep their order, ``&{`` becomes ``${``, effect defaults to Allow,
an empty Sid is left out, and ``{type: "*", identifiers: ["*"]}`` alone is ``"*"``.
"""

from __future__ import annotations

import json
import textwrap

from fedctl.cli import main
from fedctl.testing.policy_document import render_policy_document


def statement(**fields):
    return fields


def test_the_providers_documented_rules():
    rendered = render_policy_document({"policyId": "policy_id", "statements": [
        statement(sid="1", actions=["s3:GetBucketLocation", "s3:ListAllMyBuckets"], resources=["arn:aws:s3:::*"]),
        statement(actions=["s3:ListBucket"], resources=["arn:aws:s3:::foo"],
                  conditions=[{"test": "StringLike", "variable": "s3:prefix",
                               "values": ["home/", "", "home/&{aws:username}/"]}],
                  notPrincipals=[{"type": "AWS", "identifiers": ["arn:aws:iam::123456789012:root"]}]),
        statement(actions=["s3:*"], resources=["arn:aws:s3:::foo/home/&{aws:username}",
                                               "arn:aws:s3:::foo/home/&{aws:username}/*"]),
        statement(effect="Deny", notActions=["s3:*"], notResources=["arn:aws:s3:::*"]),
        statement(actions=["kinesis:*"], principals=[{"type": "AWS", "identifiers": ["*"]}]),
        statement(actions=["firehose:*"], principals=[{"type": "*", "identifiers": ["*"]}]),
    ]})
    assert json.loads(rendered["json"]) == {
        "Version": "2012-10-17", "Id": "policy_id",
        "Statement": [
            {"Sid": "1", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
             "Resource": "arn:aws:s3:::*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::foo",
             "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
             "Condition": {"StringLike": {"s3:prefix": ["home/", "", "home/${aws:username}/"]}}},
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::foo/home/${aws:username}/*", "arn:aws:s3:::foo/home/${aws:username}"]},
            {"Effect": "Deny", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::*"},
            {"Effect": "Allow", "Action": "kinesis:*", "Principal": {"AWS": "*"}},
            {"Effect": "Allow", "Action": "firehose:*", "Principal": "*"},
        ]}


def test_json_is_indented_like_go_and_minified_json_is_compact():
    rendered = render_policy_document({"statements": [statement(actions=["sts:*"], resources=["*"])]})
    assert rendered["json"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect"')
    assert rendered["minifiedJson"] == '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}'


def test_a_statement_with_a_sid_in_an_override_replaces_the_one_before():
    base = render_policy_document({"statements": [statement(sid="A", actions=["s3:*"], resources=["*"])]})["json"]
    merged = render_policy_document({"sourcePolicyDocuments": [base], "overridePolicyDocuments": [
        json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "Action": "s3:*",
                                                          "Resource": "*"}]})]})
    assert [s["Effect"] for s in json.loads(merged["json"])["Statement"]] == ["Deny"]


def project(tmp_path, program):
    (tmp_path / "Pulumi.yaml").write_text("name: handwritten\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
    return tmp_path


def test_an_unconditioned_sts_grant_built_with_get_policy_document_is_a_mandatory_finding(tmp_path, capsys):
    project(tmp_path, """\
        import json
        import pulumi_aws as aws
        role = aws.iam.Role("app", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        document = aws.iam.get_policy_document_output(statements=[{"actions": ["sts:*"], "resources": ["*"]}])
        aws.iam.RolePolicy("app-sts", role=role.name, policy=document.json)
        """)
    code = main(["preview", "--cwd", str(tmp_path), "--json", "--quiet", "--no-rehearsal"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {(v["policy"], v["resource"]) for v in report["violations"] if v["enforcement"] == "mandatory"} >= {
        ("token-grants-pinned", "app-sts")}


def test_the_synchronous_form_works_too(tmp_path, capsys):
    project(tmp_path, """\
        import pulumi, pulumi_aws as aws
        document = aws.iam.get_policy_document(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["s3:GetObject"], resources=["arn:aws:s3:::reports/*"])])
        pulumi.export("policy", document.minified_json)
        """)
    code = main(["preview", "--cwd", str(tmp_path), "--json", "--quiet", "--no-rehearsal"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and json.loads(report["outputs"]["policy"])["Statement"][0]["Action"] == "s3:GetObject"
