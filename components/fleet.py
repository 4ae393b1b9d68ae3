"""A fleet of federation stacks: one Pulumi Cloud stack per AWS account, run by Pulumi Deployments.

With hundreds of accounts, one stack reaching every account (``accounts`` in a single stack's
config) puts every account's state, blast radius and deployer role in one place.
:class:`FederationFleet` instead makes one stack of this project per account, each with:

- its **config** in an ESC environment (``<project>/<stack>``), bound to the stack as its
  service-managed configuration: nothing is written into the repository, and a stack's config
  is exactly what the fleet says (``aws:region``, ``aws:allowedAccountIds`` pinned to the
  account, ``<project>:account`` with ``manage``, ``<project>:workloads``, plus the account's own
  ``config``);
- **deployment settings**: the repository and the project's folder in it, and AWS credentials
  from Pulumi Cloud's OIDC token exchanged for the account's deployer role (no stored secret);
- a **drift schedule** (daily by default), so "someone switched federation off" or a hand-edited
  trust surfaces within a day, reported rather than silently reverted unless ``auto_remediate``;
- **stack tags** naming the fleet and the account.

Children are named ``<name>-<account>-<part>`` (public API, like every child name here).

Example::

    fleet = FederationFleet("org", {
        "organization": "acme",
        "repository": {"repo_url": "https://github.com/acme/outbound-federation", "branch": "main"},
        "accounts": [{"name": "payments", "account_id": "111111111111", "region": "eu-west-1",
                      "deployer_role_arn": "arn:aws:iam::111111111111:role/federation-deployer",
                      "manage": True}],
    })
    pulumi.export("stacks", fleet.stacks)
"""

# No `from __future__ import annotations` here: the schema analyzer reads these annotations as objects.
from dataclasses import replace
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi

from .checks import ValidatedComponent
from .rules import Violation, raise_for
from .rules import fleet as fleet_rules
from .rules.errors import missing_dependency


class FleetRepository(TypedDict):
    """Where Pulumi Deployments fetches the federation program from."""

    repo_url: str
    """The git URL of the repository holding this project, e.g. https://github.com/acme/outbound-federation."""
    branch: NotRequired[str]
    """The branch every stack deploys. Default main."""
    repo_dir: NotRequired[str]
    """The project's folder in the repository (the one holding Pulumi.yaml). Default the root, '.'."""


class FleetAccount(TypedDict):
    """One AWS account of the fleet: it gets a stack of its own."""

    name: str
    """The stack's name (letters, digits, '-', '_', '.'; at most 100). Also names the account's ESC environment."""
    account_id: str
    """The 12-digit AWS account ID. Each account may appear once in a fleet."""
    deployer_role_arn: str
    """The IAM role in this account that Pulumi Deployments assumes with its OIDC token (deployerTrustPolicies
    gives the trust policy it needs)."""
    region: str
    """The AWS region the stack deploys into and asks STS in, e.g. eu-west-1."""
    manage: NotRequired[bool]
    """This stack owns the account's outbound identity federation switch. Exactly one stack should own it;
    default false (the stack only looks the issuer up)."""
    config: NotRequired[Mapping[str, Any]]
    """More stack config for this account, as Pulumi.<stack>.yaml would hold it (bare keys belong to the
    project), e.g. azure-native:tenantId. Keys the fleet sets from the fields above are refused."""
    workloads: NotRequired[Sequence[Mapping[str, Any]]]
    """The account's workloads, exactly as the stack's own `workloads` config takes them."""


class AwsOrganizationDefaults(TypedDict):
    """What every account of an AWS Organizations listing gets, since the listing holds only IDs and names."""

    deployer_role_name: str
    """The name (or /path/name) of the deployer role, the same in every account (e.g. made by a StackSet)."""
    region: str
    """The AWS region of every listed account's stack."""
    manage: NotRequired[bool]
    """Each listed account's stack owns its federation switch. Default true."""


class FederationFleetArgs(TypedDict):
    """The accounts of the fleet, where the program comes from, and how the stacks are watched."""

    organization: str
    """The Pulumi Cloud organization that owns the stacks (also the audience of the deployments' OIDC tokens)."""
    project: NotRequired[str]
    """The Pulumi project of the stacks: the `name` in the repository's Pulumi.yaml. Default outbound-federation."""
    repository: FleetRepository
    """The repository holding the project."""
    accounts: NotRequired[Sequence[FleetAccount]]
    """The accounts, one stack each."""
    aws_organization_accounts: NotRequired[Sequence[Mapping[str, Any]]]
    """More accounts, as `aws organizations list-accounts-for-parent` prints them (its Accounts list: Id, Name,
    Status or State). Each ACTIVE account gets a stack named after it; needs awsOrganizationDefaults."""
    aws_organization_defaults: NotRequired[AwsOrganizationDefaults]
    """The deployer role, region and manage of every account in awsOrganizationAccounts."""
    drift_schedule: NotRequired[str]
    """When drift detection runs on every stack: five-field cron, in UTC. Default '0 6 * * *' (daily, 06:00)."""
    auto_remediate: NotRequired[bool]
    """Run `pulumi up` when drift is found. Default false: drift is reported, not silently reverted."""
    review_stacks: NotRequired[bool]
    """Preview every account's stack on each pull request (Pulumi's GitHub app; the repository must be on
    github.com). Default false. Merges are not deployed automatically either way."""
    tags: NotRequired[Mapping[str, str]]
    """Stack tags for every stack (names of 1-40 letters, digits and -_.:), besides fleet and aws-account-id."""


