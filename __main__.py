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

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import (
    AccountFederation,
    AzureAppTrust,
    AzureManagedIdentityTrust,
    FederatedRole,
    GcpWorkloadIdentityTrust,
)
from components.rules import raise_for
from components.rules import aws as aws_rules
from components.rules import azure as azure_rules
from components.stack_config import (
    AccountSpec,
    RelyingParty,
    StackSpec,
    WorkloadSpec,
    credential_name,
    parse_stack_config,
)

STACK_TAG = "outbound-federation:stack"
WORKLOAD_TAG = "outbound-federation:workload"


def role_args_for(workload: WorkloadSpec, stack: str, audiences: list[Any]) -> dict[str, Any]:
    """A workload's FederatedRole args: its config, its relying parties' audiences, provenance tags."""
    args = dict(workload.role_args)
    merged: list[Any] = []
    for audience in list(args.get("audiences") or []) + audiences:
        # Two Azure parties share api://AzureADTokenExchange; list each known audience once.
        if not isinstance(audience, str) or audience not in merged:
            merged.append(audience)
    args["audiences"] = merged
    if not args.get("existing_role_arn"):
        args["tags"] = {STACK_TAG: stack, WORKLOAD_TAG: workload.name, **(args.get("tags") or {})}
    return args


def party_name(party: RelyingParty, stack: str) -> str:
    """The component name of a relying party: from the stack and its first workload."""
    return f"{stack}-{party.workloads[0]}-{party.kind.lower()}"


def audience_of(party: RelyingParty, stack: str) -> Any:
    """The audience a role must request (and its policy pin) for this relying party."""
    if party.kind in ("azureApp", "azureManagedIdentity"):
        return party.args.get("audience", azure_rules.DEFAULT_AUDIENCE)
    if party.kind == "gcp":
        return GcpWorkloadIdentityTrust.audience_for(
            party_name(party, stack), party.args["project"], pool_id=party.args.get("pool_id"),
            provider_id=party.args.get("provider_id"), allowed_audiences=party.args.get("allowed_audiences"),
            id_generation=party.args.get("id_generation", 0))
    raise ValueError(f"unknown relying party kind {party.kind}")


def checked_subject(role: FederatedRole, account: AccountFederation, workload: str) -> pulumi.Output[str]:
    """The role's subject, once it is proven to belong to the account whose issuer will vouch for it."""
    def check(values: list[str]) -> str:
        account_id, subject = values
        raise_for(f"workload '{workload}'", aws_rules.check_subject_account(subject, account_id, "subject"))
        return subject

    return pulumi.Output.all(account.account_id, role.subject).apply(check)


def trust_for(party: RelyingParty, stack: str, account: AccountFederation, subjects: dict[str, Any]) -> dict:
    """Create the component for one relying party; return what the stack exports of it."""
    name = party_name(party, stack)
    args = {**party.args, "issuer": account.issuer, "subjects": subjects}
    if party.kind == "azureApp":
        args.setdefault("display_name", f"aws-{stack}-{party.workloads[0]}")
        app = AzureAppTrust(name, args)
        return {"clientId": app.client_id, "tenantId": app.tenant_id}
    if party.kind == "azureManagedIdentity":
        identity = AzureManagedIdentityTrust(name, args)
        return {"clientId": identity.client_id, "tenantId": identity.tenant_id, "principalId": identity.principal_id}
    if party.kind == "gcp":
        pool = GcpWorkloadIdentityTrust(name, {**args, "aws_account_id": account.account_id})
        return {"audience": pool.audience, "credentialConfiguration": pool.credential_configuration,
                "serviceAccountEmail": pool.service_account_email, "providerName": pool.provider_name}
    raise ValueError(f"unknown relying party kind {party.kind}")


@dataclass
class Account:
    """One AWS account as the stack reaches it: its federation and the options for its resources."""

    federation: AccountFederation
    opts: pulumi.ResourceOptions


def reach(named: AccountSpec, stack: str) -> Account:
    """An AWS provider that assumes the account's deployer role, refusing any other account."""
    provider = aws.Provider(
        f"{stack}-{named.name}-aws",
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=named.assume_role_arn,
                                                 session_name=f"outbound-federation-{stack}"[:64])],
        allowed_account_ids=[named.account_id],
        region=named.region or aws.config.region,
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    return Account(AccountFederation(f"{stack}-{named.name}", named.federation, opts), opts)


def compose(spec: StackSpec, stack: str) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs."""
    accounts: dict[str | None, Account] = {}
    # The stack's own account, unless every workload lives in a named one (an organisation stack's
    # deployer account need not have federation switched on).
    if spec.account or not spec.accounts or any(w.account is None for w in spec.workloads):
        accounts[None] = Account(AccountFederation(f"{stack}-account", spec.account), pulumi.ResourceOptions())
    for named in spec.accounts:
        accounts[named.name] = reach(named, stack)

    audiences: dict[str, list[Any]] = {w.name: [] for w in spec.workloads}
    for party in spec.relying_parties:
        for workload in party.workloads:
            audiences[workload].append(audience_of(party, stack))

    subjects: dict[str, pulumi.Output[str]] = {}
    exported: dict[str, Any] = {}
    for workload in spec.workloads:
        home = accounts[workload.account]
        role = FederatedRole(f"{stack}-{workload.name}", role_args_for(workload, stack, audiences[workload.name]),
                             home.opts)
        subjects[workload.name] = checked_subject(role, home.federation, workload.name)
        exported[workload.name] = {"roleArn": role.role_arn, "roleName": role.role_name,
                                   "subject": subjects[workload.name], "accountId": home.federation.account_id}

    for party in spec.relying_parties:
        trusted = {credential_name(stack, w): subjects[w] for w in party.workloads}
        # Each relying party trusts the issuer of its workloads' own account, never another's.
        outputs = trust_for(party, stack, accounts[party.account].federation, trusted)
        for workload in party.workloads:
            exported[workload][party.kind] = outputs

    outputs: dict[str, Any] = {"workloads": exported}
    if None in accounts:
        own = accounts[None].federation
        outputs.update({"issuer": own.issuer, "jwksUri": own.jwks_uri,
                        "openidConfigurationUrl": own.openid_configuration_url, "accountId": own.account_id})
    if spec.accounts:
        outputs["accounts"] = {n.name: {"accountId": accounts[n.name].federation.account_id,
                                        "issuer": accounts[n.name].federation.issuer} for n in spec.accounts}
    return outputs


config = pulumi.Config()
stack_name = pulumi.get_stack()
stack_spec = parse_stack_config(config.get_object("account"), config.get_object("workloads"), stack_name,
                                config.get_object("accounts"))
for output_name, value in compose(stack_spec, stack_name).items():
    pulumi.export(output_name, value)
