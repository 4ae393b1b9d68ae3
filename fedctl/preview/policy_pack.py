"""The outbound-federation policy pack: the AWS side's policies, then each relying party's audits.

Shipped in the package, so ``fedctl preview`` runs it wherever the package is installed
(``python -m fedctl.preview.policy_pack`` serves it over the analyzer protocol), and the
repository's ``policy/`` directory is only the entry point ``pulumi preview --policy-pack policy``
and ``pulumi policy publish`` use.

Every check is a rule of the installed ``outbound-federation`` package (``components.rules``, and
each relying-party kind's ``audits`` in ``components.relying_parties``); nothing here re-states a
rule. A policy decides only *which resources* a rule applies to and *how loudly* it speaks:
error-level violations go to the mandatory policy of a pair, warnings to its advisory twin.

Configuration (``--policy-pack-config``, or ``policyPackConfigs`` in pulumi/actions), with the
defaults applied here because offline nothing else applies them::

    {"token-grants-pinned": {"maxDurationSeconds": 900,
                              "allowedAudiences": {"aws": ["api://AzureADTokenExchange"]}}}
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.relying_parties import KINDS, Audit, AuditedResource
from components.rules import ERROR, WARNING, Violation
from components.rules import aws as aws_rules
from components.rules.facts import (
    ENABLEMENT_TYPE,
    GROUP_POLICY_TYPE,
    MANAGED_POLICY_TYPE,
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    NATIVE_MANAGED_POLICY_TYPE,
    NATIVE_ROLE_POLICY_TYPE,
    NATIVE_ROLE_TYPE,
    ORGANIZATIONS_POLICY_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    SERVICE_CONTROL_POLICY,
    SIGNING_ALGORITHMS,
    USER_POLICY_TYPE,
)
from components.rules.guardrails import check_document_size
from components.rules.policy_audits import check_token_grants, check_token_guardrails, check_trust_policy

CONFIG_DEFAULTS: dict[str, Any] = {
    "maxDurationSeconds": MAX_DURATION_SECONDS,
    "allowedSigningAlgorithms": list(SIGNING_ALGORITHMS),
    "allowedAudiences": {},
}

CONFIG_SCHEMA = PolicyConfigSchema(properties={
    "maxDurationSeconds": {
        "type": "integer", "minimum": MIN_DURATION_SECONDS, "maximum": MAX_DURATION_SECONDS,
        "default": CONFIG_DEFAULTS["maxDurationSeconds"],
        "description": "Longest token lifetime a policy may allow (sts:DurationSeconds cap).",
    },
    "allowedSigningAlgorithms": {
        "type": "array", "items": {"type": "string", "enum": list(SIGNING_ALGORITHMS)},
        "default": CONFIG_DEFAULTS["allowedSigningAlgorithms"],
        "description": "Signing algorithms a policy may allow.",
    },
    "allowedAudiences": {
        "type": "object", "default": {},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Allowed audiences: key aws for token policies, and each relying party's own key "
                       "(read by its audits, see docs/relying-parties.md). A missing key allows any.",
    },
})

# Every resource type that carries an IAM identity policy document, and where (pulumi-aws and
# aws-native alike: a grant is a grant whichever provider writes it).
IAM_POLICY_PROPERTIES: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Any]]]] = {
    ROLE_POLICY_TYPE: lambda p: [("policy", p.get("policy"))],
    MANAGED_POLICY_TYPE: lambda p: [("policy", p.get("policy"))],
    USER_POLICY_TYPE: lambda p: [("policy", p.get("policy"))],
    GROUP_POLICY_TYPE: lambda p: [("policy", p.get("policy"))],
    ROLE_TYPE: lambda p: [
        (f"inlinePolicies[{i}].policy", inline.get("policy"))
        for i, inline in enumerate(p.get("inlinePolicies") or []) if isinstance(inline, Mapping)
    ],
    NATIVE_ROLE_POLICY_TYPE: lambda p: [("policyDocument", p.get("policyDocument"))],
    NATIVE_MANAGED_POLICY_TYPE: lambda p: [("policyDocument", p.get("policyDocument"))],
    NATIVE_ROLE_TYPE: lambda p: [
        (f"policies[{i}].policyDocument", inline.get("policyDocument"))
        for i, inline in enumerate(p.get("policies") or []) if isinstance(inline, Mapping)
    ],
}
# Every resource type that carries a role's trust policy, and where.
TRUST_POLICY_PROPERTIES: dict[str, str] = {ROLE_TYPE: "assumeRolePolicy", NATIVE_ROLE_TYPE: "assumeRolePolicyDocument"}


def pack_config(args: ResourceValidationArgs | StackValidationArgs) -> dict[str, Any]:
    """The policy's config with the pack's defaults under it (the CLI may not have applied them)."""
    return {**CONFIG_DEFAULTS, **(args.get_config() or {})}


def plain(value: Any) -> Any:
    """The pack's property proxies as plain dicts and lists, which the rules expect. Reading an unknown
    value raises the framework's UnknownValueError: the policy then says it could not run."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) or (hasattr(value, "__getitem__") and hasattr(value, "__len__")
                                            and not isinstance(value, (str, bytes))):
        return [plain(value[index]) for index in range(len(value))]
    return value


