"""A kube-apiserver stand-in that authenticates bearer tokens with a structured JWT authenticator.

``POST /apis/authentication.k8s.io/v1/selfsubjectreviews`` answers with the user the token signs in
as, judged the way kube-apiserver documents it (kubernetes/website ``authentication.md``): for each
``jwt[]`` authenticator of its AuthenticationConfiguration, the signature against the issuer's keys,
``iss`` equal to ``issuer.url``, ``aud`` one of ``issuer.audiences``, the lifetime; then the claim
mappings and validation rules with the project's CEL evaluator. No authenticator takes it: 401.

Example::

    with KubeApiServerStandin(configuration).serve() as api:
        fedctl exchange kubernetes --server {api.url} ...
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Mapping

from fedctl.errors import TokenRejected, ValidationError
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.verify import TokenVerifier

REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


class KubeApiServerStandin:
    """An API server whose authentication configuration is ``configuration`` (a dict, as the YAML loads).

    Attributes:
        reviews: One dict per review: ``outcome`` (the username, or ``unauthorized``).
    """

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        self.configuration = configuration
        self.reviews: list[dict[str, Any]] = []
        self.url: str | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["KubeApiServerStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.read_body()
                if self.path.split("?", 1)[0] != REVIEW_PATH:
                    self.send_json(404, {"kind": "Status", "code": 404})
                    return
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                user = standin._authenticate(token) if scheme == "Bearer" else None
                with standin._lock:
                    standin.reviews.append({"outcome": user["username"] if user else "unauthorized"})
                if user is None:
                    self.send_json(401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401})
                    return
                self.send_json(201, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                                     "status": {"userInfo": {"username": user["username"],
                                                             "groups": [*user["groups"], "system:authenticated"]}}})

        with local_server(Handler, lifetime=lifetime) as server:
            self.url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    def _authenticate(self, token: str) -> dict[str, Any] | None:
        from components.relying_parties.kubernetes.cel import KubernetesCel

        cel = KubernetesCel()
        for authenticator in self.configuration.get("jwt") or []:
            issuer = authenticator.get("issuer") or {}
            try:
                claims = TokenVerifier(issuer.get("url"), list(issuer.get("audiences") or []), leeway=0).verify(token)
            except (TokenRejected, ValidationError):
                continue
            accepted, user = cel.judge(authenticator, claims)
            if accepted:
                return user
        return None


__all__ = ["KubeApiServerStandin", "REVIEW_PATH"]
