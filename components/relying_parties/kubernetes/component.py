"""The Kubernetes side: a cluster's API server trusts AWS roles through a JWT authenticator
(:class:`KubernetesClusterTrust`).

For a self-managed cluster (kubeadm, Talos, KubeOne, ...) the component renders the
``AuthenticationConfiguration`` file kube-apiserver reads with ``--authentication-config``: one JWT
authenticator for the AWS account issuer, its audience, CEL claim validation rules pinning the
account (``claims["https://sts.amazonaws.com/"].aws_account``) and the exact role ARNs, and a
username mapping ``<prefix><account>:<role name>``. Nothing is created in a cloud: the file is an
output (and, on ``pulumi up``, optionally written to ``output_file``) for the cluster's tooling to
roll out. On AKS it creates the same authenticator as an azure-native ``containerservice.JWTAuthenticator``
on the named managed cluster. Given a kubeconfig, it also binds ClusterRoles to the mapped users (or
to a group from a principal tag) with pulumi-kubernetes.

Example::

    account = AccountFederation("acct", {})
    audience = KubernetesClusterTrust.audience_for("prod-eu")             # kubernetes:prod-eu
    role = FederatedRole("deployer", {"trusted_services": ["codebuild.amazonaws.com"], "audiences": [audience]})
    trust = KubernetesClusterTrust("prod-eu", {
        "cluster_name": "prod-eu",
        "issuer": account.issuer,
        "aws_account_id": account.account_id,
        "subjects": {"deployer": role.subject},
    })
    pulumi.export("authentication_config", trust.authentication_configuration)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
import json
import os
import re
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, raise_for
from ...rules import aws as aws_rules
from . import facts
from . import rules as k8s_rules


class KubernetesRoleBinding(TypedDict):
    """A ClusterRole for the trusted roles' Kubernetes users (or for one group of them)."""

    cluster_role: str
    """The ClusterRole to bind: view, edit, admin or one of your own."""
    namespace: NotRequired[str]
    """Bind it in this namespace only (a RoleBinding). Default: cluster-wide (a ClusterRoleBinding)."""
    group: NotRequired[str]
    """Bind it to the group of this principal tag value (needs groups_from_principal_tag) instead of to the users."""


class KubernetesClusterTrustArgs(TypedDict):
    """A Kubernetes cluster's JWT authenticator trusting AWS roles."""

    cluster_name: str
    """The cluster's name (1-63 of A-Z a-z 0-9 _ . -): the default audience, and on AKS the managed cluster."""
    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    aws_account_id: pulumi.Input[str]
    """The 12-digit AWS account the issuer belongs to (AccountFederation.account_id); pinned in the claim validation rules."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Label -> IAM role ARN (FederatedRole.subject, path included), each trusted exactly. The ARNs may be Outputs
    and must belong to aws_account_id."""
    audience: NotRequired[str]
    """The audience the API server accepts, compared exactly. Default: kubernetes:<cluster_name>."""
    api_version: NotRequired[str]
    """The AuthenticationConfiguration apiVersion. Default: apiserver.config.k8s.io/v1 (GA since Kubernetes 1.34);
    apiserver.k8s.io/v1beta1 for 1.30-1.33."""
    username_prefix: NotRequired[str]
    """Prefix of the mapped usernames (and groups), ending with ':', '/' or '-', never empty or system:.
    Default: aws: (aks:jwt:aws: on AKS, which requires aks:jwt:). Usernames are <prefix><account>:<role name>."""
    groups_from_principal_tag: NotRequired[str]
    """Map one group from this principal tag of the role: <prefix><tag key>:<tag value>. Default: no groups."""
    other_username_prefixes: NotRequired[Sequence[str]]
    """The prefixes the cluster's other authenticators give their users and groups; username_prefix must not
    overlap any of them."""
    output_file: NotRequired[str]
    """Write the rendered AuthenticationConfiguration to this file on `pulumi up` (never on preview), for kubeadm,
    KubeOne or your own tooling to roll out. Self-managed clusters only."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """A kubeconfig (its path or contents) to reach the cluster with, for role_bindings."""
    role_bindings: NotRequired[Sequence[KubernetesRoleBinding]]
    """ClusterRoles to bind to the mapped users (or a group), made through kubeconfig."""
    aks_resource_group_name: NotRequired[pulumi.Input[str]]
    """The cluster is the AKS managed cluster cluster_name in this resource group: create the authenticator there
    (an azure-native containerservice.JWTAuthenticator) instead of rendering a file."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


