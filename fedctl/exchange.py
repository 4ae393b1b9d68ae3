"""Prove a deployed trust works: mint the workload's AWS token and exchange it at its relying party.

Reads what to use from the stack's outputs (``pulumi stack output --json``): under
``workloads.<name>.<relying party key>`` each relying party exports what its exchange needs,
always with the ``audience`` the role requests. Each kind's exchange lives in its folder
(``components/relying_parties/<kind>/runtime.py``); this module only finds the workload's relying
party and hands it a token supplier. Access tokens are never printed: success is reported with
the expiry only.

Example::

    outputs = json.loads(subprocess.check_output(["pulumi", "stack", "output", "--json"]))
    result = exchange("azure", outputs, "reports-reader", options)
    print(result.summary)
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import ExchangeError, ValidationError


@dataclass(frozen=True)
class ExchangeResult:
    relying_party: str
    workload: str
    principal: str
    expires_at: dt.datetime | None
    attempts: int

    @property
    def summary(self) -> str:
        when = self.expires_at.isoformat() if self.expires_at else "unknown"
        return (f"{self.relying_party}: the trust works. {self.principal} got an access token for workload "
                f"'{self.workload}' (expires {when}) after {self.attempts} attempt(s).")


def workload_outputs(outputs: Mapping[str, Any], workload: str) -> Mapping[str, Any]:
    workloads = outputs.get("workloads") or {}
    if workload not in workloads:
        known = ", ".join(sorted(workloads)) or "none"
        raise ExchangeError(f"no workload '{workload}' in the stack outputs (workloads: {known})",
                            code="unknown-workload")
    return workloads[workload]


def token_supplier_factory(*, region: str | None, sts_client: Any,
                           progress: Callable[[str], None] | None = None) -> Callable[[str, str], Any]:
    """``supplier_for(audience, algorithm)``: an AwsTokenSupplier for one relying party's request.

    A command exchanges and exits, so no background refresh; ``progress`` hears what a newly
    enabled account makes it wait for.
    """
    def supplier_for(audience: str, algorithm: str) -> Any:
        from .tokens import AwsTokenSupplier

        return AwsTokenSupplier([audience], signing_algorithm=algorithm, region=region, sts_client=sts_client,
                                background_refresh=False, progress=progress)
    return supplier_for


def exchange(
    command: str,
    outputs: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], Any],
    progress: Callable[[str], None] = lambda message: None,
    **hooks: Any,
) -> ExchangeResult:
    """Run ``fedctl exchange <command>`` for one workload: find its relying party, exchange its token."""
    from components.relying_parties import KINDS

    kinds = KINDS.commands().get(command)
    if not kinds:
        raise ValidationError("fedctl exchange", [_unknown_command(command)])
    exported = workload_outputs(outputs, workload)
    present = [kind for kind in kinds if exported.get(kind.key)]
    chosen = getattr(options, "relying_party", None)
    if chosen:
        present = [kind for kind in present if kind.key == chosen]
    if not present:
        names = " or ".join(kind.key for kind in kinds)
        raise ExchangeError(f"workload '{workload}' has no {names} relying party in the stack outputs",
                            code="no-relying-party")
    if len(present) > 1:
        raise ExchangeError(f"workload '{workload}' is trusted by {' and '.join(k.key for k in present)}: "
                            "choose one with --relying-party", code="ambiguous-relying-party")
    kind = present[0]
    runtime = kind.load(kind.runtime)
    return runtime.exchange(exported[kind.key], workload, options, supplier_for=supplier_for, progress=progress,
                            **hooks)


def _unknown_command(command: str) -> Any:
    from components.relying_parties import KINDS
    from components.rules import Violation

    return Violation("relying party", command, f"is not one fedctl can exchange with (known: "
                     f"{', '.join(sorted(KINDS.commands()))})", code="exchange.unknown-relying-party")
