// One AWS Lambda role, trusted by an Entra app, a managed identity and a GCP workload identity pool,
// from TypeScript.
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

// The account's issuer, read only: exactly one stack per AWS account owns the switch (manage: true).
const account = new outboundFederation.AccountFederation("account", {
    manage: false,
});

// The role the Lambda function runs as, allowed to mint tokens for Entra and for the GCP pool.
// signingAlgorithms keeps its default (RS256): see docs/maintainers.md, "Known limits of the
// plugin host".
const role = new outboundFederation.FederatedRole(`${stack}-exporter`, {
    trustedServices: ["lambda.amazonaws.com"],
    audiences: ["api://AzureADTokenExchange", gcpAudience],
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

// Only for the platform team's own stack (config fleetOrganization): one stack of the federation
// project per AWS account, configured, deployed and drift-checked by Pulumi Cloud.
const fleetOrganization = config.get("fleetOrganization");
const fleet = fleetOrganization ? new outboundFederation.FederationFleet("accounts", {
    organization: fleetOrganization,
    repository: { repoUrl: "https://github.com/acme/outbound-federation", branch: "main" },
    accounts: [{
        name: "payments",
        accountId: "111111111111",
        deployerRoleArn: "arn:aws:iam::111111111111:role/federation-deployer",
        region: "eu-west-1",
        manage: true,
    }],
    driftSchedule: "0 6 * * *",
}) : undefined;

export const issuer = account.issuer;
export const roleArn = role.roleArn;
export const azureClientId = app.clientId;
export const azureTenantId = app.tenantId;
export const identityClientId = identity.clientId;
export const gcpAudienceToRequest = gcp.audience;
export const gcpCredentialConfiguration = gcp.credentialConfiguration;
export const fleetStackUrls = fleet?.stackUrls;