class KubernetesClusterTrust(ValidatedComponent):
    """A Kubernetes cluster's JWT authenticator that trusts AWS roles by their exact ARN.

    Self-managed clusters get the rendered ``authentication_configuration`` (for kube-apiserver's
    ``--authentication-config``); AKS clusters get a ``JWTAuthenticator`` resource. The AWS role must
    request (and its token policy pin) the ``audience`` output; :meth:`audience_for` gives it before
    the trust exists.

    Example::

        trust = KubernetesClusterTrust("prod-eu", {
            "cluster_name": "prod-eu",
            "issuer": account.issuer,
            "aws_account_id": account.account_id,
            "subjects": {"deployer": role.subject},
            "groups_from_principal_tag": "team",
        })
        # kubectl on AWS: users[].user.exec runs `fedctl token --audience kubernetes:prod-eu --format kubernetes-exec-credential`
    """

    cluster_name: pulumi.Output[str]
    """The cluster's name, as given."""
    audience: pulumi.Output[str]
    """The aud the AWS token must carry; put it in the role's audiences and request it."""
    username_prefix: pulumi.Output[str]
    """The prefix every mapped username and group starts with."""
    usernames: pulumi.Output[Mapping[str, str]]
    """Label -> the Kubernetes username its role's tokens map to (<prefix><account>:<role name>): bind RBAC to these."""
    trusted_roles: pulumi.Output[Sequence[str]]
    """The role ARNs the authenticator lets in, in the order of ``subjects``."""
    authenticator: pulumi.Output[str]
    """The JWT authenticator (one jwt[] entry of an AuthenticationConfiguration), as JSON."""
    authentication_configuration: pulumi.Output[str]
    """The AuthenticationConfiguration file (YAML) with this one authenticator, for --authentication-config."""

    def __init__(self, name: str, args: KubernetesClusterTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, k8s_rules.check_kubernetes_trust_args, opts)
        self._name = name
        audience = k8s_rules.audience_for(args)
        prefix = k8s_rules.username_prefix_for(args)
        labels = list(args["subjects"])
        issuer = checked(args["issuer"], aws_rules.check_issuer, "issuer", self.label, self)
        account = checked(args["aws_account_id"], aws_rules.check_account_id, "aws_account_id", self.label, self)
        trusted = self._trusted_roles(account, args["subjects"])
        api_version = args.get("api_version") or facts.GA_API_VERSION
        groups_tag = args.get("groups_from_principal_tag")

        def render(values: list[Any]) -> dict[str, Any]:
            issuer_url, account_id, arns = values
            entry = k8s_rules.authenticator(issuer_url, audience, account_id, list(arns.values()), prefix, groups_tag)
            # The API server refuses the whole file if one expression does not compile, so nothing leaves
            # here that does not: the issuer, the audience and every CEL expression are checked again.
            check_resolved(self.label, k8s_rules.check_configuration(
                k8s_rules.authentication_configuration([entry], api_version), "authenticationConfiguration"), self)
            return entry

        entry = pulumi.Output.all(issuer, account, trusted).apply(render)
        configuration = entry.apply(lambda value: k8s_rules.render_yaml(
            k8s_rules.authentication_configuration([value], api_version)))
        if args.get("output_file"):
            configuration = configuration.apply(lambda text: self._write(args["output_file"], text))
        if args.get("aks_resource_group_name") is not None:
            self._aks_authenticator(args["aks_resource_group_name"], args["cluster_name"], entry)
        if args.get("role_bindings"):
            self._role_bindings(args, prefix, trusted, groups_tag)

        self.cluster_name = pulumi.Output.from_input(args["cluster_name"])
        self.audience = pulumi.Output.from_input(audience)
        self.username_prefix = pulumi.Output.from_input(prefix)
        self.usernames = trusted.apply(lambda arns: {label: k8s_rules.mapped_username(arn, prefix)
                                                     for label, arn in arns.items()})
        self.trusted_roles = trusted.apply(lambda arns: list(arns.values()))
        self.authenticator = entry.apply(lambda value: json.dumps(value, sort_keys=True))
        self.authentication_configuration = configuration
        self.register_outputs({
            "cluster_name": self.cluster_name,
            "audience": self.audience,
            "username_prefix": self.username_prefix,
            "usernames": self.usernames,
            "trusted_roles": self.trusted_roles,
            "authenticator": self.authenticator,
            "authentication_configuration": self.authentication_configuration,
        })

    def _trusted_roles(self, account: pulumi.Output[str], subjects: Mapping[str, Any]) -> pulumi.Output[dict]:
        """Label -> role ARN, once every ARN is known and checked: roles of the pinned account, no two one user."""
        labels = list(subjects)

        def checked_subjects(values: list[Any]) -> dict[str, str]:
            account_id, arns = values[0], dict(zip(labels, values[1:]))
            found = []
            for label, arn in arns.items():
                found += k8s_rules.check_trusted_role(arn, account_id, f"subjects.{label}")
            found += k8s_rules.check_distinct_users(arns, "subjects")
            check_resolved(self.label, found, self)
            return arns

        return pulumi.Output.all(account, *[subjects[label] for label in labels]).apply(checked_subjects)

    @staticmethod
    def _write(path: str, text: str) -> str:
        """Write the file on `pulumi up` only: a preview changes nothing on disk."""
        if not pulumi.runtime.is_dry_run():
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    def _aks_authenticator(self, resource_group: Any, cluster: str, entry: pulumi.Output[dict]) -> Any:
        from pulumi_azure_native import containerservice

        return containerservice.JWTAuthenticator(
            f"{self._name}-authenticator",
            resource_group_name=resource_group,
            resource_name_=cluster,
            jwt_authenticator_name=k8s_rules.aks_authenticator_name(self._name),
            properties=entry.apply(k8s_rules.aks_properties),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _role_bindings(self, args: Mapping[str, Any], prefix: str, trusted: pulumi.Output[dict],
                       groups_tag: Optional[str]) -> None:
        import pulumi_kubernetes as k8s

        provider = k8s.Provider(f"{self._name}-provider", kubeconfig=pulumi.Output.secret(args["kubeconfig"]),
                                opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        users = trusted.apply(lambda arns: [{"kind": "User", "api_group": facts.RBAC_API_GROUP,
                                             "name": k8s_rules.mapped_username(arn, prefix)} for arn in arns.values()])
        for binding in map(k8s_rules.role_binding, args["role_bindings"]):
            role, namespace, group = binding["cluster_role"], binding.get("namespace"), binding.get("group")
            part = "-".join(_slug(p) for p in (role, namespace, group) if p)
            subjects: Any = users if group is None else [{
                "kind": "Group", "api_group": facts.RBAC_API_GROUP,
                "name": k8s_rules.group_name(prefix, groups_tag or "", group)}]
            metadata = {"name": f"{_slug(self._name)}-{part}"[:253].rstrip("-"),
                        "labels": {"app.kubernetes.io/managed-by": "outbound-federation"}}
            role_ref = {"api_group": facts.RBAC_API_GROUP, "kind": "ClusterRole", "name": role}
            if namespace:
                k8s.rbac.v1.RoleBinding(f"{self._name}-binding-{part}", metadata={**metadata, "namespace": namespace},
                                        role_ref=role_ref, subjects=subjects, opts=child)
            else:
                k8s.rbac.v1.ClusterRoleBinding(f"{self._name}-binding-{part}", metadata=metadata, role_ref=role_ref,
                                               subjects=subjects, opts=child)

    @staticmethod
    def audience_for(cluster_name: str, audience: Optional[str] = None) -> str:
        """The ``audience`` a trust of this cluster will have, before it exists (no lookup needed)."""
        settings = {"cluster_name": cluster_name, "audience": audience}
        found = k8s_rules.check_cluster_name(cluster_name, "cluster_name")
        if audience is not None:
            found += k8s_rules.check_audience(audience, "audience")
        raise_for(f"KubernetesClusterTrust '{cluster_name}'", found)
        return k8s_rules.audience_for(settings)


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    """The audience the trusted roles must request: known from the settings alone."""
    return k8s_rules.audience_for(settings)


def deploy(deployment: Any) -> dict:
    """A KubernetesClusterTrust for one relying party of the stack; returns what the stack exports of it."""
    trust = KubernetesClusterTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "subjects": dict(deployment.subjects)}, deployment.opts)
    return {"audience": trust.audience, "usernames": trust.usernames,
            "authenticationConfiguration": trust.authentication_configuration}


__all__ = ["KubernetesClusterTrust", "KubernetesClusterTrustArgs", "KubernetesRoleBinding", "ValidationError"]
