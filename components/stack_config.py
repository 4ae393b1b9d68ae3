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

With many AWS accounts, ``accounts`` names each one and how to reach it, and a workload names
the account it lives in (without ``account``, it lives in the account the stack's own AWS
credentials reach, configured by ``account``)::

    outbound-federation:accounts:
      - name: payments
        accountId: "111111111111"
        assumeRoleArn: arn:aws:iam::111111111111:role/federation-deployer
        manage: true

Example::

    >>> spec = parse_stack_config({}, [{"name": "ci", "trustedServices": ["ec2.amazonaws.com"],
    ...                                 "audiences": ["https://api.example.com"]}])
    >>> spec.workloads[0].role_args["trusted_services"]
    ['ec2.amazonaws.com']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .rules import ValidationError, Violation, raise_for
from .rules import aws as aws_rules
from .rules import azure as azure_rules
from .rules import gcp as gcp_rules

WORKLOAD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")

ACCOUNT_KEYS = ("manage", "disableOnDestroy")
NAMED_ACCOUNT_KEYS = ("name", "accountId", "assumeRoleArn", "region") + ACCOUNT_KEYS
ROLE_KEYS = (
    "audiences", "maxDurationSeconds", "signingAlgorithms", "allowedTagKeys", "trustedServices",
    "assumeRolePolicy", "roleName", "path", "permissionsBoundary", "tags", "createInstanceProfile",
    "existingRoleArn", "attachTokenPolicy",
)


class Deferred:
    """Stands for a value only known at deploy time (a role's ARN, the account issuer).

    The rules skip values that are not plain (see ``components.rules.is_plain``), so checking a
    target's settings with Deferred issuer and subjects judges exactly what the config decides.
    """

    def apply(self, *_: Any) -> "Deferred":
        return self

    def is_known(self) -> bool:
        return False


DEFERRED = Deferred()


@dataclass(frozen=True)
class TargetKind:
    """A relying-party section a workload may declare, and the component it becomes."""

    key: str
    """The config key, e.g. ``azureApp``."""
    settings: tuple[str, ...]
    """The camelCase settings it accepts."""
    check: Callable[..., list[Violation]]
    """The rules' arg check for the component (args, prefix, spell)."""
    shared_by: Callable[[Mapping[str, Any]], tuple | None]
    """What makes two workloads' sections the same relying party (None: never shared)."""
    needs_rs256: bool = False


TARGETS: dict[str, TargetKind] = {
    kind.key: kind for kind in (
        TargetKind(
            key="azureApp",
            settings=("displayName", "description", "audience", "owners", "roleAssignments",
                      "existingApplicationObjectId", "existingServicePrincipalObjectId", "existingCredentialCount"),
            check=azure_rules.check_azure_app_trust_args,
            shared_by=lambda a: ("app", a.get("existing_application_object_id") or a.get("display_name"))
            if a.get("existing_application_object_id") or a.get("display_name") else None,
            needs_rs256=True,
        ),
        TargetKind(
            key="azureManagedIdentity",
            settings=("identityName", "resourceGroupName", "location", "tags", "existingIdentityName", "audience",
                      "roleAssignments", "existingCredentialCount"),
            check=azure_rules.check_managed_identity_trust_args,
            shared_by=lambda a: ("identity", a.get("resource_group_name"),
                                 a.get("existing_identity_name") or a.get("identity_name")),
            needs_rs256=True,
        ),
        TargetKind(
            key="gcp",
            settings=("project", "poolId", "providerId", "idGeneration", "allowedAudiences", "serviceAccountEmail",
                      "createServiceAccount"),
            check=gcp_rules.check_gcp_trust_args,
            shared_by=lambda a: ("pool", a.get("project"), a.get("pool_id"), a.get("provider_id"))
            if a.get("pool_id") and a.get("provider_id") else None,
        ),
    )
}
TARGET_KEYS = {key: kind.settings for key, kind in TARGETS.items()}


