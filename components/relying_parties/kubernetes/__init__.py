"""A Kubernetes cluster trusts AWS roles through a JWT authenticator (``kubernetes``).

For self-managed clusters the component renders kube-apiserver's ``AuthenticationConfiguration``
(one authenticator for the account issuer, CEL rules pinning the account and the exact roles,
usernames ``<prefix><account>:<role name>``); on AKS it creates the same authenticator as an
azure-native ``JWTAuthenticator``. Rules, audits, review hooks and the runtime (``fedctl token
--format kubernetes-exec-credential`` and ``fedctl exchange kubernetes``) live here; the component
is imported only when a stack uses it.

Example config::

    workloads:
      - name: deployer
        trustedServices: [codebuild.amazonaws.com]
        kubernetes: {clusterName: prod-eu}
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import RelyingPartyKind
from . import audits, rules
from .review import REVIEW

_COMPONENT = "components.relying_parties.kubernetes.component"


def _cluster_identity(settings: Mapping[str, Any]) -> Any:
    # One authenticator per issuer and cluster: workloads naming the same cluster share it.
    return ("cluster", settings.get("aks_resource_group_name"), settings.get("cluster_name"))


KUBERNETES = RelyingPartyKind(
    key="kubernetes",
    title="Kubernetes cluster",
    settings=("clusterName", "audience", "apiVersion", "usernamePrefix", "groupsFromPrincipalTag",
              "otherUsernamePrefixes", "outputFile", "kubeconfig", "roleBindings", "aksResourceGroupName"),
    check=rules.check_kubernetes_trust_args,
    shared_by=_cluster_identity,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:KubernetesClusterTrust",),
    public_names=(f"{_COMPONENT}:KubernetesClusterTrustArgs", f"{_COMPONENT}:KubernetesRoleBinding"),
    extra="kubernetes",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.kubernetes.runtime",
)

__all__ = ["KUBERNETES"]
