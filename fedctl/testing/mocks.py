"""A stand-in cloud for Pulumi's mock runtime: realistic computed values and a full record.

Pulumi's mock runtime hands every resource registration and every invoke (data-source call) to a
``Mocks`` object instead of a cloud. :class:`CloudMocks` answers them the way AWS, Azure and GCP
would (ARNs with paths, GUID client IDs, canonical GCP resource names, the account issuer), and
:class:`RecordingMonitor` keeps what the SDK's own mock monitor forgets: each resource's parent,
dependencies, ``protect`` and ``retainOnDelete`` flags. Tests, the offline preview and the
benchmarks all run the program against these two.

Example::

    mocks = CloudMocks(account_id="123456789012")
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="outbound-federation", stack="dev", monitor=monitor)
    ...  # run the program
    roles = monitor.of_type("aws:iam/role:Role")
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.relying_parties.base import MockCloud
from components.rules.facts import (
    AWS_PROVIDER_TYPE,
    DEPLOYMENT_SETTINGS_TYPE,
    DRIFT_SCHEDULE_TYPE,
    ENABLEMENT_TYPE,
    ESC_ENVIRONMENT_TYPE,
    INSTANCE_PROFILE_TYPE,
    ISSUER_INVOKE,
    MANAGED_POLICY_TYPE,
    ORGANIZATIONS_POLICY_ATTACHMENT_TYPE,
    ORGANIZATIONS_POLICY_TYPE,
    ROLE_POLICY_TYPE,
    PULUMI_STACK_TYPE,
    ROLE_TYPE,
    STACK_CONFIG_TYPE,
    STACK_REFERENCE_TYPE,
    STACK_TAGS_TYPE,
)

from .policy_document import render_policy_document

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-1"
CALLER_IDENTITY_INVOKE = "aws:index/getCallerIdentity:getCallerIdentity"
PARTITION_INVOKE = "aws:index/getPartition:getPartition"
REGION_INVOKE = "aws:index/getRegion:getRegion"
AVAILABILITY_ZONES_INVOKE = "aws:index/getAvailabilityZones:getAvailabilityZones"
POLICY_DOCUMENT_INVOKE = "aws:iam/getPolicyDocument:getPolicyDocument"

_NAMESPACE = uuid.UUID("6f1c2b1e-5d0e-4c51-9b5e-0f6a7d2c9e11")


def stable_uuid(*parts: str) -> str:
    """A GUID that is the same for the same inputs, so plans and tests are repeatable."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def stable_suffix(name: str, length: int = 7) -> str:
    """What Pulumi's autonaming appends to a logical name, made deterministic."""
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def issuer_for_account(account_id: str) -> str:
    return f"https://{stable_uuid('issuer', account_id)}.tokens.sts.global.api.aws"


def _is_plain_json(value: Any) -> bool:
    """Strings, finite numbers, booleans, and lists or string-keyed dicts of them (no None).

    Exactly the values the SDK's serialiser writes into a protobuf Struct unchanged; a None (which
    it drops), an unknown, a secret or a resource reference is left to the SDK.
    """
    kind = type(value)
    if kind is str or kind is bool or kind is int:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(key) is str and _is_plain_json(item) for key, item in value.items())
    if kind is list:
        return all(_is_plain_json(item) for item in value)
    return False


_SIG_KEY = pulumi.runtime.rpc._special_sig_key
_RESOURCE_SIG = pulumi.runtime.rpc._special_resource_sig


