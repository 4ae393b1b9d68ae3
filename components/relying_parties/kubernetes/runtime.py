"""At run time: the AWS token as kubectl's credential, and ``fedctl exchange kubernetes``.

The API server takes the AWS token itself as a bearer token; there is nothing to exchange it for.
So the runtime offers two things, with the standard library only:

- ``fedctl token --audience <aud> --format kubernetes-exec-credential``: the ``ExecCredential``
  (``client.authentication.k8s.io/v1``) a kubeconfig's ``users[].user.exec`` plugin prints, with the
  token and its expiry, so kubectl asks again before it expires;
- ``fedctl exchange kubernetes --server https://<api server>``: presents the token in a
  ``SelfSubjectReview`` (``POST /apis/authentication.k8s.io/v1/selfsubjectreviews``, GA since
  Kubernetes 1.28) and reports the username the cluster mapped it to, proving the authenticator works.

Example kubeconfig user::

    users:
      - name: aws
        user:
          exec:
            apiVersion: client.authentication.k8s.io/v1
            command: fedctl
            args: [token, --audience, "kubernetes:prod-eu", --format, kubernetes-exec-credential]
            interactiveMode: Never
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ...rules.errors import ExchangeError, ValidationError
from ..base import TokenSupplier
from .doctor import diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import EXEC_CREDENTIAL_API_VERSION

COMMAND = "kubernetes"
"""``fedctl exchange kubernetes``: ask the cluster who the workload's token signs in as."""
REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def exec_credential(token: str, expires_in: float | None) -> str:
    """kubectl's ExecCredential (client.authentication.k8s.io/v1) for a kubeconfig exec plugin"""
    status: dict[str, Any] = {"token": token}
    if expires_in is not None:
        # kubectl compares the expiry with this host's clock: now plus the life AWS gave the token.
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=expires_in)
        status["expirationTimestamp"] = expires.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return json.dumps({"apiVersion": EXEC_CREDENTIAL_API_VERSION, "kind": "ExecCredential", "status": status})


TOKEN_FORMATS = {"kubernetes-exec-credential": exec_credential}



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="the API server URL, e.g. https://prod-eu.example.com:6443 (required)")
    parser.add_argument("--certificate-authority", help="PEM file of the CA that signed the API server's certificate "
                                                        "(default: the system's)")


def self_subject_review(server: str, token: str, *, ca_file: str | None = None, timeout: float = 30) -> dict[str, Any]:
    """The cluster's ``SelfSubjectReview`` for this token: its ``status.userInfo`` (username, groups)."""
    parts = urlsplit(server)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise ValidationError("fedctl exchange kubernetes", [_server_violation(server)])
    request = urllib.request.Request(
        server.rstrip("/") + REVIEW_PATH, method="POST",
        data=json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    context = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return (json.load(response).get("status") or {}).get("userInfo") or {}
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise ExchangeError(f"the API server at {server} refused the AWS token (401 Unauthorized): its JWT "
                                "authenticator does not accept this role's token (issuer, audience or claim rules)",
                                code="kubernetes-refused") from None
        raise ExchangeError(f"the API server at {server} answered {error.code} to a SelfSubjectReview",
                            code="kubernetes-error") from None
    except (urllib.error.URLError, OSError) as error:
        raise ExchangeError(f"could not reach the API server at {server}: {getattr(error, 'reason', error)}",
                            code="kubernetes-unreachable") from None


def _server_violation(server: str) -> Any:
    from ...rules import Violation

    return Violation("--server", server, "must be an https URL of the API server", code="kubernetes.server.scheme")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Present the workload's AWS token to the API server and report the user it signs in as.

    ``exported`` is what the stack exports for the workload's ``kubernetes`` relying party: the
    ``audience`` its role requests and the ``usernames`` the authenticator maps.
    """
    from fedctl.exchange import ExchangeResult

    server = getattr(options, "server", None)
    if not server:
        raise ValidationError("fedctl exchange kubernetes", [_missing_server()])
    supplier = supplier_for(exported["audience"], "RS256")
    started = time.time()
    user = self_subject_review(server, supplier.get_token(), ca_file=getattr(options, "certificate_authority", None))
    username = user.get("username") or "an unnamed user"
    expected = set((exported.get("usernames") or {}).values())
    if expected and username not in expected:
        raise ExchangeError(f"the API server signed the token in as {username!r}, not one of the mapped users "
                            f"{sorted(expected)}: another authenticator of the cluster took it", code="kubernetes-other-user")
    expires = getattr(supplier, "expires_in", None)
    expiry = dt.datetime.fromtimestamp(started + expires, dt.timezone.utc) if isinstance(expires, (int, float)) else None
    return ExchangeResult("kubernetes", workload, f"Kubernetes user {username}", expiry, 1)


def _missing_server() -> Any:
    from ...rules import Violation

    return Violation("--server", None, "is required: the URL of the cluster's API server", code="kubernetes.server.missing")
