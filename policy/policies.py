"""The policies of the outbound-federation pack.

Every check calls the shared rules in ``components/rules``; nothing here re-states a rule. A policy
decides only *which resources* a rule applies to and *how loudly* it speaks: error-level
violations go to the mandatory policies, warnings to the advisory ones.

Configuration (``--policy-pack-config``, or ``policyPackConfigs`` in pulumi/actions), with the
defaults applied here because offline nothing else applies them::

    {"token-grants-pinned": {"maxDurationSeconds": 900,
                              "allowedAudiences": {"aws": ["api://AzureADTokenExchange"]}}}
"""

from __future__ import annotations

import sys
from pathlib import Path
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

# The pack lives inside the repository and shares its rules module (pure Python, no Pulumi SDKs).
_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))

from components.rules import ERROR, WARNING, Violation  # noqa: E402
from components.rules import aws as aws_rules  # noqa: E402
from components.rules import azure as azure_rules  # noqa: E402
from components.rules import gcp as gcp_rules  # noqa: E402

CONFIG_DEFAULTS: dict[str, Any] = {
    "maxDurationSeconds": aws_rules.MAX_DURATION_SECONDS,
    "allowedSigningAlgorithms": list(aws_rules.SIGNING_ALGORITHMS),
    "allowedAudiences": {},
}

CONFIG_SCHEMA = PolicyConfigSchema(properties={
    "maxDurationSeconds": {
        "type": "integer", "minimum": aws_rules.MIN_DURATION_SECONDS, "maximum": aws_rules.MAX_DURATION_SECONDS,
        "default": CONFIG_DEFAULTS["maxDurationSeconds"],
        "description": "Longest token lifetime a policy may allow (sts:DurationSeconds cap).",
    },
    "allowedSigningAlgorithms": {
        "type": "array", "items": {"type": "string", "enum": list(aws_rules.SIGNING_ALGORITHMS)},
        "default": CONFIG_DEFAULTS["allowedSigningAlgorithms"],
        "description": "Signing algorithms a policy may allow.",
    },
    "allowedAudiences": {
        "type": "object", "default": {},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Allowed audiences per relying party: keys aws (token policies), azure "
                       "(federated credentials), gcp (provider allowed audiences). A missing key allows any.",
    },
})

# Every resource type that carries an IAM identity policy document, and where.
IAM_POLICY_PROPERTIES: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Any]]]] = {
    "aws:iam/rolePolicy:RolePolicy": lambda p: [("policy", p.get("policy"))],
    "aws:iam/policy:Policy": lambda p: [("policy", p.get("policy"))],
    "aws:iam/userPolicy:UserPolicy": lambda p: [("policy", p.get("policy"))],
    "aws:iam/groupPolicy:GroupPolicy": lambda p: [("policy", p.get("policy"))],
    "aws:iam/role:Role": lambda p: [
        (f"inlinePolicies[{i}].policy", inline.get("policy"))
        for i, inline in enumerate(p.get("inlinePolicies") or []) if isinstance(inline, Mapping)
    ],
}
ENABLEMENT_TYPE = "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation"


def pack_config(args: ResourceValidationArgs | StackValidationArgs) -> dict[str, Any]:
    """The policy's config with the pack's defaults under it (the CLI may not have applied them)."""
    return {**CONFIG_DEFAULTS, **(args.get_config() or {})}


def report(violations: Iterable[Violation], severity: str, report_violation: ReportViolation,
           urn: str | None = None) -> None:
    for violation in violations:
        if violation.severity == severity:
            report_violation(violation.message, urn) if urn else report_violation(violation.message)


