"""The registry of relying-party kinds: the one list the shared layer iterates.

Adding a kind is one folder beside these and one line in :data:`BUILT_IN` (see
``docs/relying-parties.md``). Kinds shipped by another package register through the
``outbound_federation.relying_parties`` entry point group (a ``RelyingPartyKind`` object), and
tests register a kind for a while with :meth:`Registry.registered`.

Pure Python: importing this loads every kind's rules, audits and review hooks, never a Pulumi
SDK or a cloud client.

Example::

    >>> from components.relying_parties import KINDS
    >>> KINDS.get("gcp").title
    'GCP workload identity pool'
"""

from __future__ import annotations

import contextlib
from importlib import metadata
from typing import Any, Callable, Iterator, Mapping

from .azure import AZURE_APP, AZURE_MANAGED_IDENTITY
from .base import (Audit, AuditedResource, Capacity, Deployment, PlannedTrust, RelyingPartyKind, ReviewHooks, Verdict,
                   load)
from .gcp import GCP
from .kubernetes import KUBERNETES
from .vault import VAULT

BUILT_IN: tuple[RelyingPartyKind, ...] = (AZURE_APP, AZURE_MANAGED_IDENTITY, GCP, KUBERNETES, VAULT)
ENTRY_POINT_GROUP = "outbound_federation.relying_parties"


class RegistryError(ValueError):
    """Two kinds claim the same config key, policy name, resource type or mock answer."""


class Registry:
    """The kinds in order, with their contributions merged for the shared layer."""

    def __init__(self, kinds: tuple[RelyingPartyKind, ...] = (), *, entry_points: bool = False):
        self._kinds: list[RelyingPartyKind] = []
        self._entry_points_loaded = not entry_points
        for kind in kinds:
            self.register(kind)

    # -- membership ------------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            kind = entry.load()
            if self.get(kind.key) is None:
                self.register(kind)

    def register(self, kind: RelyingPartyKind) -> None:
        if any(k.key == kind.key for k in self._kinds):
            raise RegistryError(f"two relying-party kinds use the config key {kind.key!r}")
        self._kinds.append(kind)
        try:
            self._check_contributions()
        except RegistryError:
            self._kinds.remove(kind)
            raise

    def unregister(self, key: str) -> None:
        self._kinds = [k for k in self._kinds if k.key != key]

    @contextlib.contextmanager
    def registered(self, kind: RelyingPartyKind) -> Iterator[RelyingPartyKind]:
        """Register ``kind`` for the duration of a ``with`` block (tests, one-off tools)."""
        self.register(kind)
        try:
            yield kind
        finally:
            self.unregister(kind.key)

    def __iter__(self) -> Iterator[RelyingPartyKind]:
        self._load_entry_points()
        return iter(list(self._kinds))

    def __len__(self) -> int:
        self._load_entry_points()
        return len(self._kinds)

    def get(self, key: str) -> RelyingPartyKind | None:
        return next((k for k in self._kinds if k.key == key), None)

    def keys(self) -> list[str]:
        return [k.key for k in self]

    # -- merged contributions -------------------------------------------------------------------

    def _merged(self, pick: Callable[[RelyingPartyKind], Mapping[str, Any]], what: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for kind in self._kinds:
            for key, value in pick(kind).items():
                if key in merged and merged[key] is not value:
                    raise RegistryError(f"two relying-party kinds give different {what} for {key!r}")
                merged[key] = value
        return merged

    def _check_contributions(self) -> None:
        self.audits()
        self.describers()
        self.mock_resources()
        self.mock_invokes()

    def audits(self) -> list[Audit]:
        """Every kind's audits, once each (two kinds may share one), in registry order."""
        by_name: dict[str, Audit] = {}
        for kind in self._kinds:
            for audit in kind.audits:
                for name in (audit.name, audit.advice):
                    other = by_name.get(name)
                    if other is not None and other is not audit:
                        raise RegistryError(f"two audits are named {name!r}")
                    by_name[name] = audit
        return list(dict.fromkeys(by_name.values()))

    def describers(self) -> dict[str, Callable]:
        return self._merged(lambda k: k.review.describers, "plan lines")

    def mock_resources(self) -> dict[str, Callable]:
        return self._merged(lambda k: k.review.mock_resources, "mock answers")

    def mock_invokes(self) -> dict[str, Callable]:
        return self._merged(lambda k: k.review.mock_invokes, "mock answers")

    def mock_facts(self) -> dict[str, str]:
        facts: dict[str, str] = {}
        for kind in self:
            facts.update(kind.review.mock_facts)
        return facts

    def trust_hooks(self) -> list[Callable]:
        """Each kind's ``trusts`` hook once (two kinds of one folder may share one)."""
        return list(dict.fromkeys(k.review.trusts for k in self if k.review.trusts is not None))

    def plan_facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fact for k in self for fact in k.review.plan_facts))

    def judged_types(self) -> set[str]:
        return {t for k in self for t in k.review.judged_types}

    def public_names(self) -> dict[str, str]:
        """Name -> ``"module:Name"`` of every component class and public type the kinds offer."""
        names: dict[str, str] = {}
        for kind in self:
            for reference in kind.components + kind.public_names:
                names[reference.partition(":")[2]] = reference
        return names

    def commands(self) -> dict[str, list[RelyingPartyKind]]:
        """``fedctl exchange <command>`` -> the kinds it serves (Entra apps and identities share one)."""
        found: dict[str, list[RelyingPartyKind]] = {}
        for kind in self:
            if kind.runtime:
                command = load(f"{kind.runtime}:COMMAND", "runtime")
                found.setdefault(command, []).append(kind)
        return found


KINDS = Registry(BUILT_IN, entry_points=True)
"""Every relying-party kind: the built-in ones, then any other package's (entry points)."""

__all__ = [
    "Audit", "AuditedResource", "BUILT_IN", "Capacity", "Deployment", "KINDS", "PlannedTrust", "Registry", "RegistryError",
    "RelyingPartyKind", "ReviewHooks", "Verdict", "load",
]