def _known(props: Any) -> Any:
    """A resource's properties for a stack-wide judgement, or {} while any is unknown (the per-resource
    policies, and the rehearsal, say what could not be judged)."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return plain(props)
    except UnknownValueError:
        return {}


class _LazyProps(Mapping):
    """A resource's properties, each made plain when an audit reads it: an unknown value stops only the
    policies that need it, as the framework intends."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def __getitem__(self, key: str) -> Any:
        return plain(self._proxy[key])

    def __iter__(self):
        return iter(self._proxy)

    def __len__(self) -> int:
        return len(self._proxy)


def audited(args: ResourceValidationArgs) -> AuditedResource:
    return AuditedResource(type=args.resource_type, name=args.name, props=_LazyProps(args.props), urn=args.urn,
                           protect=bool(args.opts.protect) if args.opts else False)


def report(violations: Iterable[Violation], severity: str, report_violation: ReportViolation,
           urn: str | None = None) -> None:
    for violation in violations:
        if violation.severity == severity:
            report_violation(violation.message, urn) if urn else report_violation(violation.message)


def policies_for(audit: Audit) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """The mandatory policy (its errors) and the advisory twin (its warnings) of one judgement."""
    if audit.check_stack is not None:
        def validate_stack(severity: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
            def run(args: StackValidationArgs, report_violation: ReportViolation) -> None:
                resources = [AuditedResource(type=r.resource_type, name=r.name, props=_known(r.props), urn=r.urn,
                                             protect=bool(r.opts.protect) if r.opts else False) for r in args.resources]
                for urn, violation in audit.check_stack(resources, pack_config(args)):
                    report([violation], severity, report_violation, urn)
            return run

        return [
            StackValidationPolicy(name=audit.name, description=audit.description,
                                  enforcement_level=EnforcementLevel.MANDATORY, validate=validate_stack(ERROR)),
            StackValidationPolicy(name=audit.advice, description=audit.advice_description,
                                  enforcement_level=EnforcementLevel.ADVISORY, validate=validate_stack(WARNING)),
        ]
    return [
        ResourceValidationPolicy(
            name=audit.name, description=audit.description, enforcement_level=EnforcementLevel.MANDATORY,
            validate=lambda args, report_violation: report(audit.check(audited(args), pack_config(args)), ERROR,
                                                           report_violation),
            config_schema=CONFIG_SCHEMA,
        ),
        ResourceValidationPolicy(
            name=audit.advice, description=audit.advice_description, enforcement_level=EnforcementLevel.ADVISORY,
            validate=lambda args, report_violation: report(audit.check(audited(args), pack_config(args)), WARNING,
                                                           report_violation),
            config_schema=CONFIG_SCHEMA,
        ),
    ]


# -- the AWS side ---------------------------------------------------------------------------------

def token_grant_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    documents = IAM_POLICY_PROPERTIES.get(resource.type)
    if documents is None:
        return []
    found: list[Violation] = []
    for where, document in documents(resource.props):
        found += check_token_grants(
            document, f"{resource.name}.{where}",
            max_duration_seconds=int(config["maxDurationSeconds"]),
            allowed_algorithms=config["allowedSigningAlgorithms"],
            allowed_audiences=(config.get("allowedAudiences") or {}).get("aws"),
        )
    return found


def trust_policy_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    """A role that any AWS principal can assume mints tokens every relying party of it trusts."""
    where = TRUST_POLICY_PROPERTIES.get(resource.type)
    if where is None:
        return []
    arn = resource.props.get("arn")
    parsed = aws_rules.parse_role_arn(arn) if isinstance(arn, str) else None
    return check_trust_policy(resource.props.get(where), f"{resource.name}.{where}",
                              account_id=parsed.account_id if parsed else None)


def guardrail_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    """An organisation's SCP that denies token requests must deny what it seems to, and fit."""
    if resource.type != ORGANIZATIONS_POLICY_TYPE or resource.props.get("type", SERVICE_CONTROL_POLICY) != \
            SERVICE_CONTROL_POLICY:
        return []
    content = resource.props.get("content")
    found = check_token_guardrails(content, f"{resource.name}.content")
    return found + (check_document_size(content, f"{resource.name}.content") if isinstance(content, str) else [])


def enablement_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    if resource.type == ENABLEMENT_TYPE and not resource.protect:
        return [Violation(
            resource.name, "protect: false",
            "is the account's outbound identity federation switch, not protected: deleting it switches federation "
            "off for the WHOLE account and breaks every trust of every team. Set protect (and retainOnDelete) on "
            "it; AccountFederation does unless disable_on_destroy is set",
            code="account.enablement.unprotected",
        )]
    return []


CORE_AUDITS = (
    Audit(
        name="token-grants-pinned",
        description="Any IAM policy granting sts:GetWebIdentityToken pins audiences (ForAllValues + Null false, "
                    "never ForAnyValue), caps sts:DurationSeconds and restricts sts:SigningAlgorithm.",
        advice="token-grants-advice",
        advice_description="Token grants that are allowed but worth a reviewer's look: lifetimes over 15 "
                           "minutes, a Resource other than \"*\".",
        check=token_grant_violations,
    ),
    Audit(
        name="organization-guardrails-effective",
        description="A service control policy that denies outbound tokens or the federation switch denies what it "
                    "seems to: an audience allow-list with ForAnyValue (ForAllValues lets a request through by adding "
                    "one allowed audience), an exemption that is not everyone, a document within 5,120 characters.",
        advice="organization-guardrails-advice",
        advice_description="Guardrails worth a reviewer's look: a federation switch exemption by role-name pattern.",
        check=guardrail_violations,
    ),
    Audit(
        name="role-trust-closed",
        description="No role, in any project, can be assumed by any AWS principal (\"*\", {\"AWS\": \"*\"}, another "
                    "account's root without a condition): such a role mints tokens its relying parties trust.",
        advice="role-trust-advice",
        advice_description="Trust policies worth a reviewer's look: a whole account (its root) may assume the role.",
        check=trust_policy_violations,
    ),
)

account_federation_protected = ResourceValidationPolicy(
    name="account-federation-protected",
    description="The account-wide outbound identity federation switch is protected from deletion.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=lambda args, report_violation: report(enablement_violations(audited(args), {}), ERROR, report_violation),
)


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """The pack's policies: the AWS side's, then every registered relying party's audits."""
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for audit in CORE_AUDITS:
        policies += policies_for(audit)
    policies.append(account_federation_protected)
    for audit in KINDS.audits():
        policies += policies_for(audit)
    return policies


PACK_NAME = "outbound-federation"


def serve() -> None:
    """Serve the pack over the analyzer protocol until the engine hangs up (this blocks)."""
    from pulumi_policy import PolicyPack

    PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies())


if __name__ == "__main__":
    serve()
