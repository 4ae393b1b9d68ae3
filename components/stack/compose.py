"""Compose the stack from its specs: accounts, roles, then each relying party through its kind.

The order matters: a relying party's audience is known before any role exists (each kind's
``audience`` hook, built on its one pure audience rule), so each role's token policy pins exactly
the audiences of the relying_parties that trust it; the relying_parties then take the roles' subjects (their
ARNs, checked to belong to the account whose issuer they trust). Nothing here names a kind.

Example::

    spec = parse_stack_config(config.get_object("account"), config.get_object("workloads"), stack)
    for name, value in compose(spec, stack).items():
        pulumi.export(name, value)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..aws import AccountFederation, FederatedRole
from ..guardrails import OrganizationGuardrails
from ..relying_parties import Deployment
from ..rules import aws as aws_rules
from ..rules import raise_for
from .config import AccountSpec, RelyingPartySpec, StackSpec, WorkloadSpec, component_name, credential_name

STACK_TAG = "outbound-federation:stack"
WORKLOAD_TAG = "outbound-federation:workload"


@dataclass
class Account:
    """One AWS account as the stack reaches it: its federation and the options for its resources."""

    federation: AccountFederation
    opts: pulumi.ResourceOptions


def role_args_for(workload: WorkloadSpec, stack: str, audiences: list[Any]) -> dict[str, Any]:
    """A workload's FederatedRole args: its config, its relying parties' audiences, provenance tags."""
    args = dict(workload.role_args)
    merged: list[Any] = []
    for audience in list(args.get("audiences") or []) + audiences:
        # Two relying parties may want the same audience; list each known audience once.
        if not isinstance(audience, str) or audience not in merged:
            merged.append(audience)
    args["audiences"] = merged
    if not args.get("existing_role_arn"):
        args["tags"] = {STACK_TAG: stack, WORKLOAD_TAG: workload.name, **(args.get("tags") or {})}
    return args


def checked_subject(role: FederatedRole, account: AccountFederation, workload: str) -> pulumi.Output[str]:
    """The role's subject, once it is proven to belong to the account whose issuer will vouch for it."""
    def check(values: list[str]) -> str:
        account_id, subject = values
        raise_for(f"workload '{workload}'", aws_rules.check_subject_account(subject, account_id, "subject"))
        return subject

    return pulumi.Output.all(account.account_id, role.subject).apply(check)


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


def audience_of(relying_party: RelyingPartySpec, stack: str) -> Any:
    """The audience a role must request (and its policy pin) for this relying party."""
    kind = relying_party.kind_spec
    return kind.load(kind.audience)(relying_party.name(stack), relying_party.settings, None)


def deploy(relying_party: RelyingPartySpec, stack: str, account: AccountFederation, subjects: dict[str, Any]) -> dict:
    """Create one relying party's component through its kind; return what the stack exports of it."""
    kind = relying_party.kind_spec
    return kind.load(kind.deploy)(Deployment(
        name=relying_party.name(stack), settings=relying_party.settings, issuer=account.issuer, account_id=account.account_id,
        subjects=subjects, stack=stack, workloads=tuple(relying_party.workloads),
    ))


def compose(spec: StackSpec, stack: str) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs."""
    for warning in spec.warnings:
        pulumi.log.warn(f"stack config: {warning.message} [{warning.code}]")
    accounts: dict[str | None, Account] = {}
    # The stack's own account, unless every workload lives in a named one (an organisation stack's
    # deployer account need not have federation switched on).
    if spec.account or not spec.accounts or any(w.account is None for w in spec.workloads):
        accounts[None] = Account(AccountFederation(f"{stack}-account", spec.account), pulumi.ResourceOptions())
    for named in spec.accounts:
        accounts[named.name] = reach(named, stack)

    audiences: dict[str, list[Any]] = {w.name: [] for w in spec.workloads}
    for relying_party in spec.relying_parties:
        audience = audience_of(relying_party, stack)
        for workload in relying_party.workloads:
            audiences[workload].append(audience)

    subjects: dict[str, pulumi.Output[str]] = {}
    exported: dict[str, Any] = {}
    for workload in spec.workloads:
        home = accounts[workload.account]
        role = FederatedRole(component_name(stack, workload.name),
                             role_args_for(workload, stack, audiences[workload.name]), home.opts)
        subjects[workload.name] = checked_subject(role, home.federation, workload.name)
        exported[workload.name] = {"roleArn": role.role_arn, "roleName": role.role_name,
                                   "subject": subjects[workload.name], "accountId": home.federation.account_id,
                                   "tokenPolicy": role.token_policy}

    for relying_party in spec.relying_parties:
        trusted = {credential_name(stack, w): subjects[w] for w in relying_party.workloads}
        # Each relying party trusts the issuer of its workloads' own account, never another's.
        outputs = deploy(relying_party, stack, accounts[relying_party.account].federation, trusted)
        for workload in relying_party.workloads:
            exported[workload][relying_party.kind] = outputs

    outputs: dict[str, Any] = {"workloads": exported}
    if None in accounts:
        own = accounts[None].federation
        outputs.update({"issuer": own.issuer, "jwksUri": own.jwks_uri,
                        "openidConfigurationUrl": own.openid_configuration_url, "accountId": own.account_id})
    if spec.accounts:
        outputs["accounts"] = {n.name: {"accountId": accounts[n.name].federation.account_id,
                                        "issuer": accounts[n.name].federation.issuer} for n in spec.accounts}
    if spec.guardrails:
        # With the stack's own credentials: the organisation's management account (or a delegated
        # administrator for policies) is where SCPs are written.
        guardrails = OrganizationGuardrails(f"{stack}-guardrails", spec.guardrails)
        outputs["guardrails"] = {"policyId": guardrails.policy_id, "policyArn": guardrails.policy_arn}
    return outputs
