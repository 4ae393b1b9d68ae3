// One AWS Lambda role, trusted by an Entra app, a managed identity, a GCP workload identity pool and
// a Kubernetes cluster's API server and a Vault (or OpenBao) JWT auth mount, and the organisation
// guardrail around it, from TypeScript.
//
// The components are Python (components/ at the repository root). `pulumi package add` ran the
// plugin in provider/, read its schema (the committed schema.json) and generated the SDK imported
// below into sdks/outbound-federation. Inputs and outputs use the schema's camelCase names.
// tests/test_schema.py checks every `new X(...)` here against schema.json, so this file cannot drift
// from the API.
import * as pulumi from "@pulumi/pulumi";
import * as outboundFederation from "@pulumi/outbound-federation";

const config = new pulumi.Config();
const subscriptionId = config.require("azureSubscriptionId");
const gcpProject = config.require("gcpProject");
const stack = pulumi.getStack();

// The audience the GCP provider accepts; the role's token policy must allow requesting it.
const gcpAudience = `https://outbound-federation.example.com/${stack}/gcp`;
// The audience the cluster's JWT authenticator accepts (its default: kubernetes:<clusterName>).
const clusterAudience = `kubernetes:${stack}-onprem`;

// The Vault the Lambda function reads its secrets from, and the audience its JWT mount binds (by
// default the mount's login URL).
const vaultAddress = "https://vault.example.com:8200";
const vaultMount = `aws-${stack}`;
const vaultAudience = `${vaultAddress}/v1/auth/${vaultMount}`;

// The account's issuer, read only: exactly one stack per AWS account owns the switch (manage: true).
const account = new outboundFederation.AccountFederation("account", {
    manage: false,
});

// The role the Lambda function runs as, allowed to mint tokens for Entra and for the GCP pool.
// signingAlgorithms keeps its default (RS256): see docs/maintainers.md, "Known limits of the
// plugin host".
const role = new outboundFederation.FederatedRole(`${stack}-exporter`, {
    trustedServices: ["lambda.amazonaws.com"],
    audiences: ["api://AzureADTokenExchange", gcpAudience, clusterAudience, vaultAudience],
    path: "/workloads/",
    maxDurationSeconds: 300,
    tags: { team: "data" },
});

// An Entra app with one federated credential for the role, allowed to read the reports blobs.
const app = new outboundFederation.AzureAppTrust(`${stack}-exporter-app`, {
    issuer: account.issuer,
    subjects: { "exporter-lambda": role.subject },
    description: "The exporter Lambda function reads the reports container",
    signingAlgorithms: role.signingAlgorithms,
    roleAssignments: [{
        scope: `/subscriptions/${subscriptionId}/resourceGroups/reports`,
        role: "Storage Blob Data Reader",
    }],
});

// The same role trusted by a user-assigned managed identity instead.
const identity = new outboundFederation.AzureManagedIdentityTrust(`${stack}-exporter-identity`, {
    issuer: account.issuer,
    subjects: { "exporter-lambda": role.subject },
    identityName: `${stack}-exporter`,
    resourceGroupName: "reports",
    location: "westeurope",
    tags: { team: "data" },
});

// A GCP workload identity pool trusting the role, and a new service account it impersonates.
const gcp = new outboundFederation.GcpWorkloadIdentityTrust(`${stack}-exporter-gcp`, {
    project: gcpProject,
    issuer: account.issuer,
    awsAccountId: account.accountId,
    subjects: { "exporter": role.subject },
    allowedAudiences: [gcpAudience],
    createServiceAccount: true,
});

// The organisation's guardrail, a service control policy (from the management account, or a
// delegated administrator for policies): only the deployer role may switch federation on or off,
// and tokens in the OU go only to these audiences, for at most 15 minutes.
const guardrails = new outboundFederation.OrganizationGuardrails(`${stack}-guardrails`, {
    targets: [config.require("workloadsOu")],
    switchPrincipalArns: ["arn:aws:iam::*:role/federation-deployer"],
    allowedAudiences: ["api://AzureADTokenExchange", gcpAudience, clusterAudience, vaultAudience],
    maxDurationSeconds: 900,
});

// An on-premises cluster's API server trusting the role: the AuthenticationConfiguration to roll out
// with the cluster's tooling (kube-apiserver --authentication-config), and the user to bind RBAC to.
const cluster = new outboundFederation.KubernetesClusterTrust(`${stack}-exporter-cluster`, {
    clusterName: `${stack}-onprem`,
    issuer: account.issuer,
    awsAccountId: account.accountId,
    subjects: { "exporter": role.subject },
    groupsFromPrincipalTag: "team",
});

// A Vault JWT auth mount binding the account issuer, with one role for the Lambda function: pinned
// to its ARN, the account and the organization, its tokens read the exporter's secrets for 15 minutes.
const vault = new outboundFederation.VaultJwtTrust(`${stack}-exporter-vault`, {
    address: vaultAddress,
    issuer: account.issuer,
    awsAccountId: account.accountId,
    subjects: { [`${stack}-exporter`]: role.subject },
    policies: ["exporter-read"],
    mountPath: vaultMount,
    orgId: "o-a1b2c3d4e5",
    tokenTtl: 900,
});

export const issuer = account.issuer;
export const roleArn = role.roleArn;
export const azureClientId = app.clientId;
export const azureTenantId = app.tenantId;
export const identityClientId = identity.clientId;
export const gcpAudienceToRequest = gcp.audience;
export const gcpCredentialConfiguration = gcp.credentialConfiguration;
export const guardrailPolicyId = guardrails.policyId;
export const clusterAuthenticationConfiguration = cluster.authenticationConfiguration;
export const clusterUsernames = cluster.usernames;
export const vaultAudienceToRequest = vault.audience;
export const vaultMountPath = vault.mountPath;
