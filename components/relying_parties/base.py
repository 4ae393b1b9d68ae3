"""The relying-party plug-in contract: everything the shared layer needs to know about one kind.

A relying party is whoever trusts an AWS account's tokens: an Entra app, a GCP workload identity
pool, a Vault JWT auth method. Each kind is one folder under ``components/relying_parties/`` that
builds one :class:`RelyingPartyKind` and adds it to the registry (``relying_parties/__init__.py``).
The shared layer (stack config and composition, policy pack, offline preview, plan, graph,
rehearsal, runtime CLI) iterates the registry and names no kind.

Pure Python: this module, the registry and every kind's ``__init__`` import no Pulumi SDK, so the
policy pack and the runtime load them anywhere. A kind's component, and its runtime exchange,
are named by ``"module:attribute"`` and imported only when used: a stack with no Vault never
imports pulumi-vault. See ``docs/relying-parties.md`` for how to add a kind.

Example::

    from components.relying_parties import KINDS

    for kind in KINDS:
        print(kind.key, kind.title, kind.accepted_algorithms)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Protocol, Sequence

from ..rules import Violation
from ..rules.errors import missing_dependency
from ..rules.facts import ROLE_POLICY_TYPE, ROLE_TYPE, SIGNING_ALGORITHMS

ArgsCheck = Callable[[Mapping[str, Any], str, Callable[[str], str]], "list[Violation]"]
"""``check(args, prefix, spell)``: every rule on a component's plain args (snake_case keys).
``prefix`` goes before each field (``workloads[2].azureApp.``), ``spell`` renders an arg name the
way the user wrote it (camelCase in stack config)."""


def load(reference: str, extra: str = "provision") -> Any:
    """Import ``"package.module:attribute"``; a missing package names the install extra to add."""
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if (getattr(error, "name", "") or "").split(".")[0] == module_name.split(".")[0]:
            raise  # our own module is broken: not a missing dependency
        raise missing_dependency(error, extra) from error
    return getattr(module, attribute) if attribute else module


# ---------------------------------------------------------------------------------------------
# Stack side
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deployment:
    """What the stack hands a kind's ``deploy`` hook: one relying party, ready to create.

    ``issuer``, ``account_id`` and the subjects are Pulumi Outputs; the settings are the user's
    config section in snake_case, already checked.
    """

    name: str
    """The component name (``<stack>-<first workload>-<kind key, lower case>``): part of every URN."""
    settings: Mapping[str, Any]
    issuer: Any
    account_id: Any
    subjects: Mapping[str, Any]
    """Credential name -> the trusted role's subject (its ARN, path included)."""
    stack: str
    workloads: tuple[str, ...]
    opts: Any = None
    """pulumi.ResourceOptions for the component (the account's provider), or None."""


