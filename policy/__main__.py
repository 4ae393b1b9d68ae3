"""The policy pack's entry point: `pulumi preview --policy-pack policy` starts this file as a server.

The policies are the installed package's (``fedctl.preview.policy_pack``: the AWS side, then each
relying party's audits), so this directory holds only what the Pulumi CLI needs to run and publish
the pack: this file, PulumiPolicy.yaml and requirements.txt.
"""

from fedctl.preview.policy_pack import serve

serve()
