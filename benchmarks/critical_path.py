"""The deploy critical path: the longest chain of resources the engine must create one after another.

Built from the recorded registrations (:class:`~fedctl.testing.mocks.Registration`), with the
edges the engine actually waits on:

- a resource waits for its ``dependencies`` and ``property_dependencies`` (its inputs' sources
  and ``depends_on``);
- a dependency on a *component* means waiting for everything the component contains (the engine
  expands it to the component's custom descendants);
- a child waits for a *custom* parent (its URN is only known once that parent exists), never for
  a component parent, which is registered immediately and "finishes" only when its children do.

Components take no time themselves, so the depth counts custom resources only. Azure managed
identity credentials under one identity are created one after another on purpose (Azure answers
409 to concurrent writes): that chain is reported separately as ``credential_chain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

IDENTITY_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"


@dataclass
class CriticalPath:
    depth: int
    """Custom resources on the longest chain (0 for a stack without custom resources)."""
    chain: list[str] = field(default_factory=list)
    """The URNs of one longest chain, first created first."""
    credential_chain: int = 0
    """The longest run of managed identity credentials waiting on one another."""

    @property
    def depth_without_credential_chain(self) -> int:
        """The depth if each identity's credentials could be written at once."""
        return self.depth - max(self.credential_chain - 1, 0)


def waits_on(registrations: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each custom resource: the custom resources the engine waits for before creating it."""
    children: dict[str, list[str]] = {}
    for urn, registration in registrations.items():
        children.setdefault(registration.parent, []).append(urn)

    expanded: dict[str, frozenset[str]] = {}

    def customs_in(urn: str) -> frozenset[str]:
        """The custom resources a dependency on ``urn`` stands for."""
        if urn in expanded:
            return expanded[urn]
        registration = registrations.get(urn)
        if registration is None:  # the stack, a provider, a resource the record does not know
            result: frozenset[str] = frozenset()
        elif registration.custom:
            result = frozenset({urn})
        else:
            found: set[str] = set()
            pending = list(children.get(urn, []))
            while pending:
                child = pending.pop()
                if registrations[child].custom:
                    found.add(child)
                else:
                    pending.extend(children.get(child, []))
            result = frozenset(found)
        expanded[urn] = result
        return result

    edges: dict[str, set[str]] = {}
    for urn, registration in registrations.items():
        if not registration.custom:
            continue
        direct = set(registration.dependencies)
        for urns in registration.property_dependencies.values():
            direct.update(urns)
        parent = registrations.get(registration.parent)
        if parent is not None and parent.custom:
            direct.add(registration.parent)
        waits: set[str] = set()
        for dependency in direct:
            waits |= customs_in(dependency)
        waits.discard(urn)
        edges[urn] = waits
    return edges


def critical_path(registrations: Mapping[str, Any]) -> CriticalPath:
    """The longest wait chain through the recorded registrations (see the module docstring)."""
    edges = waits_on(registrations)
    depth: dict[str, int] = {}
    via: dict[str, str | None] = {}
    runs: dict[str, int] = {}
    # Iterative depth-first longest path (the graph is a DAG: the SDK cannot register cycles).
    for start in edges:
        stack = [(start, False)]
        while stack:
            urn, expanded = stack.pop()
            if urn in depth:
                continue
            if not expanded:
                stack.append((urn, True))
                stack.extend((dep, False) for dep in edges[urn] if dep not in depth)
                continue
            best, best_dep = 0, None
            for dep in sorted(edges[urn]):
                if depth[dep] > best:
                    best, best_dep = depth[dep], dep
            depth[urn], via[urn] = best + 1, best_dep
            same = [dep for dep in edges[urn] if registrations[dep].type == IDENTITY_CREDENTIAL]
            own = registrations[urn].type == IDENTITY_CREDENTIAL
            runs[urn] = (1 + max((runs[d] for d in same), default=0)) if own else 0
    if not depth:
        return CriticalPath(0)
    end = max(sorted(depth), key=lambda u: depth[u])
    chain: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        chain.append(cursor)
        cursor = via[cursor]
    return CriticalPath(depth[end], list(reversed(chain)), max(runs.values(), default=0))
