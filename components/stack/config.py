"""The stack's config, parsed once into typed specs: an account section, accounts, and workloads.

Config flows one way: ``Pulumi.<stack>.yaml`` -> :func:`parse_stack_config` -> :class:`StackSpec`
-> components. The parser knows every key; an unknown or misspelt key, a duplicate workload name
or a broken rule is reported with its path as the user wrote it (``workloads[1].maxDurationSeconds``),
all at once, before anything is registered. Relying parties are found through the registry
(``components.relying_parties.KINDS``): a workload's section under a kind's key. Pure Python:
the offline preview and the trust rehearsal read the same specs.

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
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..relying_parties import KINDS, RelyingPartyKind
from ..relying_parties.base import CAPACITY_WARNING_FRACTION
from ..rules import WARNING, ValidationError, Violation, raise_for
from ..rules import aws as aws_rules
from ..rules.facts import DEFAULT_DURATION_SECONDS, DEFAULT_SIGNING_ALGORITHMS
from ..rules.guardrails import DEFAULT_GUARDRAIL_DURATION_SECONDS, check_guardrails_args, target_kind

WORKLOAD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")

ACCOUNT_KEYS = ("manage", "disableOnDestroy")
NAMED_ACCOUNT_KEYS = ("name", "accountId", "assumeRoleArn", "region") + ACCOUNT_KEYS
GUARDRAIL_KEYS = ("targets", "switchPrincipalArns", "allowedAudiences", "maxDurationSeconds",
                  "allowedSigningAlgorithms", "policyName", "description", "tags")
ROLE_KEYS = (
    "audiences", "maxDurationSeconds", "signingAlgorithms", "allowedTagKeys", "trustedServices",
    "assumeRolePolicy", "roleName", "path", "permissionsBoundary", "tags", "createInstanceProfile",
    "existingRoleArn", "attachTokenPolicy",
)


class Deferred:
    """Stands for a value only known at deploy time (a role's ARN, the account issuer).

    The rules skip values that are not plain (see ``components.rules.is_plain``), so checking a
    relying party's settings with Deferred issuer and subjects judges exactly what the config decides.
    """

    def apply(self, *_: Any) -> "Deferred":
        return self

    def is_known(self) -> bool:
        return False


DEFERRED = Deferred()


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def credential_name(stack: str, workload: str) -> str:
    """The name of a workload's credential at a relying party: stable, unique per stack, URL-safe."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{stack}-{workload}")


def component_name(stack: str, workload: str) -> str:
    """The name of a workload's FederatedRole: part of every URN under it."""
    return f"{stack}-{workload}"


@dataclass(frozen=True)
class RelyingPartySpec:
    """One relying party of the stack, trusted by one or more workloads' roles."""

    kind: str
    """The key of its kind in the registry (``azureApp``, ``gcp``, ...)."""
    settings: dict[str, Any]
    """The component args from config (snake_case) with the kind's defaults, without issuer and subjects."""
    workloads: list[str]
    """The workloads whose roles it trusts, in config order."""
    account: str | None = None
    """The named account of those workloads (their issuer), or None for the stack's own."""
    path: str = ""
    """Where the first workload declared it, e.g. ``workloads[2].gcp``."""

    def name(self, stack: str) -> str:
        """The component name: from the stack, its first workload and its kind. Part of every URN."""
        return f"{stack}-{self.workloads[0]}-{self.kind.lower()}"

    @property
    def kind_spec(self) -> RelyingPartyKind:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise KeyError(f"relying-party kind {self.kind!r} is not registered")
        return kind


@dataclass(frozen=True)
class WorkloadSpec:
    """One workload: a role that mints tokens, and the relying parties that trust it."""

    name: str
    role_args: dict[str, Any]
    """FederatedRole args (snake_case), audiences not yet merged with the relying parties' audiences."""
    relying_parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Relying-party sections by kind key (e.g. ``azureApp``), settings in snake_case."""
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
    relying_parties: list[RelyingPartySpec] = field(default_factory=list)
    """Every relying party, once, with the workloads it trusts (shared ones merged)."""
    accounts: list[AccountSpec] = field(default_factory=list)
    """Named accounts (many-account organisations); empty for a single-account stack."""
    guardrails: dict[str, Any] = field(default_factory=dict)
    """OrganizationGuardrails args (snake_case), or empty: this stack sets no organisation guardrail."""
    warnings: list[Violation] = field(default_factory=list)
    """What the stack itself warns about (the components log their own): shown at preview and up."""


def _unknown_key(key: Any, value: Any, path: str, allowed: tuple[str, ...]) -> Violation:
    hint = next((a for a in allowed if a.lower() == str(key).lower().replace("_", "")), None)
    rule = f"is not a known setting; did you mean {hint}?" if hint else \
        f"is not a known setting (known: {', '.join(allowed)})"
    return Violation(f"{path}.{key}", value, rule, code="config.unknown-setting")


def _snake_section(raw: Any, path: str, allowed: tuple[str, ...], found: list[Violation]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        found.append(Violation(path, raw, "must be a map of settings", code="config.section.type"))
        return {}
    section = {}
    for key, value in raw.items():
        if key not in allowed:
            found.append(_unknown_key(key, value, path, allowed))
            continue
        section[camel_to_snake(key)] = value
    return section


def _check_name(name: Any, field: str, what: str, seen: set) -> list[Violation]:
    if not isinstance(name, str) or not WORKLOAD_NAME_PATTERN.match(name):
        return [Violation(field, name, "must be 2-40 characters of lowercase letters, digits and hyphens, "
                                       "starting with a letter", code="config.name.format")]
    if name in seen:
        return [Violation(field, name, f"is used by another {what}: names must be unique", code="config.name.duplicate")]
    return []


def _parse_accounts(accounts: Any, found: list[Violation]) -> list[AccountSpec]:
    if accounts is None:
        return []
    if not isinstance(accounts, list):
        found.append(Violation("accounts", accounts, "must be a list of accounts", code="config.accounts.type"))
        return []
    specs, names, ids = [], set(), set()
    for index, raw in enumerate(accounts):
        path = f"accounts[{index}]"
        section = _snake_section(raw, path, NAMED_ACCOUNT_KEYS, found)
        name, account_id, role = section.get("name"), section.get("account_id"), section.get("assume_role_arn")
        found += _check_name(name, f"{path}.name", "account", names)
        found += aws_rules.check_account_id(account_id, f"{path}.accountId")
        if account_id in ids:
            found.append(Violation(f"{path}.accountId", account_id, "is listed twice", code="config.account-id.duplicate"))
        found += aws_rules.check_subject_account(role, account_id, f"{path}.assumeRoleArn") \
            if isinstance(account_id, str) else []
        federation = {k: v for k, v in section.items() if k in ("manage", "disable_on_destroy")}
        found += aws_rules.check_account_federation_args(federation, f"{path}.", snake_to_camel)
        names.add(name)
        ids.add(account_id)
        specs.append(AccountSpec(name=str(name), account_id=str(account_id), assume_role_arn=str(role),
                                 region=section.get("region"), federation=federation))
    return specs


def _parse_workload(raw: Any, index: int, stack: str, account_ids: Mapping[str, str], seen: set,
                    found: list[Violation]) -> WorkloadSpec | None:
    path = f"workloads[{index}]"
    if not isinstance(raw, Mapping):
        found.append(Violation(path, raw, "must be a map with at least a name", code="config.workload.type"))
        return None
    name = raw.get("name")
    found += _check_name(name, f"{path}.name", "workload", seen)
    if not isinstance(name, str) or not WORKLOAD_NAME_PATTERN.match(name):
        name = f"workload-{index}"
    seen.add(name)

    kinds = KINDS.keys()
    allowed = ("name", "account") + ROLE_KEYS + tuple(kinds)
    role_args = _snake_section({k: v for k, v in raw.items() if k not in kinds}, path, allowed, found)
    role_args.pop("name", None)
    home = role_args.pop("account", None)
    if home is not None and home not in account_ids:
        found.append(Violation(f"{path}.account", home,
                               f"is not a named account (accounts: {', '.join(account_ids) or 'none'})",
                               code="config.account.unknown"))
    elif home is not None and isinstance(role_args.get("existing_role_arn"), str):
        # An issuer only vouches for its own account's roles: catch a mismatch at preview.
        found += aws_rules.check_subject_account(role_args["existing_role_arn"], account_ids[home],
                                                 f"{path}.existingRoleArn")
    found_parties = {key: _snake_section(raw[key], f"{path}.{key}", KINDS.get(key).settings, found)
               for key in kinds if raw.get(key) is not None}

    # Audiences may come from the relying parties alone; only the explicit ones are checked here.
    checked = dict(role_args)
    if not checked.get("audiences") and found_parties:
        checked["audiences"] = [DEFERRED]
    found += aws_rules.check_federated_role_args(checked, f"{path}.", snake_to_camel)
    if home in account_ids and isinstance(role_args.get("assume_role_policy"), str):
        found += _trust_policy_in_account(role_args["assume_role_policy"], account_ids[home], path)
    found += aws_rules.check_role_physical_names(
        component_name(stack, str(name)), role_args, f"{path}.name",
        f"set {path}.roleName, or give the workload a shorter name (stack '{stack}')")
    found += _check_credential_name(stack, str(name), f"{path}.name", [KINDS.get(key) for key in found_parties])
    algorithms = role_args.get("signing_algorithms", list(DEFAULT_SIGNING_ALGORITHMS))
    cap = role_args.get("max_duration_seconds", DEFAULT_DURATION_SECONDS)
    for key in found_parties:
        kind = KINDS.get(key)
        found += aws_rules.check_algorithms_accepted(algorithms, kind.accepted_algorithms, kind.title,
                                                     f"{path}.signingAlgorithms")
        requested = kind.requested_duration_seconds
        if requested is not None and isinstance(cap, int) and cap < requested:
            found.append(Violation(
                f"{path}.maxDurationSeconds", cap,
                f"is shorter than the {requested}-second tokens a {kind.title}'s clients request: STS would refuse "
                f"them; allow at least {requested}", code="relying-party.duration-too-short"))
    return WorkloadSpec(name=str(name), role_args=role_args, relying_parties=found_parties, account=home)


def _trust_policy_in_account(document: str, account_id: str, path: str) -> list[Violation]:
    """In a named account the role's account is known: another account's root is then an error."""
    from ..rules.policy_audits import check_trust_policy

    return [v for v in check_trust_policy(document, f"{path}.assumeRolePolicy", account_id=account_id)
            if v.code == "trust-policy.other-account-root"]


def _check_credential_name(stack: str, workload: str, field: str, kinds: list[RelyingPartyKind]) -> list[Violation]:
    """The credential name (``<stack>-<workload>``) fits every relying party the workload uses, uncut."""
    name = credential_name(stack, workload)
    limited = [kind for kind in kinds if kind.credential_name_limit is not None]
    tightest = min(limited, key=lambda kind: kind.credential_name_limit, default=None)
    if tightest is not None and len(name) > tightest.credential_name_limit:
        return [Violation(
            field, workload,
            f"gives the credential name {name!r} of {len(name)} characters (stack and workload), over the "
            f"{tightest.credential_name_limit} a {tightest.title} allows: give the workload a shorter name",
            code="config.credential-name.length",
        )]
    return []


def _parse_guardrails(raw: Any, found: list[Violation]) -> dict[str, Any]:
    section = _snake_section(raw, "guardrails", GUARDRAIL_KEYS, found)
    if section:
        found += check_guardrails_args(section, "guardrails.", snake_to_camel)
    return section


def _guardrail_conflicts(guardrails: Mapping[str, Any], workloads: list[WorkloadSpec], raw: list[Any],
                         account_ids: Mapping[str, str]) -> list[Violation]:
    """A workload whose own token limits the organisation's guardrail denies, where it surely applies.

    The guardrail surely applies to a workload when it is attached to the root, or to the account of
    the workload's named account. (Whether an account is under an OU is not in the config; the
    offline preview's rehearsal judges those trusts against the planned SCP.)
    """
    targets = guardrails.get("targets") or []
    everywhere = any(target_kind(t) == "root" for t in targets)
    allowed = set(guardrails.get("allowed_audiences") or [])
    cap = guardrails.get("max_duration_seconds", DEFAULT_GUARDRAIL_DURATION_SECONDS)
    algorithms = guardrails.get("allowed_signing_algorithms")
    index_of = {w.get("name"): i for i, w in enumerate(raw) if isinstance(w, Mapping)}
    found = []
    for workload in workloads:
        if not (everywhere or account_ids.get(workload.account or "") in targets):
            continue
        path = f"workloads[{index_of.get(workload.name, '?')}]"
        args = workload.role_args
        for index, audience in enumerate(args.get("audiences") or []):
            if isinstance(audience, str) and audience not in allowed:
                found.append(Violation(
                    f"{path}.audiences[{index}]", audience,
                    "is not in guardrails.allowedAudiences: the organisation's SCP would deny every token for it; "
                    "add it there or drop it here", code="config.guardrails.audience-denied"))
        duration = args.get("max_duration_seconds", DEFAULT_DURATION_SECONDS)
        if isinstance(duration, int) and isinstance(cap, int) and duration > cap:
            found.append(Violation(
                f"{path}.maxDurationSeconds", duration,
                f"is over guardrails.maxDurationSeconds ({cap}): the organisation's SCP would deny such tokens",
                code="config.guardrails.duration-denied"))
        requested = args.get("signing_algorithms", list(DEFAULT_SIGNING_ALGORITHMS))
        if algorithms and isinstance(requested, list) and not set(requested) & set(algorithms):
            found.append(Violation(
                f"{path}.signingAlgorithms", requested,
                f"has no algorithm in guardrails.allowedSigningAlgorithms ({', '.join(algorithms)}): the "
                "organisation's SCP would deny every token", code="config.guardrails.algorithm-denied"))
    return found


def _capacity(parties: Mapping[tuple, RelyingPartySpec], stack: str) -> list[Violation]:
    """Trusted roles per relying party, counted across every account of the stack plus those it holds.

    One party shared by several accounts' workloads gets one credential per account's role, each
    naming its own issuer: twenty accounts fill an Entra app. Over the limit is an error; from 80%
    a warning, before the next account is the one that fails.
    """
    groups: dict[Any, list[RelyingPartySpec]] = {}
    for group, relying_party in parties.items():
        kind = relying_party.kind_spec
        if kind.capacity is not None:
            shared = kind.shared_by(relying_party.settings)
            groups.setdefault((kind.key, shared) if shared is not None else group, []).append(relying_party)
    found = []
    for members in groups.values():
        capacity = members[0].kind_spec.capacity
        planned = sum(len(m.workloads) for m in members)
        existing = max(capacity.existing(m.settings) for m in members)
        total = planned + existing
        accounts = sorted({m.account or "the stack's own account" for m in members})
        held = f" plus {existing} it already holds" if existing else ""
        where = f" across {len(accounts)} accounts ({', '.join(accounts)})" if len(accounts) > 1 else ""
        alone_over = any(len(m.workloads) + existing > capacity.limit for m in members)  # its kind says so
        if total > capacity.limit and len(members) > 1 and not alone_over:
            found.append(Violation(
                members[0].path, f"{planned} trusted roles{held}{where}",
                f"is over the limit of {capacity.limit} {capacity.what}: {capacity.split}",
                code="config.relying-party.capacity"))
        elif capacity.limit >= total >= CAPACITY_WARNING_FRACTION * capacity.limit:
            found.append(Violation(
                members[0].path, f"{total} of {capacity.limit} {capacity.what}{where}",
                f"is close to the limit: the next few roles or accounts will not fit; {capacity.split}",
                WARNING, code="config.relying-party.capacity-near"))
    return found


def parse_stack_config(account: Any, workloads: Any, stack: str = "stack", accounts: Any = None,
                       guardrails: Any = None) -> StackSpec:
    """Parse and validate the ``account``, ``workloads``, ``accounts`` and ``guardrails`` config values.

    Raises :class:`ValidationError` listing every problem, each with its config path.
    """
    found: list[Violation] = []
    account_args = _snake_section(account, "account", ACCOUNT_KEYS, found)
    found += aws_rules.check_account_federation_args(account_args, "account.", snake_to_camel)
    named_accounts = _parse_accounts(accounts, found)
    account_ids = {a.name: a.account_id for a in named_accounts}

    if workloads is None:
        workloads = []
    if not isinstance(workloads, list):
        found.append(Violation("workloads", workloads, "must be a list of workloads", code="config.workloads.type"))
        workloads = []
    seen: set[str] = set()
    specs = [spec for index, raw in enumerate(workloads)
             if (spec := _parse_workload(raw, index, stack, account_ids, seen, found)) is not None]
    found_parties = _relying_parties(specs, workloads, stack, found)
    guardrail_args = _parse_guardrails(guardrails, found)
    if guardrail_args and not any(v.field.startswith("guardrails") for v in found):
        found += _guardrail_conflicts(guardrail_args, specs, workloads, account_ids)
    warnings = raise_for("stack config", found)
    return StackSpec(account=account_args, workloads=specs, relying_parties=found_parties, accounts=named_accounts,
                     guardrails=guardrail_args, warnings=[w for w in warnings if w.code.startswith("config.")])


def _relying_parties(workloads: list[WorkloadSpec], raw: list[Any], stack: str,
                     found: list[Violation]) -> list[RelyingPartySpec]:
    """Merge the sections that name the same relying party, then check each one as a whole."""
    found_parties: dict[tuple, RelyingPartySpec] = {}
    accounts_of: dict[tuple, set] = {}  # (kind, shared identity) -> the accounts whose workloads name it
    index_of = {w.get("name"): i for i, w in enumerate(raw) if isinstance(w, Mapping)}
    for workload in workloads:
        for key, settings in workload.relying_parties.items():
            kind = KINDS.get(key)
            path = f"workloads[{index_of.get(workload.name, '?')}].{key}"
            shared = kind.shared_by(settings)
            # A relying party trusts one account's issuer, so sharing stops at the account boundary.
            group = (key, workload.account, shared) if shared is not None else (key, "workload", workload.name)
            if shared is not None:
                others = accounts_of.setdefault((key, shared), set()) - {workload.account}
                accounts_of[(key, shared)].add(workload.account)
                if others and not (kind.capacity and kind.capacity.spans_accounts(settings)):
                    found.append(Violation(
                        path, f"{shared[-1]}",
                        "is also trusted by a workload of another account: a relying party this stack creates "
                        "trusts one account's issuer; give each account its own (another display name, identity or "
                        "pool), or share an existing one",
                        code="config.relying-party.across-accounts",
                    ))
            if group in found_parties:
                if found_parties[group].settings != settings:
                    found.append(Violation(
                        path, f"{shared[-1]}",
                        f"names the same relying party as {found_parties[group].path} with different settings: "
                        "give every workload that shares it the same settings",
                        code="config.relying-party.conflicting-settings",
                    ))
                found_parties[group].workloads.append(workload.name)
            else:
                found_parties[group] = RelyingPartySpec(kind=key, settings=dict(settings), workloads=[workload.name],
                                                  account=workload.account, path=path)
    found += _capacity(found_parties, stack)
    checked_parties = []
    for relying_party in found_parties.values():
        kind = relying_party.kind_spec
        defaults = kind.defaults(stack, tuple(relying_party.workloads), relying_party.settings) if kind.defaults else {}
        settings = {**relying_party.settings, **defaults}
        subjects = {credential_name(stack, w): DEFERRED for w in relying_party.workloads}
        checked = {**settings, "issuer": DEFERRED, "subjects": subjects, "aws_account_id": DEFERRED}
        found += kind.check(checked, f"{relying_party.path}.", snake_to_camel)
        checked_parties.append(replace(relying_party, settings=settings))
    return checked_parties


__all__ = [
    "AccountSpec", "DEFERRED", "RelyingPartySpec", "StackSpec", "ValidationError", "WorkloadSpec",
    "component_name", "credential_name", "parse_stack_config",
]