def _pulumiservice() -> Any:
    try:
        import pulumi_pulumiservice
    except ImportError as error:
        raise missing_dependency(error, "fleet") from error
    return pulumi_pulumiservice


def check_fleet(args: Mapping[str, Any], spell: Any = str) -> list[Violation]:
    """The fleet's rules, plus each account's workloads judged by the stack's own config parser.

    The parser is the one each stack runs at preview (``components.stack.config``), with the
    account's stack name: a workload whose role name would not fit in that stack fails here,
    before any stack exists.
    """
    from .stack.config import parse_stack_config
    from .rules.errors import ValidationError

    found = fleet_rules.check_fleet_args(args, spell)
    if any(v.severity == "error" for v in found):
        return found
    for index, account in enumerate(args.get("accounts") or []):
        workloads = account.get("workloads")
        if not workloads:
            continue
        try:
            parse_stack_config({"manage": bool(account.get("manage", False))}, list(workloads), account["name"])
        except ValidationError as error:
            where = f"{spell('accounts')}[{index}]."
            found += [replace(v, field=where + v.field) for v in error.violations]
    return found


class FederationFleet(ValidatedComponent):
    """One federation stack per AWS account, configured, deployed and drift-checked by Pulumi Cloud.

    For each account: a Pulumi Cloud stack of this project named after the account, an ESC
    environment holding the stack's config (bound as the stack's service-managed config), deployment
    settings (the repository; the account's deployer role through Pulumi Cloud's OIDC token, no
    stored secret), a drift schedule and stack tags. Every account's state, blast radius and
    deployer role stay its own.

    Example::

        fleet = FederationFleet("org", {
            "organization": "acme",
            "repository": {"repo_url": "https://github.com/acme/outbound-federation"},
            "accounts": [{"name": "payments", "account_id": "111111111111", "region": "eu-west-1",
                          "deployer_role_arn": "arn:aws:iam::111111111111:role/federation-deployer",
                          "manage": True}],
        })
    """

    stacks: pulumi.Output[Mapping[str, str]]
    """Each account's stack, by account name, fully qualified: organization/project/stack."""
    stack_urls: pulumi.Output[Mapping[str, str]]
    """Each account's stack page in the Pulumi Cloud console, by account name."""
    environments: pulumi.Output[Mapping[str, str]]
    """Each account's ESC environment (project/name), which holds its stack's config, by account name."""
    deployer_trust_policies: pulumi.Output[Mapping[str, str]]
    """The trust policy (JSON) each account's deployer role needs: this stack's deployments, no one else's."""

    def __init__(self, name: str, args: FederationFleetArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, check_fleet, opts)
        ps = _pulumiservice()
        accounts = fleet_rules.fleet_accounts(args, found=[])  # already judged (and warned about) above

        organization = args["organization"]
        project = args.get("project", fleet_rules.DEFAULT_PROJECT)
        repository = args["repository"]
        github = fleet_rules.github_repository(repository["repo_url"]) if args.get("review_stacks") else None
        schedule = args.get("drift_schedule", fleet_rules.DEFAULT_DRIFT_SCHEDULE)

        stacks, urls, environments, policies = {}, {}, {}, {}
        for account in accounts:
            stack_name = account["name"]
            prefix = f"{name}-{stack_name}"
            child = pulumi.ResourceOptions(parent=self)
            # An account taken out of the fleet keeps its config and deployment settings: its stack
            # still holds the account's resources, and without config a later `pulumi up` of it
            # would delete them all. Its stack then refuses deletion (see force_destroy) until the
            # account's stack is destroyed on purpose, with the settings it still has.
            kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)

            stack = ps.Stack(f"{prefix}-stack", ps.StackArgs(
                organization_name=organization, project_name=project, stack_name=stack_name,
                # A stack that still holds resources (the account's roles, its federation switch) is
                # never deleted with the fleet: removing an account from the list fails instead.
                force_destroy=False,
            ), opts=child)

            document = pulumi.Output.from_input(fleet_rules.stack_config_for(account, project)).apply(
                lambda config, s=stack_name: fleet_rules.environment_document_for(config, name, s))
            environment = ps.Environment(f"{prefix}-environment", ps.EnvironmentArgs(
                organization=organization, project=project, name=stack_name,
                yaml=document.apply(pulumi.StringAsset),
            ), opts=kept)
            reference = f"{project}/{stack_name}"
            config = ps.api.stacks.Config(f"{prefix}-config", ps.api.stacks.ConfigArgs(
                org_name=organization, project_name=project, stack_name=stack_name, environment=reference,
            ), opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[stack, environment])))

            settings = ps.DeploymentSettings(f"{prefix}-deployment-settings", self._settings_args(
                ps, organization, project, account, repository, github,
            ), opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[stack])))

            # Pulumi Cloud refuses a schedule for a stack without deployment settings.
            ps.DriftSchedule(f"{prefix}-drift-schedule", ps.DriftScheduleArgs(
                organization=organization, project=project, stack=stack_name, schedule_cron=schedule,
                auto_remediate=bool(args.get("auto_remediate", False)),
            ), opts=pulumi.ResourceOptions(parent=self, depends_on=[settings, config]))

            ps.StackTags(f"{prefix}-tags", ps.StackTagsArgs(
                organization=organization, project=project, stack=stack_name,
                tags={**dict(args.get("tags") or {}), "fleet": name, "aws-account-id": account["account_id"]},
            ), opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]))

            stacks[stack_name] = pulumi.Output.all(stack.organization_name, stack.project_name, stack.stack_name) \
                .apply(lambda parts: "/".join(parts))
            urls[stack_name] = stacks[stack_name].apply(lambda qualified: f"{fleet_rules.DEFAULT_CONSOLE_URL}/{qualified}")
            environments[stack_name] = pulumi.Output.all(environment.project, environment.name) \
                .apply(lambda parts: "/".join(parts))
            policies[stack_name] = fleet_rules.deployer_trust_policy_for(
                organization, project, stack_name, account["deployer_role_arn"])

        self.stacks = pulumi.Output.all(**stacks) if stacks else pulumi.Output.from_input({})
        self.stack_urls = pulumi.Output.all(**urls) if urls else pulumi.Output.from_input({})
        self.environments = pulumi.Output.all(**environments) if environments else pulumi.Output.from_input({})
        self.deployer_trust_policies = pulumi.Output.from_input(policies)
        self.register_outputs({
            "stacks": self.stacks,
            "stack_urls": self.stack_urls,
            "environments": self.environments,
            "deployer_trust_policies": self.deployer_trust_policies,
        })

    @staticmethod
    def _settings_args(ps: Any, organization: str, project: str, account: Mapping[str, Any],
                       repository: Mapping[str, Any], github: Optional[str]) -> Any:
        """The stack's deployment settings, as the SDK's own Args types."""
        region = account["region"]
        git = ps.DeploymentSettingsGitSourceArgs(
            # With the GitHub app (review stacks) the repository is named there, and a repo URL is refused.
            repo_url=None if github else repository["repo_url"],
            branch=repository.get("branch", fleet_rules.DEFAULT_BRANCH),
            repo_dir=repository.get("repo_dir", fleet_rules.DEFAULT_REPO_DIR),
        )
        operation = ps.DeploymentSettingsOperationContextArgs(
            oidc=ps.OperationContextOIDCArgs(aws=ps.AWSOIDCConfigurationArgs(
                role_arn=account["deployer_role_arn"],
                session_name=fleet_rules.session_name_for(account["name"]),
                duration=fleet_rules.SESSION_DURATION,
            )),
            # The program's AWS SDK calls (the issuer lookup, STS) go to the account's region.
            environment_variables={"AWS_REGION": region, "AWS_DEFAULT_REGION": region},
        )
        vcs = ps.DeploymentSettingsVcsArgs(
            provider="github", repository=github, preview_pull_requests=True,
            # Explicit: the provider's defaults would also deploy every merge to every account.
            deploy_commits=False, pull_request_template=False,
        ) if github else None
        return ps.DeploymentSettingsArgs(
            organization=organization, project=project, stack=account["name"],
            source_context=ps.DeploymentSettingsSourceContextArgs(git=git),
            operation_context=operation, vcs=vcs,
        )


