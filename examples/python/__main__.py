"""Using the components from another Python stack: a role on EC2 that reads an Azure resource group.

Install the package (``pip install outbound-federation[provision]``) or vendor this repository,
then import the components like any Pulumi resource.
"""

import sys
from pathlib import Path

import pulumi

# In this repository the components sit two levels up; an installed package needs no path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components import AccountFederation, AzureAppTrust, FederatedRole  # noqa: E402

account = AccountFederation("acct", {})  # look the issuer up; another stack owns the switch
role = FederatedRole("nightly-reports", {
    "trusted_services": ["ec2.amazonaws.com"],
    "audiences": ["api://AzureADTokenExchange"],
    "path": "/reports/",
    "create_instance_profile": True,
})
app = AzureAppTrust("nightly-reports", {
    "issuer": account.issuer,
    "subjects": {"nightly-reports": role.subject},
    "signing_algorithms": role.signing_algorithms,
    "role_assignments": [{
        "scope": "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/reports",
        "role": "Reader",
    }],
})
pulumi.export("instanceProfile", role.instance_profile_name)
pulumi.export("azureClientId", app.client_id)
pulumi.export("azureTenantId", app.tenant_id)