def credential_name(stack: str, workload: str) -> str:
    """The federated credential name for a workload: stable, unique per stack, in Entra's charset."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{stack}-{workload}")[:120]


@dataclass(frozen=True)
class RelyingParty:
    """One relying party of the stack, trusted by one or more workloads' roles."""

    kind: str
    """The config key of its kind (``azureApp``, ``azureManagedIdentity``, ``gcp``)."""
    args: dict[str, Any]
    """The component args from config (snake_case), without issuer and subjects."""
    workloads: list[str]
    """The workloads whose roles it trusts, in config order."""
    account: str | None = None
    """The named account of those workloads (their issuer), or None for the stack's own."""


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
    account: str | None = None
    """The named account it lives in, or None for the stack's own account."""


@dataclass(frozen=True)
class AccountSpec:
    """An AWS account of an organisation: how to reach it, and whether this stack owns its switch."""

    name: str
    account_id: str
    assume_role_arn: str
    region: str | None
    federation: dict[str, Any]
    """AccountFederation args (snake_case)."""


@dataclass(frozen=True)
class StackSpec:
    account: dict[str, Any]
    """AccountFederation args (snake_case)."""
    workloads: list[WorkloadSpec]
    relying_parties: list[RelyingParty] = field(default_factory=list)
    """Every relying party, once, with the workloads it trusts (shared ones merged)."""
    accounts: list[AccountSpec] = field(default_factory=list)
    """Named accounts (many-account organisations); empty for a single-account stack."""


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


def _parse_accounts(accounts: Any, found: list[Violation]) -> list[AccountSpec]:
    if accounts is None:
        return []
    if not isinstance(accounts, list):
        found.append(Violation("accounts", accounts, "must be a list of accounts"))
        return []
    specs, names, ids = [], set(), set()
    for index, raw in enumerate(accounts):
        path = f"accounts[{index}]"
        section = _snake_section(raw, path, NAMED_ACCOUNT_KEYS, found)
        name, account_id, role = section.get("name"), section.get("account_id"), section.get("assume_role_arn")
        if not isinstance(name, str) or not WORKLOAD_NAME_PATTERN.match(name):
            found.append(Violation(f"{path}.name", name, "must be 2-40 characters of lowercase letters, digits "
                                                         "and hyphens, starting with a letter"))
        elif name in names:
            found.append(Violation(f"{path}.name", name, "is used by another account: names must be unique"))
        found += aws_rules.check_account_id(account_id, f"{path}.accountId")
        if account_id in ids:
            found.append(Violation(f"{path}.accountId", account_id, "is listed twice"))
        found += aws_rules.check_subject_account(role, account_id, f"{path}.assumeRoleArn") \
            if isinstance(account_id, str) else []
        federation = {k: v for k, v in section.items() if k in ("manage", "disable_on_destroy")}
        found += aws_rules.check_account_federation_args(federation, f"{path}.", snake_to_camel)
        names.add(name)
        ids.add(account_id)
        specs.append(AccountSpec(name=str(name), account_id=str(account_id), assume_role_arn=str(role),
                                 region=section.get("region"), federation=federation))
    return specs


