"""The Databricks side: a service principal whose federation policies trust AWS roles.

:class:`DatabricksServicePrincipalTrust` creates a Databricks service principal (or uses an
existing one, by its numeric ID) and gives it one federation policy per trusted role: the AWS
account issuer, the role ARN (path included) as subject, ``sub`` as the subject claim and one
audience, the Databricks account ID unless told otherwise. A workload then exchanges its AWS token
at the Databricks token endpoint for a Databricks OAuth token of that service principal
(``fedctl exchange databricks``, RFC 8693).

Federation policies are an account-level API: the Databricks provider must be configured for the
account (``databricks:host: https://accounts.cloud.databricks.com`` and ``databricks:accountId``)
with the credentials of an account admin (``databricks:clientId`` and the secret
``databricks:clientSecret``, or the provider's environment variables). This component makes none
and reads none; it only refuses, at preview, a provider configured for a workspace or for another
account than ``account_id``. What the service principal may do in a workspace (assignment,
entitlements, grants) is outside this component.

Example::

    account = AccountFederation("acct", {})
    role = FederatedRole("jobs", {"trusted_services": ["lambda.amazonaws.com"],
                                  "audiences": [DATABRICKS_ACCOUNT_ID]})
    trust = DatabricksServicePrincipalTrust("jobs", {
        "issuer": account.issuer,
        "account_id": DATABRICKS_ACCOUNT_ID,
        "subjects": {"jobs-runner": role.subject},
        "display_name": "aws-jobs-runner",
    })
    pulumi.export("application_id", trust.application_id)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
import os
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_databricks as databricks

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, is_plain
from . import rules as databricks_rules
from .facts import ACCOUNTS_HOST, ACCOUNTS_HOST_PREFIX, PROVIDER_CONFIG_NAMESPACE, SUBJECT_CLAIM


def _provider_config(opts: Optional[pulumi.ResourceOptions]) -> tuple[Optional[str], Optional[str]]:
    """(host, account ID) of the default Databricks provider: its stack config, else its environment.

    Nothing is known of an explicit provider passed in ``opts``: (None, None).
    """
    if opts is not None and (opts.provider is not None or opts.providers):
        return None, None
    config = pulumi.Config(PROVIDER_CONFIG_NAMESPACE)
    host = config.get("host") or os.environ.get("DATABRICKS_HOST")
    account_id = config.get("accountId") or os.environ.get("DATABRICKS_ACCOUNT_ID")
    return host, account_id


def _accounts_host(host: Optional[str]) -> str:
    """The account console the provider talks to (its cloud's), else Databricks on AWS's."""
    if host:
        bare = host.split("://", 1)[-1].split("/", 1)[0]
        if bare.startswith(ACCOUNTS_HOST_PREFIX):
            return bare
    return ACCOUNTS_HOST


class DatabricksServicePrincipalTrustArgs(TypedDict):
    """A Databricks service principal (new or existing) whose federation policies trust AWS roles."""

    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Policy name -> IAM role ARN (FederatedRole.subject, path included). The names must be plain; each
    becomes a policy ID (lower-cased, other characters as hyphens). The ARNs may be Outputs. At most 20
    policies per service principal."""
    account_id: pulumi.Input[str]
    """The Databricks account ID (a lower-case UUID): where the service principal and its policies live,
    and the default audience."""
    audience: NotRequired[pulumi.Input[str]]
    """The one audience the tokens carry and every policy lists. Default: the Databricks account ID
    (Databricks' own default); AWS's guide uses databricks."""
    display_name: NotRequired[pulumi.Input[str]]
    """Name of the new service principal. Default: the component name."""
    service_principal_id: NotRequired[pulumi.Input[int]]
    """Add the policies to this existing service principal (its numeric ID, as in the account console's
    URL; not its application ID) instead of creating one."""
    existing_policy_count: NotRequired[int]
    """With an existing service principal: how many federation policies it already holds, counted
    against the limit of 20."""
    workspace_host: NotRequired[pulumi.Input[str]]
    """The workspace whose token endpoint workloads use (https://<workspace-host>); without it they
    exchange at the account's endpoint."""
    description: NotRequired[pulumi.Input[str]]
    """Why this trust exists; set on every policy."""
    signing_algorithms: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """The algorithms the trusted roles may request (FederatedRole.signing_algorithms), checked for RS256."""


class DatabricksServicePrincipalTrust(ValidatedComponent):
    """A Databricks service principal whose federation policies trust AWS roles, one policy per role.

    Creates the service principal, or looks up an existing one (``service_principal_id``), which also
    proves at preview that it exists. Each policy copies the issuer, the role ARN and the audience
    exactly, with ``sub`` as the subject claim. A workload exchanges its AWS token (RS256, audience
    ``audience``) for a Databricks token with ``client_id`` = ``application_id``.

    Example::

        trust = DatabricksServicePrincipalTrust("jobs", {
            "issuer": account.issuer,
            "account_id": "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11",
            "subjects": {"jobs-runner": role.subject},
        })
        # on AWS: fedctl exchange databricks --workload jobs-runner, or in code:
        # exchange_token(endpoint, supplier.get_token(), client_id=<application_id>)
    """

    service_principal_id: pulumi.Output[int]
    """The service principal's numeric ID (its SCIM ID)."""
    application_id: pulumi.Output[str]
    """The service principal's application ID: the client_id a workload exchanges its token with."""
    policy_ids: pulumi.Output[Sequence[str]]
    """The IDs of the federation policies this component manages, one per trusted role."""
    token_endpoint: pulumi.Output[str]
    """Where workloads exchange their AWS token: the workspace's, or the account's endpoint."""
    audience: pulumi.Output[str]
    """The one audience the policies list: what the trusted roles must request (and their policies pin)."""

    def __init__(self, name: str, args: DatabricksServicePrincipalTrustArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        host, configured_account = _provider_config(opts)
        account_in = args.get("account_id")
        provider_problems = databricks_rules.check_provider_config(
            host, configured_account, account_in if is_plain(account_in) else None, "account_id")
        super().__init__(name, args, lambda a: databricks_rules.check_databricks_trust_args(a) + provider_problems,
                         opts)
        child = pulumi.ResourceOptions(parent=self)
        label = self.label

        issuer = checked(args["issuer"], databricks_rules.check_issuer, "issuer", label, self)
        algorithms = args.get("signing_algorithms")
        if algorithms is not None and not is_plain(algorithms):
            # Nothing else consumes the algorithms, so the policies wait for their check.
            allowed = checked(algorithms, databricks_rules.check_rs256_allowed, "signing_algorithms", label, self)
            issuer = pulumi.Output.all(issuer, allowed).apply(lambda values: values[0])
        account_id = checked(account_in, databricks_rules.check_account_id, "account_id", label, self)
        if not is_plain(account_in):
            account_id = account_id.apply(lambda value: self._same_account(configured_account, value))
        audience_in = args.get("audience")
        audience = databricks_rules.databricks_audience({
            "account_id": account_id,
            "audience": None if audience_in is None else checked(
                audience_in, databricks_rules.check_audience, "audience", label, self),
        })

        existing = args.get("service_principal_id")
        if existing is not None:
            number = checked(existing, databricks_rules.check_service_principal_id, "service_principal_id",
                             label, self).apply(databricks_rules.service_principal_number)
            # The lookup also proves at preview that the service principal exists and can be read.
            found = databricks.get_service_principal_output(
                scim_id=number.apply(str), opts=pulumi.InvokeOutputOptions(parent=self))
            self.service_principal_id = number
            self.application_id = found.application_id
        else:
            principal = databricks.ServicePrincipal(
                f"{name}-sp", display_name=args.get("display_name", name), opts=child)
            self.service_principal_id = principal.id.apply(int)
            self.application_id = principal.application_id

        policy_ids = []
        for key, subject in dict(args["subjects"]).items():
            policy_ids.append(databricks_rules.policy_id(key))
            databricks.ServicePrincipalFederationPolicy(
                f"{name}-policy-{key}",
                service_principal_id=self.service_principal_id,
                policy_id=policy_ids[-1],
                description=args.get("description"),
                oidc_policy=databricks.ServicePrincipalFederationPolicyOidcPolicyArgs(
                    issuer=issuer,
                    subject=checked(subject, databricks_rules.check_subject, f"subjects.{key}", label, self),
                    subject_claim=SUBJECT_CLAIM,
                    audiences=[audience],
                ),
                opts=child,
            )

        workspace = args.get("workspace_host")
        if workspace is not None:
            workspace = checked(workspace, databricks_rules.check_workspace_host, "workspace_host", label, self)
        self.token_endpoint = pulumi.Output.all(account_id, workspace).apply(
            lambda values: databricks_rules.token_endpoint(account_id=values[0], workspace_host=values[1],
                                                           accounts_host=_accounts_host(host)))
        self.policy_ids = pulumi.Output.from_input(policy_ids)
        self.audience = pulumi.Output.from_input(audience)
        self.register_outputs({
            "service_principal_id": self.service_principal_id,
            "application_id": self.application_id,
            "policy_ids": self.policy_ids,
            "token_endpoint": self.token_endpoint,
            "audience": self.audience,
        })

    def _same_account(self, configured: Optional[str], account_id: str) -> str:
        """An account ID known only now must be the one the provider is configured for, too."""
        check_resolved(self.label, databricks_rules.check_provider_config(None, configured, account_id, "account_id"),
                       self)
        return account_id


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> Any:
    """The audience the roles a service principal trusts must request: known from the settings alone."""
    return databricks_rules.databricks_audience(settings)


def deploy(deployment: Any) -> dict:
    """A DatabricksServicePrincipalTrust for one relying party of the stack; returns what the stack exports."""
    trust = DatabricksServicePrincipalTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "subjects": dict(deployment.subjects)}, deployment.opts)
    # accountId: where `fedctl doctor` reads the service principal's federation policies.
    return {"audience": trust.audience, "applicationId": trust.application_id,
            "accountId": deployment.settings.get("account_id"), "servicePrincipalId": trust.service_principal_id,
            "policyIds": trust.policy_ids, "tokenEndpoint": trust.token_endpoint}


__all__ = ["DatabricksServicePrincipalTrust", "DatabricksServicePrincipalTrustArgs", "ValidationError"]
