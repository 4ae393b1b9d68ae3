"""The exporter Lambda: sign in to GCP (and Azure, if wired) with the role's outbound tokens."""

import json
import os

from fedctl import AwsTokenSupplier, azure_credential, gcp_credentials


def main(event, context):
    result = {}
    if os.environ.get("GCP_CREDENTIAL_CONFIGURATION"):
        configuration = json.loads(os.environ["GCP_CREDENTIAL_CONFIGURATION"])
        supplier = AwsTokenSupplier([os.environ["GCP_TOKEN_AUDIENCE"]])
        credentials = gcp_credentials(configuration["audience"], supplier,
                                      service_account_email=os.environ.get("GCP_SERVICE_ACCOUNT"))
        result["gcp"] = credentials.service_account_email
    if os.environ.get("AZURE_CLIENT_ID"):
        # The audience the trust exports (and the role's token policy pins): never a constant.
        supplier = AwsTokenSupplier([os.environ.get("AZURE_AUDIENCE", "api://AzureADTokenExchange")])
        credential = azure_credential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], supplier)
        result["azure"] = credential.get_token("https://management.azure.com/.default").expires_on
    return result
