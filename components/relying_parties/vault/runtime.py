"""At run time: log in to Vault (or OpenBao) with the AWS token, and ``fedctl exchange vault``.

Imports hvac only when called, so the runtime stays importable without it. Neither the AWS token
nor the Vault token is ever printed or logged.

Example::

    supplier = AwsTokenSupplier([AUDIENCE], region="eu-west-1")
    token = vault_token("https://vault.example.com:8200", "prod-exporter", supplier, mount_path="aws-prod-exporter")
    client = hvac.Client(url="https://vault.example.com:8200", token=token)
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any, Callable, Mapping

from ...rules.errors import ExchangeError, missing_dependency
from ..base import TokenSupplier
from .doctor import diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import PROVIDER_DEFAULT_MOUNT

COMMAND = "vault"
"""``fedctl exchange vault``: log in to the workload's Vault role with a fresh AWS token."""



def _hvac() -> Any:
    try:
        import hvac
        import hvac.exceptions
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    return hvac


def _reason(error: Exception) -> str:
    """Vault's own words, without the URL hvac appends (the URL names no secret, but adds nothing)."""
    return str(error).split(", on post ")[0].strip() or type(error).__name__


def vault_login(address: str, role: str, supplier: TokenSupplier, *, mount_path: str = PROVIDER_DEFAULT_MOUNT,
                verify: bool | str = True, timeout: float = 30, namespace: str | None = None) -> dict[str, Any]:
    """Log in at ``<address>/v1/auth/<mount_path>/login`` as ``role`` with a fresh AWS token.

    Returns Vault's ``auth`` answer (``client_token``, ``token_policies``, ``metadata``,
    ``lease_duration``...). ``verify``: False, True or a CA bundle path (a private CA). Raises
    :class:`ExchangeError` when Vault refuses the token (``vault-refused``) or cannot be reached
    (``vault-unreachable``).
    """
    hvac = _hvac()
    import requests

    client = hvac.Client(url=address, verify=verify, timeout=timeout, namespace=namespace)
    where = f"{address.rstrip('/')}/v1/auth/{mount_path.strip('/')}"
    try:
        return client.auth.jwt.jwt_login(role=role, jwt=supplier.get_token(), use_token=False,
                                         path=mount_path.strip("/"))["auth"]
    except hvac.exceptions.VaultError as error:
        raise ExchangeError(f"Vault refused the AWS token for role {role} at {where}: {_reason(error)}",
                            code="vault-refused") from None
    except requests.exceptions.RequestException as error:
        raise ExchangeError(f"Vault at {address} could not be reached: {type(error).__name__}",
                            code="vault-unreachable") from None
    finally:
        client.adapter.close()


def vault_token(address: str, role: str, supplier: TokenSupplier, **kwargs: Any) -> str:
    """A Vault token for ``role``, logged in with a fresh AWS token (see :func:`vault_login`).

    Example::

        client = hvac.Client(url=address, token=vault_token(address, "prod-exporter", supplier,
                                                               mount_path="aws-prod-exporter"))
    """
    return vault_login(address, role, supplier, **kwargs)["client_token"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", help="Vault address (default: the one the stack exports)")
    parser.add_argument("--ca-cert", help="CA bundle (PEM) that signed Vault's certificate, for a private CA")
    parser.add_argument("--namespace", help="Vault Enterprise / OpenBao namespace of the mount")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Log in to the workload's Vault role with its AWS token; report the policies and expiry only.

    ``exported`` is what the stack exports under the workload's ``vault`` key: the ``address``, the
    ``mountPath``, each workload's Vault role (``roles``) and the ``audience`` the role requests.
    """
    from fedctl.exchange import ExchangeResult

    roles = exported.get("roles") or {}
    if workload not in roles:
        raise ExchangeError(f"the stack outputs name no Vault role for workload '{workload}'", code="vault-no-role")
    address = getattr(options, "address", None) or exported["address"]
    role, mount = roles[workload], exported.get("mountPath") or PROVIDER_DEFAULT_MOUNT
    supplier = supplier_for(exported["audience"], "RS256")
    auth = vault_login(address, role, supplier, mount_path=mount, verify=getattr(options, "ca_cert", None) or True,
                       namespace=getattr(options, "namespace", None))
    lease = auth.get("lease_duration")
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=lease) if lease else None
    policies = ", ".join(auth.get("token_policies") or [])
    return ExchangeResult("vault", workload, f"Vault role {role} on auth/{mount} (policies {policies})", expires, 1)
