"""Facts about Kubernetes structured authentication and AKS JWT authenticators, each written once.

Sources (stored copies, read when this kind was written):

- kubernetes/website ``content/en/docs/reference/config-api/apiserver-config.v1.md``: the
  ``apiserver.config.k8s.io/v1`` ``AuthenticationConfiguration`` schema (``jwt[].issuer.url``,
  ``issuer.audiences``, ``issuer.audienceMatchPolicy``, ``claimValidationRules[].expression/message``,
  ``claimMappings.username|groups|uid|extra``, ``userValidationRules``; ``claims`` and ``user`` as
  the CEL variables; ``prefix`` only with ``claim``, never with ``expression``).
- kubernetes/website ``feature-gates/StructuredAuthenticationConfiguration.md``: alpha in 1.29,
  beta 1.30-1.33, stable (GA, locked on) from 1.34; the earlier API versions are
  ``apiserver.k8s.io/v1alpha1`` (1.29) and ``apiserver.k8s.io/v1beta1`` (1.30+).
- kubernetes/website ``access-authn-authz/authentication.md``: at most 64 JWT authenticators, each
  ``issuer.url`` unique; an empty mapped username fails authentication; ``"", [] and null`` groups
  count as no groups; extra keys are lowercase domain-prefixed paths, ``k8s.io`` and
  ``kubernetes.io`` reserved.
- kubernetes/kubernetes ``staging/src/k8s.io/apiserver/pkg/apis/apiserver/validation/validation.go``:
  https issuer with no query, fragment or credentials; non-empty, distinct audiences;
  ``audienceMatchPolicy`` MatchAny with several audiences, empty or MatchAny with one.
- kubernetes/kubernetes ``pkg/kubeapiserver/options/authentication.go``: with
  ``--authentication-config`` "all known signing algs are allowed" (RS256 and ES384 included).
- Microsoft Learn, "Use external identity providers with AKS structured authentication (Preview)":
  every username and group mapped by an AKS JWT authenticator must start with ``aks:jwt:``.
- pulumi-azure-native 3.29.0 (``containerservice.JWTAuthenticator``, Azure REST API
  2025-07-02-preview): ``properties={issuer: {url, audiences}, claim_validation_rules: [{expression,
  message}], claim_mappings: {username: {expression}, groups: {expression}, uid: {expression},
  extra: [{key, value_expression}]}, user_validation_rules: [...]}`` on ``resource_name`` (the
  managed cluster) in ``resource_group_name``; AKS takes expressions only (no ``claim``/``prefix``)
  and no ``audienceMatchPolicy``.
"""

from __future__ import annotations

import re

# -- the AuthenticationConfiguration file -------------------------------------------------------
KIND = "AuthenticationConfiguration"
GA_API_VERSION = "apiserver.config.k8s.io/v1"
"""GA (stable) since Kubernetes 1.34: the default."""
API_VERSIONS = {
    GA_API_VERSION: "Kubernetes 1.34 and later (GA)",
    "apiserver.k8s.io/v1beta1": "Kubernetes 1.30-1.33 (beta)",
    "apiserver.k8s.io/v1alpha1": "Kubernetes 1.29 (alpha, behind the StructuredAuthenticationConfiguration gate)",
}
MAX_AUTHENTICATORS = 64
MATCH_ANY = "MatchAny"
RESERVED_USER_PREFIX = "system:"
"""Kubernetes' own users and groups (``system:serviceaccount:...``, ``system:masters``)."""
RESERVED_EXTRA_DOMAINS = ("k8s.io", "kubernetes.io")

# -- our mapping ---------------------------------------------------------------------------------
DEFAULT_USERNAME_PREFIX = "aws:"
AKS_PREFIX = "aks:jwt:"
"""AKS refuses mapped usernames and groups that do not start with it."""
DEFAULT_AKS_USERNAME_PREFIX = f"{AKS_PREFIX}aws:"
DEFAULT_AUDIENCE_PREFIX = "kubernetes:"
"""The default audience is ``kubernetes:<clusterName>``: one per cluster, so a token for one cluster
is never accepted by another that trusts the same role."""
MAX_PREFIX_LENGTH = 64
"""Ours, not Kubernetes': a prefix is a namespace name, not a place for data."""
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*[:/-]$")
"""A prefix names a namespace and ends with a separator (``aws:``, ``corp/aws-``), so no other
name can run into it."""
CLUSTER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
"""1-63 letters, digits, ``_ . -``, starting with a letter or digit: fits AKS managed cluster names
and Kubernetes labels alike."""
RBAC_NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$")
"""ClusterRole names as RBAC writes them (``view``, ``edit``, ``system:aggregate-to-view``)."""
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A namespace is an RFC 1123 label."""

# -- Pulumi resource types ------------------------------------------------------------------------
COMPONENT_TYPE = "outbound-federation:index:KubernetesClusterTrust"
AKS_AUTHENTICATOR_TYPE = "azure-native:containerservice:JWTAuthenticator"
CLUSTER_ROLE_BINDING_TYPE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE_BINDING_TYPE = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
KUBERNETES_PROVIDER_TYPE = "pulumi:providers:kubernetes"
RBAC_API_GROUP = "rbac.authorization.k8s.io"

# -- the runtime: kubectl's credential plugin --------------------------------------------------------
EXEC_CREDENTIAL_API_VERSION = "client.authentication.k8s.io/v1"