def parse_stack_config(account: Any, workloads: Any, stack: str = "stack", accounts: Any = None) -> StackSpec:
    """Parse and validate the ``account``, ``workloads`` and ``accounts`` config values for a stack.

    Raises :class:`ValidationError` listing every problem, each with its config path.
    """
    found: list[Violation] = []
    account_args = _snake_section(account, "account", ACCOUNT_KEYS, found)
    found += aws_rules.check_account_federation_args(account_args, "account.", snake_to_camel)
    named_accounts = _parse_accounts(accounts, found)
    account_ids = {a.name: a.account_id for a in named_accounts}

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

        allowed = ("name", "account") + ROLE_KEYS + tuple(TARGET_KEYS)
        role_raw = {k: v for k, v in raw.items() if k not in TARGET_KEYS}
        role_args = _snake_section(role_raw, path, allowed, found)
        role_args.pop("name", None)
        home = role_args.pop("account", None)
        if home is not None and home not in account_ids:
            found.append(Violation(f"{path}.account", home,
                                   f"is not a named account (accounts: {', '.join(account_ids) or 'none'})"))
        elif home is not None and isinstance(role_args.get("existing_role_arn"), str):
            # An issuer only vouches for its own account's roles: catch a mismatch at preview.
            found += aws_rules.check_subject_account(role_args["existing_role_arn"], account_ids[home],
                                                     f"{path}.existingRoleArn")
        targets = {
            key: _snake_section(raw[key], f"{path}.{key}", TARGET_KEYS[key], found)
            for key in TARGET_KEYS if raw.get(key) is not None
        }
        # Audiences may come from the targets alone; only the explicit ones are checked here.
        checked = dict(role_args)
        if not checked.get("audiences") and targets:
            checked["audiences"] = [DEFERRED]
        found += aws_rules.check_federated_role_args(checked, f"{path}.", snake_to_camel)
        if any(TARGETS[key].needs_rs256 for key in targets):
            algorithms = role_args.get("signing_algorithms", list(aws_rules.DEFAULT_SIGNING_ALGORITHMS))
            found += azure_rules.check_rs256_allowed(algorithms, f"{path}.signingAlgorithms")
        specs.append(WorkloadSpec(name=name, role_args=role_args, targets=targets, account=home))

    parties = _relying_parties(specs, stack, found)
    raise_for("stack config", found)
    return StackSpec(account=account_args, workloads=specs, relying_parties=parties, accounts=named_accounts)


def _relying_parties(workloads: list[WorkloadSpec], stack: str, found: list[Violation]) -> list[RelyingParty]:
    """Merge the targets that name the same relying party, then check each one as a whole."""
    parties: dict[tuple, RelyingParty] = {}
    first_path: dict[tuple, str] = {}
    accounts_of: dict[tuple, set] = {}  # (kind, shared identity) -> the accounts whose workloads name it
    for index, workload in enumerate(workloads):
        for key, args in workload.targets.items():
            kind, path = TARGETS[key], f"workloads[{index}].{key}"
            shared = kind.shared_by(args)
            # A relying party trusts one account's issuer, so sharing stops at the account boundary.
            group = (key, workload.account, shared) if shared is not None else (key, "workload", workload.name)
            others = accounts_of.setdefault((key, shared), set()) - {workload.account} if shared else set()
            if shared is not None:
                accounts_of[(key, shared)].add(workload.account)
            if others:
                found.append(Violation(
                    path, f"{shared[-1]}",
                    "is also trusted by a workload of another account: one relying party trusts one account's "
                    "issuer here; give each account its own (another display name, identity or pool)",
                ))
            if group in parties:
                if parties[group].args != args:
                    found.append(Violation(
                        path, f"{shared[-1]}",
                        f"names the same relying party as {first_path[group]} with different settings: "
                        "give every workload that shares it the same settings",
                    ))
                parties[group].workloads.append(workload.name)
            else:
                parties[group] = RelyingParty(kind=key, args=args, workloads=[workload.name], account=workload.account)
                first_path[group] = path
    for group, party in parties.items():
        subjects = {credential_name(stack, w): DEFERRED for w in party.workloads}
        checked = {**party.args, "issuer": DEFERRED, "subjects": subjects, "aws_account_id": DEFERRED}
        found += TARGETS[party.kind].check(checked, f"{first_path[group]}.", snake_to_camel)
    return list(parties.values())


__all__ = [
    "AccountSpec", "DEFERRED", "RelyingParty", "StackSpec", "TARGETS", "TargetKind", "ValidationError", "WorkloadSpec",
    "credential_name", "parse_stack_config",
]