def parse_fleet_config(values: Mapping[str, Any]) -> FederationFleetArgs:
    """FederationFleet args from stack config (camelCase), checked with every problem named as written there.

    Top-level and account keys are converted (``accountId`` -> ``account_id``); an account's
    ``config`` and ``workloads`` are passed on verbatim, since they are the account stack's own config.
    Raises :class:`~components.rules.ValidationError` ("fleet config").
    """
    from .stack.config import camel_to_snake, snake_to_camel

    def convert(section: Any, keep: tuple[str, ...] = ()) -> Any:
        if not isinstance(section, Mapping):
            return section
        return {key if key in keep else camel_to_snake(key): value for key, value in section.items()}

    args = {camel_to_snake(key): value for key, value in values.items() if value is not None}
    for key in ("repository", "aws_organization_defaults"):
        if key in args:
            args[key] = convert(args[key])
    if isinstance(args.get("accounts"), list):
        args["accounts"] = [convert(account) for account in args["accounts"]]
    raise_for("fleet config", check_fleet(args, snake_to_camel))
    return args  # type: ignore[return-value]


__all__ = ["AwsOrganizationDefaults", "FederationFleet", "FederationFleetArgs", "FleetAccount", "FleetRepository",
           "check_fleet", "parse_fleet_config"]