# ---------------------------------------------------------------------------------------------
# Review side: policy pack, plan, graph, rehearsal, mock cloud
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditedResource:
    """A resource as a policy sees it, engine-neutral: the pack and the tests build these."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    protect: bool = False


def role_token_policies(role_arn: Any, resources: Sequence[AuditedResource]) -> list[Any] | None:
    """The identity policies of the role ``role_arn`` among a stack's resources (its ``RolePolicy``s and
    inline policies), for audits that ask whether a trusted role may request what its party needs.
    None when the role is not in the stack (another stack's, or an existing one): nothing to judge."""
    role = next((r for r in resources if r.type == ROLE_TYPE and r.props.get("arn") == role_arn), None)
    if role is None:
        return None
    documents = [p.props.get("policy") for p in resources
                 if p.type == ROLE_POLICY_TYPE and p.props.get("role") == role.props.get("name")]
    documents += [i.get("policy") for i in role.props.get("inlinePolicies") or [] if isinstance(i, Mapping)]
    return [d for d in documents if d]


ResourceAudit = Callable[[AuditedResource, Mapping[str, Any]], "list[Violation]"]
StackAudit = Callable[[Sequence[AuditedResource], Mapping[str, Any]], "list[tuple[str, Violation]]"]


@dataclass(frozen=True)
class Audit:
    """One judgement, reported by two pack policies: its errors mandatory, its warnings advisory.

    Give ``check`` (per resource) or ``check_stack`` (over the whole stack, each violation with
    the URN it is about). Policy names are public: users set their enforcement by name.
    """

    name: str
    description: str
    advice: str
    advice_description: str
    check: ResourceAudit | None = None
    check_stack: StackAudit | None = None


@dataclass(frozen=True)
class Verdict:
    """A relying party's answer to one token."""

    accepted: bool
    reason: str


@dataclass
class PlannedTrust:
    """One relying party of a planned (or hand-written) program, as the review tooling sees it.

    The graph draws it (a node, an edge from each trusted role labelled with the audience) and the
    rehearsal judges tokens with it. ``roles`` are data read from the resources (a credential's
    subject, a binding's member), never scraped from generated text.
    """

    relying_party: str
    """A readable name, e.g. ``Entra app credential dev-reports-azureapp-credential-dev-reports``."""
    kind: str
    node_id: str
    node_label: str
    node_shape: str
    """One of ``app``, ``identity``, ``pool``, ``service``, ``cluster`` (the graph picks a shape)."""
    issuer: str
    audience: str
    """What a trusted role must request (and its token policy allow) for this party."""
    accepted_algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    roles: list[str] = field(default_factory=list)
    judge: Callable[[str, Mapping[str, Any]], Verdict] | None = None
    """``judge(token, jwks)``; None when this party cannot be judged here (see ``skipped``)."""
    skipped: str = ""
    """Why the rehearsal does not judge it (another issuer, a mapping it does not understand, ...)."""
    judged_by: str = ""
    """Who judges, for the report: "the documented rules", "a real OpenBao server", ..."""
    duration_seconds: int | None = None
    """The lifetime its clients request (the kind's ``requested_duration_seconds``); None: the
    runtime's default within the role's cap."""
    manual: str = ""
    """A step the user must do by hand before this trust works (a console, an admin API)."""
    account_claims: dict[str, Any] = field(default_factory=dict)
    """AWS claims (nested under ``https://sts.amazonaws.com/``) this party pins that only the real account
    can show, e.g. its ``org_id`` and ``ou_path``: offline they cannot be known, so the rehearsal mints
    the tokens it judges with these values (and says so), rather than failing the intended role on them."""



class TokenSupplier(Protocol):
    """What a kind's runtime gets its AWS tokens from (``fedctl.AwsTokenSupplier``, or a test's)."""

    def get_token(self) -> str: ...


@dataclass(frozen=True)
class MockCloud:
    """What a kind's mock answers may use: the mock cloud's facts and stable-ID helper."""

    facts: Mapping[str, str]
    stable_uuid: Callable[..., str]
    account_of: Callable[[str | None], str]


MockResource = Callable[[str, dict, MockCloud], dict]
"""``builder(logical name, inputs, cloud) -> outputs to add``; ``__id`` sets the resource ID."""
MockInvoke = Callable[[dict, MockCloud], dict]


@dataclass(frozen=True)
class ReviewHooks:
    """A kind's review tooling, all pure and cheap to import."""

    describers: Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = field(default_factory=dict)
    """Resource type -> the plan lines worth a reviewer's reading."""
    plan_facts: tuple[str, ...] = ()
    """Component outputs shown beside the component in the plan, e.g. ``client_id``."""
    trusts: Callable[[Any], list[PlannedTrust]] | None = None
    """``trusts(review)``: the relying parties in a run (ours and hand-written), for graph and rehearsal."""
    mock_resources: Mapping[str, MockResource] = field(default_factory=dict)
    mock_invokes: Mapping[str, MockInvoke] = field(default_factory=dict)
    mock_facts: Mapping[str, str] = field(default_factory=dict)
    """Defaults of the facts its mocks use (``tenant_id``...); tests override them on CloudMocks."""
    judged_types: tuple[str, ...] = ()
    """Resource types its audits judge, so the report can say what was not judged."""


# ---------------------------------------------------------------------------------------------
# The kind
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Capacity:
    """How many trusted roles one relying party holds (Entra: 20 credentials per app or identity).

    The stack counts them across every account it deploys, plus those the user declares the party
    already holds, warns from 80% and fails above the limit at preview.
    """

    limit: int
    what: str
    """What is counted, e.g. "federated credentials per app or managed identity"."""
    split: str
    """How to get under the limit, e.g. "give each group of accounts its own app"."""
    existing: Callable[[Mapping[str, Any]], int] = lambda settings: 0
    """How many the party already holds, from its settings (what the user declared)."""
    spans_accounts: Callable[[Mapping[str, Any]], bool] = lambda settings: False
    """May workloads of several accounts share it (an existing app each account's stack part adds
    credentials to)? Each account then gets its own component on the same party. A party the stack
    creates never spans accounts."""


CAPACITY_WARNING_FRACTION = 0.8


@dataclass(frozen=True)
class RelyingPartyKind:
    """Everything about one kind of relying party.

    Only ``key``, ``title``, ``settings`` and ``check`` are required; every other part is optional
    where the kind has none (no component: a preset; no runtime: no ``fedctl exchange``).
    """

    key: str
    """Its config key under a workload, and its key under ``workloads.<name>`` in the outputs."""
    title: str
    """What users call it, e.g. "Entra app registration"; used in messages and the plan."""
    settings: tuple[str, ...]
    """The camelCase settings its config section accepts."""
    check: ArgsCheck
    shared_by: Callable[[Mapping[str, Any]], Hashable | None] = lambda settings: None
    """What makes two workloads' sections one relying party (e.g. the same display name); None:
    each workload gets its own. Shared parties span AWS accounts only where ``capacity.spans_accounts``
    says so (then each account gets its own component on the same party)."""
    defaults: Callable[[str, tuple[str, ...], Mapping[str, Any]], Mapping[str, Any]] | None = None
    """``defaults(stack, workloads, settings)``: settings the stack fills in when the user gives
    none (a display name from the stack and workload), checked like the user's own."""
    accepted_algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    """Signing algorithms it accepts; a trusted role must be allowed at least one."""
    credential_name_limit: int | None = None
    """The longest name it takes for one trusted role's credential (``<stack>-<workload>``), if limited."""
    max_duration_seconds: int | None = None
    """The longest token lifetime it accepts, when it has a limit."""
    requested_duration_seconds: int | None = None
    """The lifetime its own clients request, when they choose it (Snowflake's drivers: STS's default,
    300 s): a trusted role's cap must allow it. None: the workload asks, within the role's cap."""
    capacity: Capacity | None = None
    """How many trusted roles one instance holds, when limited (counted across accounts)."""
    audience: str = ""
    """``"module:function"``: ``audience(name, settings, opts) -> Input[str]``, the audience the roles
    it trusts must request, before the party exists. Built on the kind's one pure audience rule."""
    deploy: str = ""
    """``"module:function"``: ``deploy(Deployment) -> dict`` creates the component and returns what
    the stack exports under ``workloads.<name>.<key>`` (always with ``audience``)."""
    components: tuple[str, ...] = ()
    """``"module:Class"`` of each component class it offers (schema, ``from components import``)."""
    public_names: tuple[str, ...] = ()
    """``"module:Name"`` of its other public names (Args types), importable from ``components``."""
    extra: str = ""
    """The install extra with its provider SDKs: ``pip install 'outbound-federation[<extra>]'``."""
    audits: tuple[Audit, ...] = ()
    review: ReviewHooks = field(default_factory=ReviewHooks)
    runtime: str = ""
    """Module of its runtime exchange: ``COMMAND``, ``add_arguments(parser)`` and
    ``exchange(exported, workload, options, *, supplier_for, progress) -> ExchangeResult``
    (``fedctl exchange <COMMAND>``); optionally ``TOKEN_FORMATS``, ``fedctl token --format`` outputs
    (``name -> render(token, expires_in) -> str``).

    Optionally ``fedctl doctor``'s hooks (``components/relying_parties/diagnosis.py`` has the types):

    - ``diagnose(exported, workload, token, options, *, kind, progress, **hooks) -> list[Step]``: step 4,
      the relying party's LIVE configuration (read-only) against the real token's claims
      (``token`` is a ``TokenFacts``: claims, algorithm, key ID, never the token); ``kind`` is this
      kind's key; ``hooks`` are keyword overrides such as ``credential=`` (only those it names are
      passed). A field that differs is a failed step made with ``difference_step``; no read access
      is an ``unchecked`` step;
    - ``explain_refusal(error: ExchangeError) -> Refusal | None``: what the relying party's refusal
      in step 5 means, from a cited source;
    - ``token_request(exported) -> (audience, algorithm)``: what ``exchange`` requests (default: the
      exported audience, RS256);
    - ``add_diagnose_arguments(parser)``: the options ``diagnose`` reads."""

    def load(self, reference: str) -> Any:
        return load(reference, self.extra or "provision")