def twin_stack_policies(violations: Callable[[StackValidationArgs], list[tuple[str, Violation]]], *, name: str,
                        description: str, advice: str, advice_description: str) -> list[StackValidationPolicy]:
    """The stack-wide twin of :func:`twin_policies`; each violation names the resource it is about."""
    def validate(severity: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
        def run(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for urn, violation in violations(args):
                report([violation], severity, report_violation, urn)
        return run

    return [
        StackValidationPolicy(name=name, description=description, enforcement_level=EnforcementLevel.MANDATORY,
                              validate=validate(ERROR)),
        StackValidationPolicy(name=advice, description=advice_description,
                              enforcement_level=EnforcementLevel.ADVISORY, validate=validate(WARNING)),
    ]


def twin_policies(violations: Callable[[ResourceValidationArgs], list[Violation]], *, name: str, description: str,
                  advice: str, advice_description: str) -> list[ResourceValidationPolicy]:
    """A mandatory policy for a rule's errors and an advisory one for its warnings, from one judgement."""
    return [
        ResourceValidationPolicy(
            name=name, description=description, enforcement_level=EnforcementLevel.MANDATORY,
            validate=lambda args, report_violation: report(violations(args), ERROR, report_violation),
            config_schema=CONFIG_SCHEMA,
        ),
        ResourceValidationPolicy(
            name=advice, description=advice_description, enforcement_level=EnforcementLevel.ADVISORY,
            validate=lambda args, report_violation: report(violations(args), WARNING, report_violation),
            config_schema=CONFIG_SCHEMA,
        ),
    ]


# -- AWS -----------------------------------------------------------------------------------------

def token_grant_violations(args: ResourceValidationArgs) -> list[Violation]:
    documents = IAM_POLICY_PROPERTIES.get(args.resource_type)
    if documents is None:
        return []
    config = pack_config(args)
    found: list[Violation] = []
    for where, document in documents(args.props):
        found += aws_rules.check_token_grants(
            document, f"{args.name}.{where}",
            max_duration_seconds=int(config["maxDurationSeconds"]),
            allowed_algorithms=config["allowedSigningAlgorithms"],
            allowed_audiences=(config.get("allowedAudiences") or {}).get("aws"),
        )
    return found


def _validate_enablement_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == ENABLEMENT_TYPE and not args.opts.protect:
        report_violation(
            f"{args.name}: the account's outbound identity federation switch is not protected. Deleting it "
            "switches federation off for the WHOLE account and breaks every trust of every team. Set "
            "protect (and retainOnDelete) on it; AccountFederation does unless disable_on_destroy is set."
        )


account_federation_protected = ResourceValidationPolicy(
    name="account-federation-protected",
    description="The account-wide outbound identity federation switch is protected from deletion.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate_enablement_protected,
)

# -- Azure ---------------------------------------------------------------------------------------

AZURE_CREDENTIAL_TYPES = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
    "azure-native:managedidentity:FederatedIdentityCredential",
)
AZURE_FLEXIBLE_CREDENTIAL_TYPE = (
    "azuread:index/applicationFlexibleFederatedIdentityCredential:ApplicationFlexibleFederatedIdentityCredential"
)
AZURE_ROLE_ASSIGNMENT_TYPE = "azure-native:authorization:RoleAssignment"


def azure_credential_violations(args: ResourceValidationArgs) -> list[Violation]:
    props, name = args.props, args.name
    if args.resource_type == AZURE_FLEXIBLE_CREDENTIAL_TYPE:
        return [Violation(
            f"{name}.claimsMatchingExpression", props.get("claimsMatchingExpression"),
            "is a flexible credential: Entra only accepts those for GitHub, GitLab and Terraform Cloud, "
            "never for an AWS account issuer; trust each role with its own exact credential",
        )]
    if args.resource_type == AZURE_ROLE_ASSIGNMENT_TYPE:
        return azure_rules.check_role(str(props.get("roleDefinitionId") or ""), f"{name}.roleDefinitionId")
    if args.resource_type not in AZURE_CREDENTIAL_TYPES:
        return []
    found = azure_rules.check_fic_audience(list(props.get("audiences") or []), f"{name}.audiences")
    found += azure_rules.check_fic_issuer(props.get("issuer"), f"{name}.issuer")
    found += azure_rules.check_fic_subject(props.get("subject"), f"{name}.subject")
    allowed = (pack_config(args).get("allowedAudiences") or {}).get("azure")
    for audience in props.get("audiences") or []:
        if allowed is not None and audience not in allowed:
            found.append(Violation(f"{name}.audiences", audience, "is not an allowed audience for Azure"))
    return found


def _roles_trusted_by_azure(args: StackValidationArgs) -> Iterable[tuple[Any, str, list[str]]]:
    """(credential, role ARN, algorithms the role may request) for every credential whose role is here."""
    roles = {r.props.get("arn"): r for r in args.resources if r.resource_type == "aws:iam/role:Role"}
    for credential in args.resources:
        if credential.resource_type not in AZURE_CREDENTIAL_TYPES:
            continue
        role = roles.get(credential.props.get("subject"))
        if role is None:
            continue  # a role of another stack, or an existing one: its policy is not visible here
        documents = [p.props.get("policy") for p in args.resources
                     if p.resource_type == "aws:iam/rolePolicy:RolePolicy" and p.props.get("role") == role.props.get("name")]
        documents += [i.get("policy") for i in role.props.get("inlinePolicies") or [] if isinstance(i, Mapping)]
        allowed = sorted({a for d in documents for a in (aws_rules.token_grant_algorithms(d) or [])})
        if allowed:
            yield credential, role.props.get("arn"), allowed


def azure_algorithm_violations(args: StackValidationArgs) -> list[tuple[str, Violation]]:
    """(credential URN, violation) for each role Entra trusts whose token policy does not fit Entra."""
    return [(credential.urn, violation)
            for credential, arn, algorithms in _roles_trusted_by_azure(args)
            for violation in azure_rules.check_rs256_allowed(algorithms, f"role {arn} (trusted by {credential.name})")]


# -- GCP -----------------------------------------------------------------------------------------

GCP_PROVIDER_TYPE = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
# IAM grants on service accounts and projects: (type, how to list (role, member) pairs).
GCP_IAM_GRANTS: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Any, Any]]]] = {
    "gcp:serviceaccount/iAMMember:IAMMember": lambda p: [("member", p.get("role"), p.get("member"))],
    "gcp:projects/iAMMember:IAMMember": lambda p: [("member", p.get("role"), p.get("member"))],
    "gcp:serviceaccount/iAMBinding:IAMBinding":
        lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
    "gcp:projects/iAMBinding:IAMBinding":
        lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
}


