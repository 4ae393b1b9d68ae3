"""Every config key the README documents works through the stack, not only through its component.

For each key there is a workload that uses it; the whole program runs on the mock runtime with
that config and the value must reach the resource it is for. A key with no example here fails the
last test, so a new setting cannot ship untried through the stack.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable

import pytest
from conftest import ROOT

from components.relying_parties import KINDS
from components.stack.config import ACCOUNT_KEYS, GUARDRAIL_KEYS, ROLE_KEYS
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project

SUB = "00000000-1111-2222-3333-444444444444"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/reports"
SSO = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
       "AWSReservedSSO_ReadOnly_0123456789abcdef")
LAMBDA = {"name": "exporter", "trustedServices": ["lambda.amazonaws.com"]}
APP = {"displayName": "aws-exporter"}
IDENTITY = {"identityName": "aws-exporter", "resourceGroupName": "reports", "location": "westeurope"}
POOL = {"project": "usage-analytics-dev", "createServiceAccount": True}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def one(run, type_token):
    [found] = run.monitor.of_type(type_token)
    return found


ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
APPLICATION = "azuread:index/application:Application"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
CLUSTER = {"clusterName": "onprem-prod"}
AKS_AUTHENTICATOR = "azure-native:containerservice:JWTAuthenticator"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
VIEWERS = {**CLUSTER, "kubeconfig": "~/.kube/config", "roleBindings": [{"clusterRole": "view"}]}
VAULT = {"address": "https://vault.example.com:8200", "policies": ["exporter-read"]}
VAULT_MOUNT = "vault:jwt/authBackend:AuthBackend"
VAULT_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
AWS_CLAIM = "/https:~1~1sts.amazonaws.com~1/"
OU = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"


def kubernetes(run) -> dict:
    return run.outputs["workloads"]["exporter"]["kubernetes"]


def authentication_configuration(run) -> dict:
    import yaml

    return yaml.safe_load(kubernetes(run)["authenticationConfiguration"])


def policy_condition(run) -> dict:
    return json.loads(one(run, POLICY).inputs["policy"])["Statement"][0]["Condition"]


# key -> (account section, workloads, what must hold of the run)
EXAMPLES: dict[str, tuple[dict, list[dict], Callable[[Any], Any]]] = {
    "account.manage": ({"manage": True}, [{**LAMBDA, "audiences": ["a"]}],
                       lambda r: one(r, "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation").protect),
    "account.disableOnDestroy": ({"manage": True, "disableOnDestroy": True}, [{**LAMBDA, "audiences": ["a"]}],
                                 lambda r: not one(r, "aws:iam/outboundWebIdentityFederation:"
                                                      "OutboundWebIdentityFederation").protect),
    "audiences": ({}, [{**LAMBDA, "audiences": ["https://api.example.com"]}],
                  lambda r: policy_condition(r)["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
                  == ["https://api.example.com"]),
    "maxDurationSeconds": ({}, [{**LAMBDA, "audiences": ["a"], "maxDurationSeconds": 600}],
                           lambda r: policy_condition(r)["NumericLessThanEquals"]["sts:DurationSeconds"] == 600),
    "signingAlgorithms": ({}, [{**LAMBDA, "audiences": ["a"], "signingAlgorithms": ["ES384"]}],
                          lambda r: policy_condition(r)["StringEquals"]["sts:SigningAlgorithm"] == ["ES384"]),
    "allowedTagKeys": ({}, [{**LAMBDA, "audiences": ["a"], "allowedTagKeys": ["team"]}],
                       lambda r: "TagOutboundWebIdentityTokens" in one(r, POLICY).inputs["policy"]),
    "trustedServices": ({}, [{**LAMBDA, "audiences": ["a"]}],
                        lambda r: "lambda.amazonaws.com" in one(r, ROLE).inputs["assumeRolePolicy"]),
    "assumeRolePolicy": ({}, [{"name": "exporter", "assumeRolePolicy": TRUST, "audiences": ["a"]}],
                         lambda r: one(r, ROLE).inputs["assumeRolePolicy"] == TRUST),
    "roleName": ({}, [{**LAMBDA, "audiences": ["a"], "roleName": "exporter-role"}],
                 lambda r: one(r, ROLE).outputs["name"] == "exporter-role"),
    "path": ({}, [{**LAMBDA, "audiences": ["a"], "path": "/teams/x/"}],
             lambda r: ":role/teams/x/" in one(r, ROLE).outputs["arn"]),
    "permissionsBoundary": ({}, [{**LAMBDA, "audiences": ["a"],
                                  "permissionsBoundary": "arn:aws:iam::123456789012:policy/boundary"}],
                            lambda r: one(r, ROLE).inputs["permissionsBoundary"].endswith(":policy/boundary")),
    "tags": ({}, [{**LAMBDA, "audiences": ["a"], "tags": {"team": "reporting"}}],
             lambda r: one(r, ROLE).inputs["tags"]["team"] == "reporting"),
    "createInstanceProfile": ({}, [{**LAMBDA, "audiences": ["a"], "createInstanceProfile": True}],
                              lambda r: one(r, "aws:iam/instanceProfile:InstanceProfile")),
    "existingRoleArn": ({}, [{"name": "sso", "existingRoleArn": SSO, "audiences": ["a"]}],
                        lambda r: r.outputs["workloads"]["sso"]["roleArn"] == SSO),
    "attachTokenPolicy": ({}, [{"name": "legacy", "existingRoleArn": "arn:aws:iam::123456789012:role/x", "audiences": ["a"],
                                "attachTokenPolicy": True}],
                          lambda r: one(r, POLICY).inputs["role"] == "x"),
    "account": ({}, [{**LAMBDA, "audiences": ["a"], "account": "payments"}],
                lambda r: one(r, ROLE).outputs["arn"].startswith("arn:aws:iam::111111111111:")),
    "azureApp.displayName": ({}, [{**LAMBDA, "azureApp": APP}],
                             lambda r: one(r, APPLICATION).inputs["displayName"] == "aws-exporter"),
    "azureApp.description": ({}, [{**LAMBDA, "azureApp": {**APP, "description": "why"}}],
                             lambda r: one(r, APP_FIC).inputs["description"] == "why"),
    "azureApp.audience": ({}, [{**LAMBDA, "azureApp": {**APP, "audience": "api://custom"}}],
                          lambda r: one(r, APP_FIC).inputs["audiences"] == ["api://custom"]
                          and r.outputs["workloads"]["exporter"]["azureApp"]["audience"] == "api://custom"),
    "azureApp.owners": ({}, [{**LAMBDA, "azureApp": {**APP, "owners": ["aaaaaaaa-0000-4000-8000-000000000001"]}}],
                        lambda r: one(r, APPLICATION).inputs["owners"] == ["aaaaaaaa-0000-4000-8000-000000000001"]),
    "azureApp.roleAssignments": ({}, [{**LAMBDA, "azureApp": {**APP, "roleAssignments": [
        {"scope": SCOPE, "role": "Reader"}]}}], lambda r: one(r, ASSIGNMENT).inputs["scope"] == SCOPE),
    "azureApp.existingApplicationObjectId": (
        {}, [{**LAMBDA, "azureApp": {"existingApplicationObjectId": "aaaaaaaa-0000-4000-8000-000000000002"}}],
        lambda r: one(r, APP_FIC).inputs["applicationId"] == "/applications/aaaaaaaa-0000-4000-8000-000000000002"),
    "azureApp.existingServicePrincipalObjectId": (
        {}, [{**LAMBDA, "azureApp": {"existingApplicationObjectId": "aaaaaaaa-0000-4000-8000-000000000002",
                                     "existingServicePrincipalObjectId": "aaaaaaaa-0000-4000-8000-000000000003",
                                     "roleAssignments": [{"scope": SCOPE, "role": "Reader"}]}}],
        lambda r: one(r, ASSIGNMENT).inputs["principalId"] == "aaaaaaaa-0000-4000-8000-000000000003"),
    "azureApp.existingCredentialCount": (
        {}, [{**LAMBDA, "azureApp": {"existingApplicationObjectId": "aaaaaaaa-0000-4000-8000-000000000002",
                                     "existingCredentialCount": 19}}],
        lambda r: one(r, APP_FIC)),
    "azureManagedIdentity.identityName": ({}, [{**LAMBDA, "azureManagedIdentity": IDENTITY}],
                                          lambda r: one(r, UAMI).inputs["resourceName"] == "aws-exporter"),
    "azureManagedIdentity.resourceGroupName": ({}, [{**LAMBDA, "azureManagedIdentity": IDENTITY}],
                                               lambda r: one(r, UAMI_FIC).inputs["resourceGroupName"] == "reports"),
    "azureManagedIdentity.location": ({}, [{**LAMBDA, "azureManagedIdentity": IDENTITY}],
                                      lambda r: one(r, UAMI).inputs["location"] == "westeurope"),
    "azureManagedIdentity.tags": ({}, [{**LAMBDA, "azureManagedIdentity": {**IDENTITY, "tags": {"team": "x"}}}],
                                  lambda r: one(r, UAMI).inputs["tags"] == {"team": "x"}),
    "azureManagedIdentity.existingIdentityName": (
        {}, [{**LAMBDA, "azureManagedIdentity": {"existingIdentityName": "shared", "resourceGroupName": "reports"}}],
        lambda r: one(r, UAMI_FIC).inputs["resourceName"] == "shared"),
    "azureManagedIdentity.audience": ({}, [{**LAMBDA, "azureManagedIdentity": {**IDENTITY, "audience": "api://x"}}],
                                      lambda r: one(r, UAMI_FIC).inputs["audiences"] == ["api://x"]),
    "azureManagedIdentity.roleAssignments": ({}, [{**LAMBDA, "azureManagedIdentity": {**IDENTITY, "roleAssignments": [
        {"scope": SCOPE, "role": "Reader"}]}}], lambda r: one(r, ASSIGNMENT)),
    "azureManagedIdentity.existingCredentialCount": (
        {}, [{**LAMBDA, "azureManagedIdentity": {"existingIdentityName": "shared", "resourceGroupName": "reports",
                                                 "existingCredentialCount": 3}}],
        lambda r: one(r, UAMI_FIC)),
    "gcp.project": ({}, [{**LAMBDA, "gcp": POOL}], lambda r: one(r, PROVIDER).inputs["project"] == POOL["project"]),
    "gcp.poolId": ({}, [{**LAMBDA, "gcp": {**POOL, "poolId": "aws-exporter", "providerId": "aws-oidc"}}],
                   lambda r: one(r, PROVIDER).inputs["workloadIdentityPoolId"] == "aws-exporter"),
    "gcp.providerId": ({}, [{**LAMBDA, "gcp": {**POOL, "poolId": "aws-exporter", "providerId": "aws-oidc"}}],
                       lambda r: one(r, PROVIDER).inputs["workloadIdentityPoolProviderId"] == "aws-oidc"),
    "gcp.idGeneration": ({}, [{**LAMBDA, "gcp": {**POOL, "idGeneration": 1}}],
                         lambda r: one(r, PROVIDER).inputs["workloadIdentityPoolId"].startswith("dev-exporter-gcp-")),
    "gcp.allowedAudiences": ({}, [{**LAMBDA, "gcp": {**POOL, "allowedAudiences": ["https://gcp.example.com"]}}],
                             lambda r: policy_condition(r)["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
                             == ["https://gcp.example.com"]),
    "gcp.serviceAccountEmail": ({}, [{**LAMBDA, "gcp": {"project": POOL["project"],
                                                        "serviceAccountEmail": "x-sa@usage-analytics-dev.iam."
                                                                               "gserviceaccount.com"}}],
                                lambda r: "x-sa@" in one(r, MEMBER).inputs["serviceAccountId"]),
    "gcp.createServiceAccount": ({}, [{**LAMBDA, "gcp": POOL}],
                                 lambda r: one(r, "gcp:serviceaccount/account:Account")),
    "kubernetes.clusterName": ({}, [{**LAMBDA, "kubernetes": CLUSTER}],
                               lambda r: kubernetes(r)["audience"] == "kubernetes:onprem-prod"),
    "kubernetes.audience": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "audience": "https://k8s.example.com"}}],
                            lambda r: policy_condition(r)["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
                            == ["https://k8s.example.com"]
                            and authentication_configuration(r)["jwt"][0]["issuer"]["audiences"]
                            == ["https://k8s.example.com"]),
    "kubernetes.apiVersion": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "apiVersion": "apiserver.k8s.io/v1beta1"}}],
                              lambda r: authentication_configuration(r)["apiVersion"] == "apiserver.k8s.io/v1beta1"),
    "kubernetes.usernamePrefix": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "usernamePrefix": "corp-aws:"}}],
                                  lambda r: list(kubernetes(r)["usernames"].values())[0]
                                  .startswith("corp-aws:123456789012:")),
    "kubernetes.groupsFromPrincipalTag": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "groupsFromPrincipalTag": "team"}}],
                                          lambda r: "team" in authentication_configuration(r)["jwt"][0]
                                          ["claimMappings"]["groups"]["expression"]),
    "kubernetes.otherUsernamePrefixes": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "otherUsernamePrefixes": ["oidc:"]}}],
                                         lambda r: list(kubernetes(r)["usernames"].values())[0].startswith("aws:")),
    "kubernetes.outputFile": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER,
                                                             "outputFile": "build/authentication-config.yaml"}}],
                              lambda r: authentication_configuration(r)["kind"] == "AuthenticationConfiguration"),
    "kubernetes.kubeconfig": ({}, [{**LAMBDA, "kubernetes": VIEWERS}], lambda r: one(r, "pulumi:providers:kubernetes")),
    "kubernetes.roleBindings": ({}, [{**LAMBDA, "kubernetes": VIEWERS}],
                                lambda r: one(r, CLUSTER_ROLE_BINDING).inputs["roleRef"]["name"] == "view"),
    "kubernetes.aksResourceGroupName": ({}, [{**LAMBDA, "kubernetes": {**CLUSTER, "aksResourceGroupName": "platform"}}],
                                        lambda r: one(r, AKS_AUTHENTICATOR).inputs["resourceGroupName"] == "platform"),
    "vault.address": ({}, [{**LAMBDA, "vault": VAULT}],
                      lambda r: r.outputs["workloads"]["exporter"]["vault"]["address"] == VAULT["address"]
                      and one(r, VAULT_ROLE).inputs["boundAudiences"]
                      == ["https://vault.example.com:8200/v1/auth/aws-dev-exporter"]),
    "vault.mountPath": ({}, [{**LAMBDA, "vault": {**VAULT, "mountPath": "aws"}}],
                        lambda r: one(r, VAULT_MOUNT).inputs["path"] == "aws" == one(r, VAULT_ROLE).inputs["backend"]),
    "vault.existingMountPath": ({}, [{**LAMBDA, "vault": {**VAULT, "existingMountPath": "jwt-aws"}}],
                                lambda r: not r.monitor.of_type(VAULT_MOUNT)
                                and one(r, VAULT_ROLE).inputs["backend"] == "jwt-aws"),
    "vault.audience": ({}, [{**LAMBDA, "vault": {**VAULT, "audience": "vault://dev"}}],
                       lambda r: one(r, VAULT_ROLE).inputs["boundAudiences"] == ["vault://dev"]
                       and policy_condition(r)["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
                       == ["vault://dev"]),
    "vault.policies": ({}, [{**LAMBDA, "vault": VAULT}],
                       lambda r: one(r, VAULT_ROLE).inputs["tokenPolicies"] == ["exporter-read"]),
    "vault.tokenTtl": ({}, [{**LAMBDA, "vault": {**VAULT, "tokenTtl": 600}}],
                       lambda r: one(r, VAULT_ROLE).inputs["tokenTtl"] == 600 == one(r, VAULT_ROLE).inputs["tokenMaxTtl"]),
    "vault.tokenMaxTtl": ({}, [{**LAMBDA, "vault": {**VAULT, "tokenTtl": 600, "tokenMaxTtl": 3600}}],
                          lambda r: one(r, VAULT_ROLE).inputs["tokenMaxTtl"] == 3600),
    "vault.orgId": ({}, [{**LAMBDA, "vault": {**VAULT, "orgId": "o-a1b2c3d4e5"}}],
                    lambda r: one(r, VAULT_ROLE).inputs["boundClaims"][AWS_CLAIM + "org_id"] == "o-a1b2c3d4e5"),
    "vault.ouPaths": ({}, [{**LAMBDA, "vault": {**VAULT, "ouPaths": [OU]}}],
                      lambda r: one(r, VAULT_ROLE).inputs["boundClaims"][AWS_CLAIM + "ou_path"] == OU),
    "vault.boundClaims": ({}, [{**LAMBDA, "vault": {**VAULT, "boundClaims": {AWS_CLAIM + "principal_tags/Team":
                                                                                ["platform"]}}}],
                          lambda r: one(r, VAULT_ROLE).inputs["boundClaims"][AWS_CLAIM + "principal_tags/Team"]
                          == "platform"),
    "vault.boundClaimsType": ({}, [{**LAMBDA, "vault": {**VAULT, "boundClaimsType": "glob",
                                                        "ouPaths": ["o-a1b2c3d4e5/r-ab12/*"]}}],
                              lambda r: one(r, VAULT_ROLE).inputs["boundClaimsType"] == "glob"),
    "vault.claimMappings": ({}, [{**LAMBDA, "vault": {**VAULT, "claimMappings": {AWS_CLAIM + "principal_tags/Team":
                                                                                   "team"}}}],
                            lambda r: one(r, VAULT_ROLE).inputs["claimMappings"][AWS_CLAIM + "principal_tags/Team"]
                            == "team"),
}
ACCOUNTS = [{"name": "payments", "accountId": "111111111111",
             "assumeRoleArn": "arn:aws:iam::111111111111:role/deployer"}]
SCP = "aws:organizations/policy:Policy"
GUARDRAILS = {"targets": ["ou-ab12-cdef3456"], "switchPrincipalArns": ["arn:aws:iam::*:role/deployer"],
              "allowedAudiences": ["a"]}


def scp(run) -> dict:
    return json.loads(one(run, SCP).inputs["content"])


# guardrails key -> (the guardrails section, what must hold of the run)
GUARDRAIL_EXAMPLES: dict[str, tuple[dict, Callable[[Any], Any]]] = {
    "guardrails.targets": ({**GUARDRAILS, "targets": ["r-ab12"]},
                           lambda r: one(r, "aws:organizations/policyAttachment:PolicyAttachment")
                           .inputs["targetId"] == "r-ab12"),
    "guardrails.switchPrincipalArns": (GUARDRAILS, lambda r: scp(r)["Statement"][0]["Condition"]["ArnNotLike"]
                                       == {"aws:PrincipalArn": ["arn:aws:iam::*:role/deployer"]}),
    "guardrails.allowedAudiences": (GUARDRAILS, lambda r: scp(r)["Statement"][1]["Condition"]
                                    == {"ForAnyValue:StringNotEquals": {"sts:IdentityTokenAudience": ["a"]}}),
    "guardrails.maxDurationSeconds": ({**GUARDRAILS, "maxDurationSeconds": 600},
                                      lambda r: scp(r)["Statement"][2]["Condition"]
                                      == {"NumericGreaterThan": {"sts:DurationSeconds": 600}}),
    "guardrails.allowedSigningAlgorithms": ({**GUARDRAILS, "allowedSigningAlgorithms": ["RS256"]},
                                            lambda r: scp(r)["Statement"][3]["Condition"]
                                            == {"StringNotEquals": {"sts:SigningAlgorithm": ["RS256"]}}),
    "guardrails.policyName": ({**GUARDRAILS, "policyName": "federation"},
                              lambda r: one(r, SCP).inputs["name"] == "federation"),
    "guardrails.description": ({**GUARDRAILS, "description": "why"},
                               lambda r: one(r, SCP).inputs["description"] == "why"),
    "guardrails.tags": ({**GUARDRAILS, "tags": {"team": "platform"}},
                        lambda r: one(r, SCP).inputs["tags"] == {"team": "platform"}),
}


def run_with(account: dict, workloads: list[dict], guardrails: dict | None = None):
    project = load_project(ROOT, "dev")
    config = {**project.config, "outbound-federation:account": json.dumps(account),
              "outbound-federation:workloads": json.dumps(workloads),
              "outbound-federation:accounts": json.dumps(ACCOUNTS)}
    if guardrails is not None:
        config["outbound-federation:guardrails"] = json.dumps(guardrails)
    return run_program(replace(project, config=config))


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_a_documented_key_works_through_the_stack(key):
    account, workloads, holds = EXAMPLES[key]
    assert holds(run_with(account, workloads))


@pytest.mark.parametrize("key", sorted(GUARDRAIL_EXAMPLES))
def test_a_documented_guardrails_key_works_through_the_stack(key):
    guardrails, holds = GUARDRAIL_EXAMPLES[key]
    assert holds(run_with({}, [{**LAMBDA, "audiences": ["a"]}], guardrails))


def test_every_key_the_stack_accepts_has_an_example_here():
    accepted = {f"account.{k}" for k in ACCOUNT_KEYS} | set(ROLE_KEYS) | {"account"}
    accepted |= {f"{kind.key}.{setting}" for kind in KINDS for setting in kind.settings}
    accepted |= {f"guardrails.{key}" for key in GUARDRAIL_KEYS}
    assert accepted - set(EXAMPLES) - set(GUARDRAIL_EXAMPLES) == set()
