"""The policy pack's entry point: `pulumi preview --policy-pack policy` starts this file as a server.

Only the PolicyPack call lives here (importing this module serves forever); the policies are in
``policies.py`` so tests and the offline preview can import them.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import POLICIES

PolicyPack(
    name="outbound-federation",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
