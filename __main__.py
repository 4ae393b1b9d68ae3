"""The outbound-federation stack: read the config, compose the components, export what others need.

Config (see Pulumi.dev.yaml): an ``account`` section (does this stack own the account's
federation switch?), optionally named ``accounts``, a list of ``workloads``, each a role
that mints tokens plus the relying parties that trust it, and optionally the organisation's
``guardrails`` (a service control policy). Logical names start with the stack
name, so review stacks (``pr-123``) get their own, recognisable roles.
"""

import pulumi

from components.stack.compose import compose
from components.stack.config import parse_stack_config

config = pulumi.Config()
stack_name = pulumi.get_stack()
stack_spec = parse_stack_config(config.get_object("account"), config.get_object("workloads"), stack_name,
                                config.get_object("accounts"), config.get_object("guardrails"))
for output_name, value in compose(stack_spec, stack_name).items():
    pulumi.export(output_name, value)
