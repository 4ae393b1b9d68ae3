"""Where the rules meet Pulumi: judge Output values when they resolve, surface warnings.

The rules themselves (``components.rules``) are pure and judge plain values; a component checks
its plain inputs before registering anything. An input that is an Output (a role ARN, an issuer)
can only be judged once known: :func:`checked` wraps it so that the value flows on only after
it passed, and a broken rule fails the deployment with the same message a plain value would get.

Example::

    issuer = checked(args["issuer"], aws_rules.check_issuer, "issuer", "FederatedRole 'r'", self)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi

from .rules import Violation, is_plain, raise_for
from .rules.facts import TYPE_PREFIX


def log_warnings(found: Sequence[Violation], resource: pulumi.Resource) -> None:
    for violation in found:
        pulumi.log.warn(violation.message, resource=resource)


def check_resolved(label: str, violations: Sequence[Violation], resource: pulumi.Resource) -> None:
    """Raise on error-level violations (this fails the deployment); log the warnings."""
    log_warnings(raise_for(label, violations), resource)


def checked(value: Any, check: Callable[[Any, str], list[Violation]], field: str, label: str,
            resource: pulumi.Resource) -> pulumi.Output[Any]:
    """The value as an Output that resolves only once ``check`` passed.

    A plain value was already checked before registration and passes through as is.
    """
    if is_plain(value):
        return pulumi.Output.from_input(value)

    def validated(resolved: Any) -> Any:
        check_resolved(label, check(resolved, field), resource)
        return resolved

    return pulumi.Output.from_input(value).apply(validated)


class ValidatedComponent(pulumi.ComponentResource):
    """A component that refuses broken input before it registers anything.

    Subclasses call ``super().__init__(name, args, check, opts)`` first: ``check`` (a rules
    function) judges the plain inputs, errors raise :class:`~components.rules.ValidationError`
    naming every broken field, warnings are logged on the component once it exists.
    ``self.label`` (``FederatedRole 'exporter'``) names it in later messages.
    """

    def __init__(self, name: str, args: Mapping[str, Any], check: Callable[[Mapping[str, Any]], list[Violation]],
                 opts: Optional[pulumi.ResourceOptions] = None):
        kind = type(self).__name__
        self.label = f"{kind} '{name}'"
        warnings = raise_for(self.label, check(args))
        super().__init__(f"{TYPE_PREFIX}:{kind}", name, {}, opts)
        log_warnings(warnings, self)
