"""The outbound-federation stack: its config (pure) and its composition (Pulumi).

``components.stack.config`` parses the stack config into typed specs without any Pulumi SDK;
``components.stack.compose`` turns the specs into components and stack outputs.

Example::

    from components.stack.config import parse_stack_config
    from components.stack.compose import compose
"""
