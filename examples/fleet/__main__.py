"""The platform team's stack: a FederationFleet from this stack's config (see Pulumi.platform.yaml).

It manages Pulumi Cloud only (stacks, their ESC config, deployment settings, drift schedules,
tags), so it runs with a Pulumi Cloud token and no cloud credentials. Each account's stack then
runs this repository's federation program on Pulumi Deployments, in its own account.
"""

import sys
from pathlib import Path

import pulumi

# In this repository the components sit two levels up; an installed package needs no path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components.fleet import FederationFleet, parse_fleet_config  # noqa: E402

config = pulumi.Config()
values = {
    "organization": config.get("organization"),
    "project": config.get("project"),
    "repository": config.get_object("repository"),
    "accounts": config.get_object("accounts"),
    "awsOrganizationAccounts": config.get_object("awsOrganizationAccounts"),
    "awsOrganizationDefaults": config.get_object("awsOrganizationDefaults"),
    "driftSchedule": config.get("driftSchedule"),
    "autoRemediate": config.get_bool("autoRemediate"),
    "reviewStacks": config.get_bool("reviewStacks"),
    "tags": config.get_object("tags"),
}
# A fixed name, not the stack's: the stacks it manages are named after the accounts alone, so this
# program is one per organisation, and its URNs must not move if its own stack is renamed.
fleet = FederationFleet("fleet", parse_fleet_config(values))

pulumi.export("stacks", fleet.stacks)
pulumi.export("stackUrls", fleet.stack_urls)
pulumi.export("environments", fleet.environments)
pulumi.export("deployerTrustPolicies", fleet.deployer_trust_policies)
