"""``fedctl exchange snowflake``: the connector's parameters from the stack outputs, and ``--check``."""

import argparse
import json
from dataclasses import replace

import pytest
from conftest import ROOT

from fedctl.cli import main
from fedctl.errors import ExchangeError
from fedctl.exchange import exchange
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.testing.issuer import LocalIssuer

ROLE = "arn:aws:iam::123456789012:role/workloads/loader"
EXPORTED = {"audience": "snowflakecomputing.com", "account": "MYORG-ANALYTICS", "userName": "AWS_DEV_LOADER",
            "issuer": "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws", "roleArn": ROLE}


def outputs_file(tmp_path, exported=EXPORTED):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"loader": {"roleArn": ROLE, "snowflake": exported}}}))
    return str(path)


def printed(capsys, tmp_path, *extra, exported=EXPORTED):
    code = main(["exchange", "snowflake", "--workload", "loader", "--outputs", outputs_file(tmp_path, exported),
                 "--region", "eu-west-1", *extra])
    return code, capsys.readouterr()


# -- the parameters ----------------------------------------------------------------------------------

def test_it_prints_the_connectors_parameters_and_the_environment_to_set(capsys, tmp_path):
    code, out = printed(capsys, tmp_path)
    document = json.loads(out.out)
    assert code == 0
    assert document["connect"] == {"account": "MYORG-ANALYTICS", "user": "AWS_DEV_LOADER",
                                   "authenticator": "WORKLOAD_IDENTITY", "workload_identity_provider": "AWS"}
    assert document["environment"] == {"SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN": "true"}
    assert document["requires"] == "snowflake-connector-python>=4.5.0"
    assert "checked" not in document


def test_without_check_it_mints_no_token(tmp_path):
    asked = []
    result = exchange("snowflake", json.loads(open(outputs_file(tmp_path)).read()), "loader",
                      argparse.Namespace(check=False), supplier_for=lambda *a: asked.append(a))
    assert asked == [] and result.expires_at is None


def test_outputs_of_an_older_stack_are_reported_as_not_checkable(capsys, tmp_path):
    code, out = printed(capsys, tmp_path, exported={"audience": "snowflakecomputing.com", "account": "MYORG-X"})
    assert code == 2 and "snowflake.userName" in out.err and out.out == ""


def test_the_stack_exports_what_the_exchange_reads(tmp_path):
    project = load_project(ROOT, "dev")
    workloads = [{"name": "loader", "trustedServices": ["lambda.amazonaws.com"], "signingAlgorithms": ["ES384"],
                  "snowflake": {"account": "MYORG-ANALYTICS"}}]
    config = {**project.config, "outbound-federation:workloads": json.dumps(workloads),
              "snowflake:experimentalFeaturesEnableds": json.dumps(["USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"])}
    run = run_program(replace(project, config=config))
    result = exchange("snowflake", json.loads(json.dumps(run.outputs, default=str)), "loader",
                      argparse.Namespace(check=False), supplier_for=lambda *a: None)
    assert json.loads(result.summary)["connect"]["user"] == "AWS_DEV_LOADER"


# -- --check: the token the connector would send, verified against the user's workload identity -------

class Supplier:
    def __init__(self, token):
        self.token = token

    def get_token(self):
        return self.token


@pytest.fixture
def served():
    local = LocalIssuer()
    with local.serve():
        yield local


def check(served, token, **exported):
    asked = []

    def supplier_for(audience, algorithm):
        asked.append((audience, algorithm))
        return Supplier(token)

    values = {**EXPORTED, "issuer": served.issuer, **exported}
    result = exchange("snowflake", {"workloads": {"loader": {"snowflake": values}}}, "loader",
                      argparse.Namespace(check=True), supplier_for=supplier_for)
    return result, asked


def test_check_asks_for_the_connectors_token_and_finds_it_matches(served):
    token = served.mint(ROLE, "snowflakecomputing.com", algorithm="ES384")
    result, asked = check(served, token)
    assert asked == [("snowflakecomputing.com", "ES384")]
    document = json.loads(result.summary)
    assert "matches user AWS_DEV_LOADER's workload identity" in document["checked"]
    assert result.expires_at is not None and token not in result.summary


@pytest.mark.parametrize("claims", [
    dict(sub="arn:aws:iam::123456789012:role/workloads/other", aud="snowflakecomputing.com", algorithm="ES384"),
    dict(sub=ROLE, aud="https://unrelated.example.com", algorithm="ES384"),
    dict(sub=ROLE, aud="snowflakecomputing.com", algorithm="RS256"),
])
def test_check_refuses_a_token_that_does_not_match(served, claims):
    token = served.mint(claims.pop("sub"), claims.pop("aud"), **claims)
    with pytest.raises(ExchangeError) as refused:
        check(served, token)
    assert refused.value.code == "snowflake-identity-mismatch" and refused.value.exit_code == 1
    assert token not in str(refused.value)


def test_check_refuses_a_token_of_another_issuer(served):
    other = LocalIssuer("https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws")
    with pytest.raises(ExchangeError):
        check(served, other.mint(ROLE, "snowflakecomputing.com", algorithm="ES384"))


def test_check_needs_the_workload_identity_in_the_outputs(served):
    with pytest.raises(Exception) as refused:
        check(served, "unused", roleArn="")
    assert refused.value.code == "snowflake-outputs-incomplete"
