"""`fedctl exchange saas` against loopback stand-ins of OpenAI's and Anthropic's token endpoints.

Each stand-in (saas_standin.py) takes the request its vendor documents (OpenAI: JSON RFC 8693
``token-exchange`` with ``identity_provider_id`` and ``service_account_id``; Anthropic: JSON RFC 7523
``jwt-bearer`` with ``federation_rule_id`` and ``organization_id`` and the ``anthropic-beta`` header)
and judges the AWS token as the vendor does: signature by the issuer's keys, exact ``iss`` and
``aud``, then the rule made for the role (exact ``sub``, the nested ``aws_account``).
"""

from __future__ import annotations

import argparse
import json

import pytest
from saas_standin import (
    ANTHROPIC_AUDIENCE,
    OPENAI_AUDIENCE,
    ORGANIZATION,
    PROVIDER_ID,
    RULE_ID,
    SERVICE_ACCOUNT,
    VendorStandin,
)

from components.rules.errors import ExchangeError, ValidationError
from fedctl.cli import main
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

@pytest.fixture
def sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


def outputs_file(tmp_path, preset, audience):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"app": {"saas": {"preset": preset, "audience": audience}}}}))
    return path


def exchange(capsys, sts, outputs, *extra):
    code = main(["exchange", "saas", "--workload", "app", "--outputs", str(outputs),
                 "--sts-endpoint", sts.endpoint_url, "--region", "us-east-1", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


OPENAI_IDS = ("--identity-provider-id", PROVIDER_ID, "--service-account-id", SERVICE_ACCOUNT)
ANTHROPIC_IDS = ("--federation-rule-id", RULE_ID, "--organization-id", ORGANIZATION)


def test_openai_exchanges_the_token_as_its_sdk_does(capsys, sts, issuer, tmp_path):
    outputs = outputs_file(tmp_path, "openai", OPENAI_AUDIENCE)
    with VendorStandin("openai", issuer.issuer, OPENAI_AUDIENCE).serve() as openai:
        code, out, err = exchange(capsys, sts, outputs, "--token-url", openai.token_url, *OPENAI_IDS,
                                  "--signing-algorithm", "ES384")
    assert code == 0, err
    assert f"openai: the trust works. service account {SERVICE_ACCOUNT}" in out
    assert openai.requests[-1]["content_type"] == "application/json" and openai.requests[-1]["outcome"] == "issued"
    assert (sts.requests[-1]["Audience"], sts.requests[-1]["SigningAlgorithm"]) == ([OPENAI_AUDIENCE], "ES384")


def test_anthropic_exchanges_the_token_with_the_federation_header(capsys, sts, issuer, tmp_path):
    outputs = outputs_file(tmp_path, "anthropic", ANTHROPIC_AUDIENCE)
    with VendorStandin("anthropic", issuer.issuer, ANTHROPIC_AUDIENCE).serve() as anthropic:
        code, out, err = exchange(capsys, sts, outputs, "--token-url", anthropic.token_url, *ANTHROPIC_IDS,
                                  "--service-account-id", "svac_FAKE0001")
    assert code == 0, err
    assert f"anthropic: the trust works. federation rule {RULE_ID}" in out
    request = anthropic.requests[-1]
    assert request["beta"] == "oauth-2025-04-20,oidc-federation-2026-04-01"
    assert (request["service_account_id"], request["outcome"]) == ("svac_FAKE0001", "issued")
    assert "workspace_id" not in request


def test_no_token_is_printed_even_when_the_vendor_echoes_it(capsys, sts, issuer, tmp_path):
    outputs = outputs_file(tmp_path, "openai", OPENAI_AUDIENCE)
    with VendorStandin("openai", issuer.issuer, "https://api.openai.com/v2").serve() as openai:
        code, out, err = exchange(capsys, sts, outputs, "--token-url", openai.token_url, *OPENAI_IDS)
    assert code == 1 and "OpenAI refused the AWS token (HTTP 401): invalid_grant" in err
    assert sts.tokens[-1] not in out + err and "<token>" in err


@pytest.mark.parametrize("preset, audience, ids", [("openai", OPENAI_AUDIENCE, OPENAI_IDS),
                                                   ("anthropic", ANTHROPIC_AUDIENCE, ANTHROPIC_IDS)])
def test_a_rule_for_another_role_refuses_the_token(capsys, sts, issuer, tmp_path, preset, audience, ids):
    outputs = outputs_file(tmp_path, preset, audience)
    with VendorStandin(preset, issuer.issuer, audience, role=ROLE_ARN + "-other").serve() as vendor:
        code, _, err = exchange(capsys, sts, outputs, "--token-url", vendor.token_url, *ids)
    assert code == 1 and "bad_subject" in err


def test_the_ids_made_in_the_console_are_required(capsys, sts, tmp_path):
    outputs = outputs_file(tmp_path, "openai", OPENAI_AUDIENCE)
    code, _, err = exchange(capsys, sts, outputs, "--identity-provider-id", PROVIDER_ID)
    assert code == 2 and "--service-account-id" in err and sts.calls == 0


def test_a_generic_saas_has_no_exchange_and_says_what_to_do(sts):
    from components.relying_parties.saas.runtime import exchange as saas_exchange

    with pytest.raises(ValidationError) as refused:
        saas_exchange({"preset": "generic", "audience": "https://api.billing.example"}, "app", argparse.Namespace(),
                      supplier_for=lambda audience, algorithm: None)
    assert [v.code for v in refused.value.violations] == ["saas.exchange.no-endpoint"]
    assert "fedctl token" in str(refused.value)


def test_an_assertion_anthropics_sdk_would_not_send_is_refused_before_sending(issuer):
    from components.relying_parties.saas.runtime import anthropic_access_token

    class Supplier:
        def get_token(self) -> str:
            return issuer.mint(ROLE_ARN, ANTHROPIC_AUDIENCE, extra_claims={"padding": "x" * 17_000})

    with pytest.raises(ExchangeError) as refused:
        anthropic_access_token(Supplier(), federation_rule_id=RULE_ID, organization_id=ORGANIZATION,
                               token_url="http://127.0.0.1:9/v1/oauth/token")
    assert refused.value.code == "anthropic-assertion-too-large"
