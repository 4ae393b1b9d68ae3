"""An application stack: a Lambda that runs as the role the federation stack made for it.

Everything it needs comes from the federation stack's outputs through a StackReference, under
the documented names: ``workloads.<name>.roleArn``, ``.gcp.credentialConfiguration``,
``.gcp.audience``, ``.gcp.serviceAccountEmail``, ``.azureApp.clientId`` / ``.tenantId`` /
``.audience``. The handler runs on this repository's runtime, shipped as a layer: run
``python build_layer.py`` before ``pulumi up``.
"""

from pathlib import Path

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
federation = pulumi.StackReference(config.require("federationStack"))
name = config.require("workload")
workload = federation.require_output("workloads").apply(lambda workloads: workloads[name])


def environment(exported: dict) -> dict:
    """The variables the handler reads, from whichever relying parties trust this workload."""
    gcp, azure = exported.get("gcp") or {}, exported.get("azureApp") or exported.get("azureManagedIdentity") or {}
    variables = {
        "GCP_CREDENTIAL_CONFIGURATION": gcp.get("credentialConfiguration"),
        "GCP_TOKEN_AUDIENCE": gcp.get("audience"),
        "GCP_SERVICE_ACCOUNT": gcp.get("serviceAccountEmail"),
        "AZURE_CLIENT_ID": azure.get("clientId"),
        "AZURE_TENANT_ID": azure.get("tenantId"),
        "AZURE_AUDIENCE": azure.get("audience"),
    }
    return {key: value for key, value in variables.items() if value}


# fedctl and what it needs (google-auth, azure-identity, PyJWT...), built for Lambda by build_layer.py.
runtime_layer = aws.lambda_.LayerVersion(
    "runtime",
    layer_name="outbound-federation-runtime",
    compatible_runtimes=["python3.12"],
    code=pulumi.FileArchive(str(Path(__file__).parent / "build" / "runtime-layer")),
)

function = aws.lambda_.Function(
    "exporter",
    layers=[runtime_layer.arn],
    role=workload.apply(lambda exported: exported["roleArn"]),
    runtime="python3.12",
    handler="handler.main",
    timeout=60,
    code=pulumi.AssetArchive({"handler.py": pulumi.FileAsset(str(Path(__file__).parent / "handler.py"))}),
    environment={"variables": workload.apply(environment)},
)
pulumi.export("functionName", function.name)
