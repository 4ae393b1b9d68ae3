"""The GCP side: a workload identity pool and OIDC provider that trust AWS roles, and a service
account those roles may impersonate (:class:`GcpWorkloadIdentityTrust`).

The provider trusts the AWS account issuer exactly as it appears in ``iss``. Its attribute
condition pins the account (AWS's nested ``aws_account`` claim) and the exact role ARNs; its
attribute mapping makes ``google.subject`` the short ``<account>:<role name>``, because full role
ARNs overflow Google's 127-byte limit. Each role gets ``roles/iam.workloadIdentityUser`` on the
service account as one ``principal://`` member, never the pool-wide ``principalSet://.../*``.

Example::

    account = AccountFederation("acct", {})
    audience = GcpWorkloadIdentityTrust.audience_for("exporter", "my-project")
    role = FederatedRole("exporter", {"trusted_services": ["lambda.amazonaws.com"], "audiences": [audience]})
    trust = GcpWorkloadIdentityTrust("exporter", {
        "project": "my-project",
        "issuer": account.issuer,
        "aws_account_id": account.account_id,
        "subjects": {"exporter": role.subject},
        "create_service_account": True,
    })
    pulumi.export("gcp_credentials", trust.credential_configuration)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
import json
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_gcp as gcp

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, is_plain, raise_for
from ...rules import aws as aws_rules
from . import facts
from . import rules as gcp_rules


def _ids(name: str, pool_id: Optional[str], provider_id: Optional[str], id_generation: int) -> tuple[str, str]:
    return (pool_id or gcp_rules.default_pool_id(name, id_generation),
            provider_id or gcp_rules.default_provider_id(name, id_generation))


def _token_audience(project_number: pulumi.Input[str], pool_id: str, provider_id: str,
                    allowed_audiences: pulumi.Input[Sequence[str]]) -> pulumi.Output[str]:
    """The one definition of the AWS-side audience, shared by the component and ``audience_for``."""
    return pulumi.Output.all(project_number, allowed_audiences).apply(
        lambda values: gcp_rules.token_audience(values[0], pool_id, provider_id, values[1] or None)
    )


class GcpWorkloadIdentityTrustArgs(TypedDict):
    """A workload identity pool and OIDC provider trusting AWS roles, and the service account they impersonate."""

    project: pulumi.Input[str]
    """The GCP project ID that holds the pool (and the new service account)."""
    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    aws_account_id: pulumi.Input[str]
    """The 12-digit AWS account the issuer belongs to (AccountFederation.account_id); pinned in the condition."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Label -> IAM role ARN (FederatedRole.subject, path included). The labels (1-63 of A-Z a-z 0-9 . _ -)
    must be plain: they name the IAM bindings. The ARNs may be Outputs and must belong to aws_account_id."""
    pool_id: NotRequired[str]
    """The pool ID (4-32 of a-z 0-9 -, not gcp-...). Default: from the component name plus a short hash."""
    provider_id: NotRequired[str]
    """The provider ID (4-32 of a-z 0-9 -, not gcp-...). Default: from the component name plus a short hash."""
    id_generation: NotRequired[int]
    """Bump (default 0) to get fresh default IDs: Google blocks a deleted pool's or provider's ID for 30 days,
    so a destroy then up under the same name needs it. Ignored for IDs given explicitly."""
    allowed_audiences: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Audiences the provider accepts (at most 10, each at most 256 characters). Default: none, so the token's
    aud must be the provider's own name (see the ``audience`` output)."""
    service_account_email: NotRequired[pulumi.Input[str]]
    """An existing service account for the roles to impersonate. Give this or create_service_account."""
    create_service_account: NotRequired[bool]
    """Create a service account (ID from the component name) for the roles to impersonate."""


