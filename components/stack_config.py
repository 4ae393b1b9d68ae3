"""The stack's config, parsed once into typed specs: an account section and a list of workloads.

Config flows one way: ``Pulumi.<stack>.yaml`` -> :func:`parse_stack_config` -> :class:`StackSpec`
-> components. The parser knows every key; an unknown or misspelt key, a duplicate workload name
or a broken rule is reported with its path as the user wrote it (``workloads[1].maxDurationSeconds``),
all at once, before anything is registered. Pure Python: the offline preview and the trust
rehearsal read the same specs.

Example stack config::

    outbound-federation:account:
      manage: true
    outbound-federation:workloads:
      - name: reports-exporter
        trustedServices: [lambda.amazonaws.com]
        audiences: ["https://api.example.com"]

Example::

    >>> spec = parse_stack_config({}, [{"name": "ci", "trustedServices": ["ec2.amazonaws.com"],
    ...                                 "audiences": ["https://api.example.com"]}])
    >>> spec.workloads[0].role_args["trusted_services"]
    ['ec2.amazonaws.com']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .rules import ValidationError, Violation, raise_for
from .rules import aws as aws_rules

WORKLOAD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")

ACCOUNT_KEYS = ("manage", "disableOnDestroy")
ROLE_KEYS = (
    "audiences", "maxDurationSeconds", "signingAlgorithms", "allowedTagKeys", "trustedServices",
    "assumeRolePolicy", "roleName", "path", "permissionsBoundary", "tags", "createInstanceProfile",
    "existingRoleArn", "attachTokenPolicy",
)
# Relying-party sections a workload may declare; each maps to one component's args.
TARGET_KEYS: dict[str, tuple[str, ...]] = {}


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class WorkloadSpec:
    """One workload: a role that mints tokens, and the relying parties that trust it."""

    name: str
    role_args: dict[str, Any]
    """FederatedRole args (snake_case), audiences not yet merged with the targets' audiences."""
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Relying-party sections by config key (e.g. ``azureApp``), args in snake_case."""


@dataclass(frozen=True)
class StackSpec:
    account: dict[str, Any]
    """AccountFederation args (snake_case)."""
    workloads: list[WorkloadSpec]


def _snake_section(raw: Any, path: str, allowed: tuple[str, ...], found: list[Violation]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        found.append(Violation(path, raw, "must be a map of settings"))
        return {}
    section = {}
    for key, value in raw.items():
        if key not in allowed:
            hint = next((a for a in allowed if a.lower() == str(key).lower().replace("_", "")), None)
            rule = f"is not a known setting; did you mean {hint}?" if hint else \
                f"is not a known setting (known: {', '.join(allowed)})"
            found.append(Violation(f"{path}.{key}", value, rule))
            continue
        section[camel_to_snake(key)] = value
    return section


def parse_stack_config(account: Any, workloads: Any) -> StackSpec:
    """Parse and validate the ``account`` and ``workloads`` config values.

    Raises :class:`ValidationError` listing every problem, each with its config path.
    """
    found: list[Violation] = []
    account_args = _snake_section(account, "account", ACCOUNT_KEYS, found)
    found += aws_rules.check_account_federation_args(account_args, "account.", snake_to_camel)

    specs: list[WorkloadSpec] = []
    if workloads is None:
        workloads = []
    if not isinstance(workloads, list):
        found.append(Violation("workloads", workloads, "must be a list of workloads"))
        workloads = []
    seen: set[str] = set()
    for index, raw in enumerate(workloads):
        path = f"workloads[{index}]"
        if not isinstance(raw, Mapping):
            found.append(Violation(path, raw, "must be a map with at least a name"))
            continue
        name = raw.get("name")
        if not isinstance(name, str) or not WORKLOAD_NAME_PATTERN.match(name):
            found.append(Violation(
                f"{path}.name", name,
                "must be 2-40 characters of lowercase letters, digits and hyphens, starting with a letter",
            ))
            name = f"workload-{index}"
        elif name in seen:
            found.append(Violation(f"{path}.name", name, "is used by another workload: names must be unique"))
        seen.add(name)

        allowed = ("name",) + ROLE_KEYS + tuple(TARGET_KEYS)
        role_raw = {k: v for k, v in raw.items() if k not in TARGET_KEYS}
        role_args = _snake_section(role_raw, path, allowed, found)
        role_args.pop("name", None)
        targets = {
            key: _snake_section(raw[key], f"{path}.{key}", TARGET_KEYS[key], found)
            for key in TARGET_KEYS if raw.get(key) is not None
        }
        # Audiences may come from the targets alone; only the explicit ones are checked here.
        checked = dict(role_args)
        if not checked.get("audiences") and targets:
            checked["audiences"] = ["<from relying parties>"]
        found += aws_rules.check_federated_role_args(checked, f"{path}.", snake_to_camel)
        specs.append(WorkloadSpec(name=name, role_args=role_args, targets=targets))

    raise_for("stack config", found)
    return StackSpec(account=account_args, workloads=specs)


__all__ = ["StackSpec", "WorkloadSpec", "parse_stack_config", "ValidationError", "TARGET_KEYS"]
