"""`fedctl exchange tailscale` against a loopback stand-in of Tailscale's token exchange.

The stand-in (tailscale_standin.py) answers ``POST /api/v2/oauth/token-exchange`` (form fields
``client_id`` and ``jwt``, as tailscale-client-go-v2 sends them) and judges the AWS token as
Tailscale does for the federated identity of that client ID: signature by the issuer's published
keys, ``iss`` and ``aud`` exactly, ``sub`` by the identity's ``*`` pattern.
"""

from __future__ import annotations

import json

import pytest
from tailscale_standin import TailscaleStandin

from components.rules.errors import ExchangeError
from fedctl.cli import main
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin

CLIENT = "kFAKE0A1B2C3DCNTRL"
AUDIENCE = "api.tailscale.com/dev-app-tailscale"


@pytest.fixture
def sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


@pytest.fixture
def outputs(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"workloads": {"app": {"tailscale": {"audience": AUDIENCE, "clientId": CLIENT}}}}))
    return path


def exchange(capsys, sts, standin, outputs, *extra):
    code = main(["exchange", "tailscale", "--workload", "app", "--outputs", str(outputs), "--api-url", standin.url,
                 "--sts-endpoint", sts.endpoint_url, "--region", "us-east-1", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_workloads_token_is_exchanged_for_its_identitys_client_id(capsys, sts, issuer, outputs):
    with TailscaleStandin({CLIENT: (issuer.issuer, ROLE_ARN, AUDIENCE)}).serve() as tailscale:
        code, out, err = exchange(capsys, sts, tailscale, outputs)
    assert code == 0, err
    assert f"tailscale: the trust works. federated identity {CLIENT}" in out
    assert tailscale.exchanges == [{"client_id": CLIENT, "content_type": "application/x-www-form-urlencoded",
                                    "outcome": "issued"}]
    assert sts.requests[-1]["Audience"] == [AUDIENCE]


def test_the_access_token_and_the_aws_token_are_never_printed(capsys, sts, issuer, outputs):
    with TailscaleStandin({CLIENT: (issuer.issuer, ROLE_ARN, AUDIENCE)}).serve() as tailscale:
        _, out, err = exchange(capsys, sts, tailscale, outputs)
    assert tailscale.access_tokens[0] not in out + err and sts.tokens[-1] not in out + err


def test_a_pattern_identity_takes_the_roles_it_matches(capsys, sts, issuer, outputs):
    pattern = ROLE_ARN.rsplit("/", 1)[0] + "/*"
    with TailscaleStandin({CLIENT: (issuer.issuer, pattern, AUDIENCE)}).serve() as tailscale:
        code, _, err = exchange(capsys, sts, tailscale, outputs)
    assert code == 0, err


def test_an_identity_for_another_role_refuses_and_the_command_exits_1_without_the_token(capsys, sts, issuer, outputs):
    other = ROLE_ARN.replace("/app", "/other")
    with TailscaleStandin({CLIENT: (issuer.issuer, other, AUDIENCE)}).serve() as tailscale:
        code, out, err = exchange(capsys, sts, tailscale, outputs)
    assert code == 1 and "Tailscale refused the AWS token" in err
    assert tailscale.exchanges[-1]["outcome"] == "bad_subject"


def test_a_token_for_another_audience_is_refused_and_an_echoed_token_is_not_repeated(capsys, sts, issuer, outputs):
    with TailscaleStandin({CLIENT: (issuer.issuer, ROLE_ARN, "api.tailscale.com/other")}).serve() as tailscale:
        code, out, err = exchange(capsys, sts, tailscale, outputs)
    assert code == 1 and tailscale.exchanges[-1]["outcome"] == "bad_audience"
    assert sts.tokens[-1] not in out + err and "<token>" in err


def test_the_signing_algorithm_asked_for_is_the_one_requested(capsys, sts, issuer, outputs):
    with TailscaleStandin({CLIENT: (issuer.issuer, ROLE_ARN, AUDIENCE)}).serve() as tailscale:
        code, _, err = exchange(capsys, sts, tailscale, outputs, "--signing-algorithm", "ES384")
    assert code == 0, err
    assert sts.requests[-1]["SigningAlgorithm"] == "ES384"


def test_a_workload_without_a_client_id_is_told_to_give_one(sts):
    import argparse

    from components.relying_parties.tailscale.runtime import exchange as tailscale_exchange

    with pytest.raises(ExchangeError) as refused:
        tailscale_exchange({"audience": AUDIENCE}, "app", argparse.Namespace(), supplier_for=lambda a, b: None)
    assert refused.value.code == "tailscale-no-client"


def test_an_unreachable_exchange_is_an_error_that_names_the_url(sts, issuer):
    from components.relying_parties.tailscale.runtime import tailscale_access_token

    class Supplier:
        def get_token(self) -> str:
            return issuer.mint(ROLE_ARN, AUDIENCE)

    with pytest.raises(ExchangeError) as refused:
        tailscale_access_token(CLIENT, Supplier(), api_url="http://127.0.0.1:9", timeout=2)
    assert refused.value.code == "tailscale-unreachable" and "127.0.0.1:9" in str(refused.value)