class GcpWorkloadIdentityTrust(ValidatedComponent):
    """A workload identity pool and OIDC provider trusting AWS roles, each allowed to impersonate one service account.

    Looks the project number up, creates the pool and the provider (issuer copied exactly, attribute
    condition always set), optionally a service account, and one ``roles/iam.workloadIdentityUser``
    binding per trusted role. The AWS role must request (and its token policy pin) the ``audience``
    output; :meth:`audience_for` gives the same value before the trust exists.

    Example::

        trust = GcpWorkloadIdentityTrust("exporter", {
            "project": "my-project",
            "issuer": account.issuer,
            "aws_account_id": account.account_id,
            "subjects": {"exporter": role.subject},
            "service_account_email": "exporter@my-project.iam.gserviceaccount.com",
        })
        # on AWS: GOOGLE_APPLICATION_CREDENTIALS=<credential_configuration saved to a file>
        #         GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1  (google-auth runs `fedctl token` for the AWS token)
    """

    pool_id: pulumi.Output[str]
    """The pool ID."""
    provider_id: pulumi.Output[str]
    """The provider ID."""
    pool_name: pulumi.Output[str]
    """The pool's resource name: projects/<number>/locations/global/workloadIdentityPools/<pool id>."""
    provider_name: pulumi.Output[str]
    """The provider's resource name (prefix it with //iam.googleapis.com/ for the STS audience)."""
    audience: pulumi.Output[str]
    """The aud the AWS token must carry: the first allowed audience, else https://iam.googleapis.com/<provider name>.
    Put it in the role's audiences and request it."""
    service_account_email: pulumi.Output[str]
    """The service account the trusted roles impersonate."""
    principals: pulumi.Output[Sequence[str]]
    """The principal:// member of each trusted role, in the order of ``subjects``."""
    credential_configuration: pulumi.Output[str]
    """A google-auth external_account configuration (JSON) that runs ``fedctl token`` for the AWS token
    and impersonates the service account. Needs GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1."""

    def __init__(self, name: str, args: GcpWorkloadIdentityTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, gcp_rules.check_gcp_trust_args, opts)
        self._name = name
        project = args["project"]
        pool_id, provider_id = _ids(name, args.get("pool_id"), args.get("provider_id"), args.get("id_generation", 0))
        project_number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        account = checked(args["aws_account_id"], aws_rules.check_account_id, "aws_account_id", self.label, self)
        audiences = checked(args.get("allowed_audiences") or [], gcp_rules.check_allowed_audiences,
                            "allowed_audiences", self.label, self)
        trusted = self._trusted_roles(account, args["subjects"])

        pool, provider = self._pool_and_provider(project, pool_id, provider_id, args["issuer"], audiences,
                                                 pulumi.Output.all(account, trusted).apply(
                                                     lambda v: gcp_rules.attribute_condition(v[0], list(v[1].values()))))
        email, service_account_id = self._service_account(args, project, pool_id)
        members = self._bindings(list(args["subjects"]), trusted, project_number, pool_id, service_account_id, provider)

        self.pool_id = pool.workload_identity_pool_id
        self.provider_id = provider.workload_identity_pool_provider_id
        self.pool_name = pool.name
        self.provider_name = provider.name
        self.audience = _token_audience(project_number, pool_id, provider_id, audiences)
        self.service_account_email = email
        self.principals = pulumi.Output.all(*members)
        self.credential_configuration = pulumi.Output.all(project_number, email, self.audience).apply(
            lambda values: json.dumps(gcp_rules.credential_configuration(
                values[0], pool_id, provider_id, values[1], values[2]), indent=2)
        )
        self.register_outputs({
            "pool_id": self.pool_id,
            "provider_id": self.provider_id,
            "pool_name": self.pool_name,
            "provider_name": self.provider_name,
            "audience": self.audience,
            "service_account_email": self.service_account_email,
            "principals": self.principals,
            "credential_configuration": self.credential_configuration,
        })

    def _trusted_roles(self, account: pulumi.Output[str], subjects: Mapping[str, Any]) -> pulumi.Output[dict]:
        """Label -> role ARN, once every ARN is known and checked: each a role of the pinned account with
        a short enough google.subject, no two the same role, and a condition that fits."""
        labels = list(subjects)

        def checked_subjects(values: list[Any]) -> dict[str, str]:
            account_id, arns = values[0], dict(zip(labels, values[1:]))
            found = []
            for label, arn in arns.items():
                found += gcp_rules.check_trusted_role(arn, account_id, f"subjects.{label}")
            found += gcp_rules.check_distinct_subjects(arns, "subjects")
            if not found:
                found += gcp_rules.check_attribute_condition(
                    gcp_rules.attribute_condition(account_id, list(arns.values())), "subjects")
            check_resolved(self.label, found, self)
            return arns

        return pulumi.Output.all(account, *[subjects[label] for label in labels]).apply(checked_subjects)

    def _pool_and_provider(self, project: Any, pool_id: str, provider_id: str, issuer: Any, audiences: Any,
                           condition: pulumi.Output[str]) -> tuple[Any, Any]:
        name, child = self._name, pulumi.ResourceOptions(parent=self)
        pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=project,
            workload_identity_pool_id=pool_id,
            display_name=name[: facts.MAX_DISPLAY_NAME_LENGTH],
            description=f"AWS roles trusted through outbound identity federation ({name})"[
                : facts.MAX_DESCRIPTION_LENGTH],
            opts=child,
        )
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-provider",
            project=project,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=provider_id,
            display_name=f"AWS {name}"[: facts.MAX_DISPLAY_NAME_LENGTH],
            description=f"The AWS account issuer, for the roles of {name}"[: facts.MAX_DESCRIPTION_LENGTH],
            # The issuer is compared exactly with the token's iss: copied, never normalised.
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(
                issuer_uri=checked(issuer, aws_rules.check_issuer, "issuer", self.label, self),
                allowed_audiences=audiences),
            attribute_mapping=gcp_rules.attribute_mapping(),
            # Always set: the issuer is per account, but the condition also pins the account and
            # the exact roles, so a new role in the account gets nothing until it is listed here.
            attribute_condition=condition,
            opts=child,
        )
        if pulumi.runtime.is_dry_run():
            # Nothing offline can read the organisation's policy: say, at preview, what it must allow.
            pulumi.Output.from_input(issuer).apply(
                lambda value: pulumi.log.warn(gcp_rules.org_policy_advice(value), resource=provider)
                if isinstance(value, str) else None)
        return pool, provider

    def _service_account(self, args: Mapping[str, Any], project: Any, pool_id: str) -> tuple[Any, Any]:
        """The service account the roles impersonate: (its email, its resource name)."""
        if args.get("create_service_account"):
            account = gcp.serviceaccount.Account(
                f"{self._name}-sa",
                project=project,
                account_id=gcp_rules.default_service_account_id(self._name),
                display_name=f"AWS roles of {self._name}"[:100],
                description=f"Impersonated by AWS roles through workload identity pool {pool_id}"[:256],
                opts=pulumi.ResourceOptions(parent=self),
            )
            return account.email, account.name
        email = checked(args["service_account_email"], gcp_rules.check_service_account_email,
                        "service_account_email", self.label, self)
        return email, email.apply(gcp_rules.service_account_resource_name)

    def _bindings(self, labels: list[str], trusted: pulumi.Output[dict], project_number: Any, pool_id: str,
                  service_account_id: Any, provider: Any) -> list[pulumi.Output[str]]:
        """One roles/iam.workloadIdentityUser per trusted role, for its own principal; returns the members."""
        members = []
        for label in labels:
            member = pulumi.Output.all(project_number, trusted).apply(
                lambda values, label=label: gcp_rules.principal_for(
                    values[0], pool_id, gcp_rules.mapped_subject(values[1][label]))
            )
            members.append(member)
            gcp.serviceaccount.IAMMember(
                f"{self._name}-binding-{label}",
                service_account_id=service_account_id,
                role=facts.WORKLOAD_IDENTITY_USER,
                member=member,
                # After the provider, so a binding never names a subject no provider can produce.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
            )
        return members

    @staticmethod
    def audience_for(
        name: str,
        project: pulumi.Input[str],
        pool_id: Optional[str] = None,
        provider_id: Optional[str] = None,
        allowed_audiences: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]] = None,
        id_generation: int = 0,
        opts: Optional[pulumi.InvokeOutputOptions] = None,
    ) -> pulumi.Output[str]:
        """The ``audience`` a trust named ``name`` with these settings will have, before it exists.

        The AWS role must pin the audience in its token policy, and the trust needs the role's
        ARN, so the stack asks here first. Give the same arguments as the trust (same defaults,
        same project-number lookup); ``opts`` go to that lookup (e.g. a provider).

        Example::

            audience = GcpWorkloadIdentityTrust.audience_for("exporter", "my-project")
            role = FederatedRole("exporter", {"trusted_services": [...], "audiences": [audience]})
        """
        settings = {"pool_id": pool_id, "provider_id": provider_id, "allowed_audiences": allowed_audiences,
                    "project": project, "id_generation": id_generation}
        checks = {
            "project": gcp_rules.check_project_id,
            "pool_id": gcp_rules.check_pool_id,
            "provider_id": gcp_rules.check_provider_id,
            "allowed_audiences": gcp_rules.check_allowed_audiences,
            "id_generation": gcp_rules.check_id_generation,
        }
        raise_for(f"GcpWorkloadIdentityTrust '{name}'", [
            violation for key, check in checks.items()
            if settings[key] is not None and is_plain(settings[key])
            for violation in check(settings[key], key)
        ])
        pool, provider = _ids(name, pool_id, provider_id, id_generation)
        if allowed_audiences and is_plain(allowed_audiences):
            # The first allowed audience needs no lookup.
            return pulumi.Output.from_input(allowed_audiences[0])
        number = gcp.organizations.get_project_output(project_id=project, opts=opts).number
        return _token_audience(number, pool, provider, allowed_audiences or [])


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> pulumi.Output[str]:
    """The audience the trusted roles must request, before the trust exists (a project-number lookup)."""
    return GcpWorkloadIdentityTrust.audience_for(
        name, settings["project"], pool_id=settings.get("pool_id"), provider_id=settings.get("provider_id"),
        allowed_audiences=settings.get("allowed_audiences"), id_generation=settings.get("id_generation", 0))


def deploy(deployment: Any) -> dict:
    """A GcpWorkloadIdentityTrust for one relying party of the stack; returns what the stack exports of it."""
    pool = GcpWorkloadIdentityTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "subjects": dict(deployment.subjects)}, deployment.opts)
    return {"audience": pool.audience, "credentialConfiguration": pool.credential_configuration,
            "serviceAccountEmail": pool.service_account_email, "providerName": pool.provider_name}


__all__ = ["GcpWorkloadIdentityTrust", "GcpWorkloadIdentityTrustArgs", "ValidationError"]