def gcp_violations(args: ResourceValidationArgs) -> list[Violation]:
    props, name = args.props, args.name
    found: list[Violation] = []
    if args.resource_type == GCP_PROVIDER_TYPE:
        oidc = props.get("oidc") or {}
        issuer = oidc.get("issuerUri")
        if not issuer:
            return []  # not an OIDC provider (AWS SigV4, SAML, X.509): not ours to judge
        found += [v for v in aws_rules.check_issuer(issuer, f"{name}.oidc.issuerUri") if v.severity == WARNING]
        found += gcp_rules.check_condition_pins_account(props.get("attributeCondition"), f"{name}.attributeCondition")
        allowed = (pack_config(args).get("allowedAudiences") or {}).get("gcp")
        for audience in oidc.get("allowedAudiences") or []:
            if allowed is not None and audience not in allowed:
                found.append(Violation(f"{name}.oidc.allowedAudiences", audience, "is not an allowed audience for GCP"))
    grants = GCP_IAM_GRANTS.get(args.resource_type)
    if grants is not None:
        for where, role, member in grants(props):
            found += gcp_rules.check_impersonation_member(role, member, f"{name}.{where}")
    return found


POLICIES = [
    *twin_policies(
        token_grant_violations,
        name="token-grants-pinned",
        description="Any IAM policy granting sts:GetWebIdentityToken pins audiences (ForAllValues + Null false, "
                    "never ForAnyValue), caps sts:DurationSeconds and restricts sts:SigningAlgorithm.",
        advice="token-grants-advice",
        advice_description="Token grants that are allowed but worth a reviewer's look: lifetimes over 15 "
                           "minutes, a Resource other than \"*\".",
    ),
    account_federation_protected,
    *twin_policies(
        azure_credential_violations,
        name="azure-credentials-exact",
        description="Azure federated credentials trust exactly one audience, an exact issuer and an exact role "
                    "ARN: no wildcards, no flexible credentials.",
        advice="azure-advice",
        advice_description="Azure settings worth a reviewer's look: issuers that do not look like AWS account "
                           "issuers, role assignments that can grant more roles.",
    ),
    *twin_stack_policies(
        azure_algorithm_violations,
        name="azure-trusted-roles-allow-rs256",
        description="A role trusted by Azure may request RS256 tokens: Entra accepts no other algorithm.",
        advice="azure-trusted-roles-es384-advice",
        advice_description="A role trusted by Azure may also request ES384: its workloads must ask for RS256 "
                           "for Azure.",
    ),
    *twin_policies(
        gcp_violations,
        name="gcp-trust-pinned",
        description="GCP providers on an AWS issuer pin the account in their attribute condition, and "
                    "roles/iam.workloadIdentityUser never goes to a whole pool.",
        advice="gcp-advice",
        advice_description="GCP settings worth a reviewer's look: conditions that pin the account but not the "
                           "roles, issuers that do not look like AWS account issuers.",
    ),
]