def downgrade_references(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    """The properties with every resource reference replaced by its ID (a custom resource) or URN.

    That is what the engine hands a provider that does not take resource references (pulumi-aws
    and the other bridged providers): ``role=role`` reaches the provider as the role's ID. It also
    keeps references from being rehydrated on the monitor's executor thread, whose event loop is
    not the program's: the SDK's own mock monitor does that, and a program passing a resource as
    an input then fails now and then with "Future attached to a different loop".
    """
    def visit(value: struct_pb2.Value) -> struct_pb2.Value:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            if _SIG_KEY in fields and fields[_SIG_KEY].string_value == _RESOURCE_SIG:
                reference = fields.get("id")
                text = reference.string_value if reference is not None and reference.string_value else \
                    fields["urn"].string_value
                return struct_pb2.Value(string_value=text)
            downgraded = struct_pb2.Struct()
            for key, item in fields.items():
                downgraded.fields[key].CopyFrom(visit(item))
            return struct_pb2.Value(struct_value=downgraded)
        if kind == "list_value":
            items = struct_pb2.ListValue()
            for item in value.list_value.values:
                items.values.add().CopyFrom(visit(item))
            return struct_pb2.Value(list_value=items)
        return value

    result = struct_pb2.Struct()
    for key, item in struct.fields.items():
        result.fields[key].CopyFrom(visit(item))
    return result


def _with(request: Any, field_name: str) -> Any:
    """A copy of a monitor request whose ``field_name`` properties have their references downgraded."""
    copied = type(request)()
    copied.CopyFrom(request)
    getattr(copied, field_name).CopyFrom(downgrade_references(getattr(request, field_name)))
    return copied


class ProviderError(grpc.RpcError):
    """A failed provider call, shaped like the gRPC error the engine returns for a failed invoke."""

    def __init__(self, details: str):
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


@dataclass
class Registration:
    """One resource the program registered, with what the engine would have known about it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    id: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    read: bool = False
    """Read from the cloud (a StackReference, a ``get``), not created."""
    component_outputs: dict[str, Any] = field(default_factory=dict)
    import_id: str = ""
    """Adopted (imported) under this ID instead of created."""


@dataclass
class Invocation:
    token: str
    args: dict[str, Any]
    provider: str


class CloudMocks(pulumi.runtime.Mocks):
    """Answers registrations and invokes like the real providers would, deterministically.

    The AWS side is answered here; each relying-party kind answers its own resource types and
    invokes (``ReviewHooks.mock_resources`` / ``mock_invokes``), with facts it declares
    (``tenant_id``, ``gcp_project_number``...) that keyword arguments override. An invoke nobody
    knows is recorded in :attr:`unknown_invokes` and answered as *unknown*, the way the engine
    answers an invoke it cannot serve yet: never as an empty object a program could mistake for
    a real answer.

    ``federation_enabled=False`` makes the issuer lookup fail the way the AWS provider does when
    the account has not switched outbound identity federation on ("couldn't find resource").
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT_ID,
        *,
        federation_enabled: bool = True,
        region: str = DEFAULT_REGION,
        provider_accounts: dict[str, str] | None = None,
        stack_outputs: dict[str, dict[str, Any]] | None = None,
        **facts: str,
    ):
        from components.relying_parties import KINDS

        self.account_id = account_id
        self.federation_enabled = federation_enabled
        self.region = region
        known = KINDS.mock_facts()
        unknown = sorted(set(facts) - set(known))
        if unknown:
            raise TypeError(f"CloudMocks got unknown facts {unknown}; the relying parties' mocks know {sorted(known)}")
        self.facts = {**known, **facts}
        # provider logical name -> account ID, learned from the provider's assume-role ARN.
        self.provider_accounts: dict[str, str] = dict(provider_accounts or {})
        self.stack_outputs = stack_outputs or {}
        self.unknown_invokes: list[str] = []
        self.cloud = MockCloud(facts=self.facts, stable_uuid=stable_uuid, account_of=self._account_of)
        self._builders: dict[str, Callable[[pulumi.runtime.MockResourceArgs, dict], dict]] = {
            ROLE_TYPE: self._aws_role,
            ROLE_POLICY_TYPE: self._aws_named_child,
            INSTANCE_PROFILE_TYPE: self._aws_instance_profile,
            MANAGED_POLICY_TYPE: self._aws_managed_policy,
            ENABLEMENT_TYPE: self._aws_enablement,
            ORGANIZATIONS_POLICY_TYPE: self._organizations_policy,
            ORGANIZATIONS_POLICY_ATTACHMENT_TYPE: self._organizations_policy_attachment,
            AWS_PROVIDER_TYPE: self._aws_provider,
            STACK_REFERENCE_TYPE: self._stack_reference,
            PULUMI_STACK_TYPE: self._pulumi_stack,
            ESC_ENVIRONMENT_TYPE: self._esc_environment,
            STACK_CONFIG_TYPE: self._stack_config,
            DEPLOYMENT_SETTINGS_TYPE: self._deployment_settings,
            DRIFT_SCHEDULE_TYPE: self._drift_schedule,
            STACK_TAGS_TYPE: self._stack_tags,
        }
        self._kind_builders = KINDS.mock_resources()
        self._invokes: dict[str, Callable[[dict, str], Any]] = {
            CALLER_IDENTITY_INVOKE: self._caller_identity,
            ISSUER_INVOKE: self._issuer,
            POLICY_DOCUMENT_INVOKE: lambda args, account: render_policy_document(args),
            PARTITION_INVOKE: lambda args, account: {"partition": "aws", "dnsSuffix": "amazonaws.com",
                                                     "reverseDnsPrefix": "com.amazonaws", "id": "aws"},
            REGION_INVOKE: self._region,
            AVAILABILITY_ZONES_INVOKE: self._availability_zones,
        }
        self._kind_invokes = KINDS.mock_invokes()

    def __getattr__(self, name: str) -> Any:
        # The facts read like attributes (mocks.tenant_id), as they did before kinds declared them.
        facts = self.__dict__.get("facts") or {}
        if name in facts:
            return facts[name]
        raise AttributeError(name)

    def knows(self, token: str) -> bool:
        return token in self._invokes or token in self._kind_invokes

    # -- pulumi.runtime.Mocks ------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        outputs = dict(args.inputs)
        # A component: not custom, not a provider, and not a read (reads come with the ID to read).
        if not args.custom and not args.resource_id and not args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-component", {}
        builder = self._builders.get(args.typ)
        if builder is not None:
            outputs.update(builder(args, outputs))
        elif args.typ in self._kind_builders:
            outputs.update(self._kind_builders[args.typ](args.name, outputs, self.cloud))
        elif args.typ.startswith("aws:"):
            # AWS autonaming: the logical name plus a random suffix (here a stable one); and every
            # AWS resource has an ARN, in its service's namespace.
            outputs.setdefault("name", f"{args.name}-{stable_suffix(args.name)}")
            service, kind = args.typ.split(":")[1].split("/")[0], args.typ.split(":")[-1]
            outputs.setdefault("arn", f"arn:aws:{service.rstrip('_')}:{self.region}:{self._account_of(args.provider)}:"
                                      f"{kind[0].lower() + kind[1:]}/{outputs['name']}")
        resource_id = outputs.pop("__id", None) or args.resource_id or f"{args.name}-{stable_suffix(args.name)}"
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        account = self._account_of(args.provider)
        if args.token in self._invokes:
            return self._invokes[args.token](args.args, account)
        if args.token in self._kind_invokes:
            return self._kind_invokes[args.token](args.args, self.cloud)
        raise KeyError(args.token)  # RecordingMonitor answers unknown invokes before asking

    # -- AWS invokes ---------------------------------------------------------------------------

    def _caller_identity(self, args: dict, account: str) -> dict:
        return {"accountId": account, "arn": f"arn:aws:sts::{account}:assumed-role/deployer/preview",
                "userId": "AROAEXAMPLEDEPLOYER:preview", "id": account}

    def _issuer(self, args: dict, account: str) -> dict:
        if not self.federation_enabled:
            # The AWS provider's answer when GetOutboundWebIdentityFederationInfo says FeatureDisabled.
            raise ProviderError("reading IAM Outbound Web Identity Federation: couldn't find resource")
        return {"issuerIdentifier": issuer_for_account(account), "id": account}

    def _region(self, args: dict, account: str) -> dict:
        region = args.get("name") or args.get("region") or self.region
        return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region}

    def _availability_zones(self, args: dict, account: str) -> dict:
        names = [f"{self.region}{letter}" for letter in "abc"]
        return {"names": names, "zoneIds": [f"{self.region[:3]}{self.region[-1]}-az{i}" for i in (1, 2, 3)],
                "groupNames": [self.region] * 3, "id": self.region, "state": args.get("state")}

    # -- helpers -------------------------------------------------------------------------------

    def _account_of(self, provider_ref: str | None) -> str:
        # A provider reference is "<provider URN>::<provider id>"; the URN ends in its logical name.
        parts = (provider_ref or "").split("::")
        if len(parts) >= 2 and parts[-2] in self.provider_accounts:
            return self.provider_accounts[parts[-2]]
        return self.account_id

    def _aws_provider(self, args, outputs) -> dict:
        assumed_roles = outputs.get("assumeRoles") or []
        if isinstance(assumed_roles, str):  # provider config reaches providers JSON-encoded
            assumed_roles = json.loads(assumed_roles)
        for assumed in assumed_roles:
            arn = assumed.get("roleArn", "") if isinstance(assumed, dict) else ""
            parts = arn.split(":")
            if len(parts) > 4 and parts[4].isdigit():
                self.provider_accounts[args.name] = parts[4]
        return {}

    def _aws_role(self, args, outputs) -> dict:
        name = outputs.get("name") or f"{args.name}-{stable_suffix(args.name)}"
        path = outputs.get("path") or "/"
        account = self._account_of(args.provider)
        return {
            "__id": name, "name": name, "path": path,
            "arn": f"arn:aws:iam::{account}:role{path}{name}",
            "uniqueId": "AROA" + stable_suffix(name, 17).upper(),
            "maxSessionDuration": outputs.get("maxSessionDuration", 3600),
        }

    def _aws_named_child(self, args, outputs) -> dict:
        name = outputs.get("name") or f"{args.name}-{stable_suffix(args.name)}"
        return {"__id": f"{outputs.get('role')}:{name}", "name": name}

    def _aws_managed_policy(self, args, outputs) -> dict:
        name = outputs.get("name") or f"{args.name}-{stable_suffix(args.name)}"
        path = outputs.get("path") or "/"
        arn = f"arn:aws:iam::{self._account_of(args.provider)}:policy{path}{name}"
        return {"__id": arn, "name": name, "arn": arn, "path": path, "policyId": "ANPA" + stable_suffix(name, 17).upper()}

    def _organizations_policy(self, args, outputs) -> dict:
        # Organizations' shapes: p-<8+ chars> IDs, ARNs under the organisation (o-...) and the policy type.
        policy_id = "p-" + stable_suffix(args.name, 8)
        kind = str(outputs.get("type") or "SERVICE_CONTROL_POLICY").lower()
        organization = "o-" + stable_suffix(self.account_id, 10)
        return {"__id": policy_id, "name": outputs.get("name") or f"{args.name}-{stable_suffix(args.name)}",
                "type": outputs.get("type") or "SERVICE_CONTROL_POLICY", "awsManaged": False,
                "arn": f"arn:aws:organizations::{self._account_of(args.provider)}:policy/{organization}/{kind}/{policy_id}"}

    def _organizations_policy_attachment(self, args, outputs) -> dict:
        return {"__id": f"{outputs.get('targetId')}:{outputs.get('policyId')}"}

    def _aws_instance_profile(self, args, outputs) -> dict:
        name = outputs.get("name") or f"{args.name}-{stable_suffix(args.name)}"
        account = self._account_of(args.provider)
        return {"__id": name, "name": name, "arn": f"arn:aws:iam::{account}:instance-profile/{name}"}

    def _aws_enablement(self, args, outputs) -> dict:
        account = self._account_of(args.provider)
        return {"__id": account, "issuerIdentifier": issuer_for_account(account)}

    def _stack_reference(self, args, outputs) -> dict:
        name = outputs.get("name", args.name)
        values = self.stack_outputs.get(name, {})
        return {"outputs": values, "secretOutputNames": []}


    # -- Pulumi Cloud (pulumi-pulumiservice): the IDs and computed values its provider returns --------

    def _pulumi_stack(self, args, outputs) -> dict:
        # The provider's ID is org/project/stack; force_destroy is echoed as given (default false).
        return {"__id": f"{outputs.get('organizationName')}/{outputs.get('projectName')}/{outputs.get('stackName')}",
                "forceDestroy": bool(outputs.get("forceDestroy", False))}

    def _esc_environment(self, args, outputs) -> dict:
        org, project, name = outputs.get("organization"), outputs.get("project"), outputs.get("name")
        return {"__id": f"{org}/{project}/{name}", "environmentId": stable_uuid("esc", str(org), str(project), str(name)),
                "revision": 2}  # revision 1 is the empty environment Pulumi Cloud creates, 2 our document

    def _stack_config(self, args, outputs) -> dict:
        return {"__id": f"{outputs.get('orgName')}/{outputs.get('projectName')}/{outputs.get('stackName')}"}

    def _deployment_settings(self, args, outputs) -> dict:
        return {"__id": f"{outputs.get('organization')}/{outputs.get('project')}/{outputs.get('stack')}"}

    def _drift_schedule(self, args, outputs) -> dict:
        stack = f"{outputs.get('organization')}/{outputs.get('project')}/{outputs.get('stack')}"
        schedule = stable_uuid("drift-schedule", stack)
        return {"__id": f"{stack}/{schedule}", "scheduleId": schedule,
                "autoRemediate": bool(outputs.get("autoRemediate", False))}

    def _stack_tags(self, args, outputs) -> dict:
        return {"__id": f"{outputs.get('organization')}/{outputs.get('project')}/{outputs.get('stack')}"}


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, plus a record of every registration and invoke in order."""

    def __init__(self, mocks: CloudMocks):
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.invocations: list[Invocation] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        """What ``MockMonitor.RegisterResource`` does, in one pass, plus the record.

        The SDK's version deserialises the inputs for the mocks and serialises their state back
        through its async serialiser, spinning an event loop per call; recording on top of it
        meant deserialising every request twice. Here the inputs are deserialised once, shared by
        the mocks and the record, and a state of plain JSON values (all :class:`CloudMocks`
        returns) goes straight into the response. Anything else (an unknown, a resource reference,
        a None, a request with transforms) takes the SDK's own path.
        """
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        if len(request.transforms):
            request = _with(request, "object")
            response = super().RegisterResource(request)
            self._record(request, response.urn, pulumi.runtime.rpc.deserialize_properties(request.object))
            return response
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # deserialising needs a loop on this executor thread
        inputs = pulumi.runtime.rpc.deserialize_properties(downgrade_references(request.object))
        resource_id, state = self.mocks.new_resource(MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False, transforms=[],
        ))
        if _is_plain_json(state):
            properties = struct_pb2.Struct()
            properties.update(state)
        else:
            properties = _sync_await(pulumi.runtime.rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        self._record(request, urn, inputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=properties)

    def _record(self, request, urn: str, inputs: dict[str, Any]) -> None:
        registered = self.resources.get(urn)
        self.registrations[urn] = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=dict(inputs),
            outputs=dict(registered.state) if registered else {},
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            id=registered.id if registered else "",
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            import_id=request.importId,
        )

    def ReadResource(self, request):  # noqa: N802 - gRPC method name
        """Reads (``get`` functions, StackReferences) are recorded too: a reviewer wants to see them."""
        request = _with(request, "properties")
        response = super().ReadResource(request)
        registered = self.resources.get(response.urn)
        self.registrations[response.urn] = Registration(
            urn=response.urn, type=request.type, name=request.name, custom=True, parent=request.parent,
            inputs=dict(pulumi.runtime.rpc.deserialize_properties(request.properties)),
            outputs=dict(registered.state) if registered else {}, dependencies=list(request.dependencies),
            provider=request.provider, id=registered.id if registered else request.id, read=True,
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        registration = self.registrations.get(request.urn)
        if registration is not None:
            registration.component_outputs = dict(pulumi.runtime.rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request):  # noqa: N802 - gRPC method name
        """Invokes are recorded; one the mock cloud does not know is answered as unknown.

        ``unknown`` is how the engine answers an invoke it cannot serve yet: the output form gives an
        unknown Output, so nothing downstream treats an unanswered read as a real (empty) answer.
        """
        request = _with(request, "args")
        self.invocations.append(Invocation(
            token=request.tok,
            args=dict(pulumi.runtime.rpc.deserialize_properties(request.args)),
            provider=request.provider,
        ))
        if request.tok != "pulumi:pulumi:getResource" and not self.mocks.knows(request.tok):
            if request.tok not in self.mocks.unknown_invokes:
                self.mocks.unknown_invokes.append(request.tok)
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    # -- queries for tests and reports ---------------------------------------------------------

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations.values() if r.type == type_token]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations.values() if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} registrations named {name!r}")
        return matches[0]

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.registrations.values() if r.parent == urn]
