"""The outbound-federation stack: read the config, compose the components, export what others need.

Config (see Pulumi.dev.yaml): an ``account`` section (does this stack own the account's
federation switch?) and a list of ``workloads``, each a role that mints tokens plus the relying
parties that trust it. Logical names start with the stack name, so review stacks (``pr-123``)
get their own, recognisable roles.

The order matters: a relying party's audience is known before any role exists, so each role's
token policy pins exactly the audiences of the parties that trust it; the trusts then take the
roles' subjects (their ARNs, checked to belong to the account whose issuer they trust).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import AccountFederation, AzureAppTrust, AzureManagedIdentityTrust, FederatedRole
from components.rules import raise_for
from components.rules import aws as aws_rules
from components.rules import azure as azure_rules
from components.stack_config import RelyingParty, StackSpec, WorkloadSpec, credential_name, parse_stack_config

STACK_TAG = "outbound-federation:stack"
WORKLOAD_TAG = "outbound-federation:workload"


def role_args_for(workload: WorkloadSpec, stack: str, audiences: list[Any]) -> dict[str, Any]:
    """A workload's FederatedRole args: its config, its relying parties' audiences, provenance tags."""
    args = dict(workload.role_args)
    explicit = list(args.get("audiences") or [])
    args["audiences"] = explicit + [a for a in audiences if not isinstance(a, str) or a not in explicit]
    if not args.get("existing_role_arn"):
        args["tags"] = {STACK_TAG: stack, WORKLOAD_TAG: workload.name, **(args.get("tags") or {})}
    return args


def audience_of(party: RelyingParty) -> Any:
    """The audience a role must request (and its policy pin) for this relying party."""
    if party.kind in ("azureApp", "azureManagedIdentity"):
        return party.args.get("audience", azure_rules.DEFAULT_AUDIENCE)
    raise ValueError(f"unknown relying party kind {party.kind}")


def checked_subject(role: FederatedRole, account: AccountFederation, workload: str) -> pulumi.Output[str]:
    """The role's subject, once it is proven to belong to the account whose issuer will vouch for it."""
    def check(values: list[str]) -> str:
        account_id, subject = values
        raise_for(f"workload '{workload}'", aws_rules.check_subject_account(subject, account_id, "subject"))
        return subject

    return pulumi.Output.all(account.account_id, role.subject).apply(check)


def trust_for(party: RelyingParty, stack: str, issuer: Any, subjects: dict[str, Any]) -> tuple[str, Any, dict]:
    """Create the component for one relying party; return its config key, itself and its exports."""
    name = f"{stack}-{'-'.join(party.workloads[:1])}-{party.kind.lower()}"
    args = {**party.args, "issuer": issuer, "subjects": subjects}
    if party.kind == "azureApp":
        args.setdefault("display_name", f"aws-{stack}-{party.workloads[0]}")
        trust = AzureAppTrust(name, args)
        return party.kind, trust, {"clientId": trust.client_id, "tenantId": trust.tenant_id}
    if party.kind == "azureManagedIdentity":
        trust = AzureManagedIdentityTrust(name, args)
        return party.kind, trust, {"clientId": trust.client_id, "tenantId": trust.tenant_id,
                                   "principalId": trust.principal_id}
    raise ValueError(f"unknown relying party kind {party.kind}")


def compose(spec: StackSpec, stack: str) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs."""
    account = AccountFederation(f"{stack}-account", spec.account)

    audiences: dict[str, list[Any]] = {w.name: [] for w in spec.workloads}
    for party in spec.relying_parties:
        for workload in party.workloads:
            audiences[workload].append(audience_of(party))

    roles: dict[str, FederatedRole] = {}
    subjects: dict[str, pulumi.Output[str]] = {}
    exported: dict[str, Any] = {}
    for workload in spec.workloads:
        role = FederatedRole(f"{stack}-{workload.name}", role_args_for(workload, stack, audiences[workload.name]))
        roles[workload.name] = role
        subjects[workload.name] = checked_subject(role, account, workload.name)
        exported[workload.name] = {"roleArn": role.role_arn, "roleName": role.role_name, "subject": subjects[workload.name]}

    for party in spec.relying_parties:
        trusted = {credential_name(stack, w): subjects[w] for w in party.workloads}
        key, _, outputs = trust_for(party, stack, account.issuer, trusted)
        for workload in party.workloads:
            exported[workload][key] = outputs

    return {
        "issuer": account.issuer,
        "jwksUri": account.jwks_uri,
        "openidConfigurationUrl": account.openid_configuration_url,
        "accountId": account.account_id,
        "workloads": exported,
    }


config = pulumi.Config()
stack_name = pulumi.get_stack()
stack_spec = parse_stack_config(config.get_object("account"), config.get_object("workloads"), stack_name)
for output_name, value in compose(stack_spec, stack_name).items():
    pulumi.export(output_name, value)
