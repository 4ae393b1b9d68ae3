"""`fedctl exchange tailscale` against a loopback stand-in of Tailscale's token exchange.

The stand-in answers ``POST /api/v2/oauth/token-exchange`` (form fields ``client_id`` and ``jwt``,
as tailscale-client-go-v2 sends them) and judges the AWS token as Tailscale does for the
federated identity of that client ID: signature by the issuer's published keys, ``iss`` and
``aud`` exactly, ``sub`` by the identity's ``*`` pattern.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qs

import pytest

from components.relying_parties.tailscale.rules import glob_match
from components.rules.errors import ExchangeError
from fedctl.cli import main
from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin
from fedctl.verify import TokenVerifier

CLIENT = "kFAKE0A1B2C3DCNTRL"
AUDIENCE = "api.tailscale.com/dev-app-tailscale"
EXCHANGE_PATH = "/api/v2/oauth/token-exchange"


class TailscaleStandin:
    """Tailscale's token exchange for some federated identities: client ID -> (issuer, subject, audience)."""

    def __init__(self, identities: Mapping[str, tuple[str, str, str]]):
        self.identities = dict(identities)
        self.exchanges: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.url = ""
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serve(self) -> Iterator["TailscaleStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                if self.path != EXCHANGE_PATH:
                    self.send_json(404, {"message": "not found"})
                    return
                status, document = standin._exchange(self.read_body(), self.headers.get("Content-Type", ""))
                self.send_json(status, document)

        with local_server(Handler, lifetime=60) as server:
            self.url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    def _exchange(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        record = {"client_id": form.get("client_id"), "content_type": content_type}
        with self._lock:
            self.exchanges.append(record)
        identity = self.identities.get(form.get("client_id", ""))
        if identity is None or "jwt" not in form:
            record["outcome"] = "unknown client"
            return 400, {"message": "invalid client_id or missing jwt"}
        issuer, subject, audience = identity
        try:
            claims = TokenVerifier(issuer, [audience], leeway=0).verify(form["jwt"])
        except TokenRejected as rejected:
            record["outcome"] = rejected.reason
            # A careless server echoing what it got: the client must not pass it on.
            return 401, {"message": f"token rejected ({rejected.reason}): {form['jwt']}"}
        if not glob_match(subject, claims["sub"]):
            record["outcome"] = "bad_subject"
            return 401, {"message": "subject does not match the federated identity"}
        token = f"tskey-api-FAKE{uuid.uuid4().hex[:12]}"
        record["outcome"] = "issued"
        with self._lock:
            self.access_tokens.append(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "devices:core:read"}


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
