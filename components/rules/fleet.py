"""Rules and derived values for a fleet: one federation stack per AWS account, run by Pulumi Deployments.

Each account of the fleet becomes a Pulumi Cloud stack of the federation project, named after the
account, configured from an ESC environment, deployed by Pulumi Deployments into the account
through its deployer role (Pulumi Cloud's OIDC token, no stored secret) and checked for drift on a
schedule. Everything here is pure: :func:`check_fleet_args` judges the whole fleet at once (names,
IDs, roles, regions, schedules, who owns each account's switch), and the ``..._for`` functions
derive what each stack gets (its config, ESC document, OIDC session, deployer trust policy).

``spell`` renders an arg name as the user wrote it: ``str`` for Python callers
(``accounts[3].account_id``), ``snake_to_camel`` for stack config (``accounts[3].accountId``).

Example::

    >>> fleet = {"organization": "acme", "repository": {"repo_url": "https://github.com/acme/federation"},
    ...          "accounts": [{"name": "payments", "account_id": "111111111111", "region": "eu-west-1",
    ...                        "deployer_role_arn": "arn:aws:iam::222222222222:role/deployer", "manage": True}]}
    >>> [v.code for v in check_fleet_args(fleet)]
    ['fleet.deployer-role.other-account']
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

from . import WARNING, Violation, check_booleans, is_plain
from .aws import ACCOUNT_ID_PATTERN, parse_role_arn
from .cron import check_cron, fires_daily, parse
from .facts import PACKAGE_NAME

DEFAULT_PROJECT = PACKAGE_NAME
"""The Pulumi project the fleet's stacks belong to: this repository's ``Pulumi.yaml`` name."""
DEFAULT_DRIFT_SCHEDULE = "0 6 * * *"
"""Daily at 06:00 UTC: an account whose federation was switched off shows up within a day."""
DEFAULT_BRANCH = "main"
DEFAULT_REPO_DIR = "."
DEFAULT_CONSOLE_URL = "https://app.pulumi.com"
PULUMI_OIDC_ISSUER = "https://api.pulumi.com/oidc"
"""The issuer of the tokens Pulumi Deployments exchanges for AWS credentials (``aud`` is the organisation)."""
SESSION_DURATION = "1h0m0s"
"""The deployer role session Deployments asks for ("XhYmZs"): within every role's default maximum of 1 h."""
MAX_SESSION_NAME_LENGTH = 64
"""STS's RoleSessionName limit."""

STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""Pulumi Cloud's rule for stack and project names (and ours for ESC environment names)."""
ORGANIZATION_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,38}[a-zA-Z0-9]$")
"""Pulumi Cloud's rule for an organisation (stack owner) name."""
TAG_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
MAX_TAG_VALUE_LENGTH = 256
REGION_PATTERN = re.compile(r"^[a-z]{2,4}(-[a-z]+)?-[a-z]+-\d{1,2}$")
"""The shape of an AWS region code (``eu-west-1``, ``us-gov-west-1``, ``eusc-de-east-1``), new regions included."""
GITHUB_URL = re.compile(r"^(?:https://github\.com/|git@github\.com:)(?P<repository>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")
CONFIG_KEY_PATTERN = re.compile(r"^(?:[A-Za-z0-9_.-]+:)?[A-Za-z0-9_.-]+$")

FLEET_KEYS = ("organization", "project", "repository", "accounts", "aws_organization_accounts",
              "aws_organization_defaults", "drift_schedule", "auto_remediate", "review_stacks", "tags")
REPOSITORY_KEYS = ("repo_url", "branch", "repo_dir")
ACCOUNT_KEYS = ("name", "account_id", "deployer_role_arn", "region", "manage", "config", "workloads")
DEFAULTS_KEYS = ("deployer_role_name", "region", "manage")


def _unknown(section: Any, allowed: Sequence[str], where: str, spell: Callable[[str], str]) -> list[Violation]:
    if not isinstance(section, Mapping):
        return []
    return [Violation(f"{where}{spell(str(key))}", section[key],
                      f"is not a setting of the fleet (known: {', '.join(spell(k) for k in allowed)})",
                      code="fleet.unknown-setting")
            for key in section if key not in allowed]


# ---------------------------------------------------------------------------------------------
# Single values
# ---------------------------------------------------------------------------------------------

def check_stack_name(name: Any, field: str) -> list[Violation]:
    """A Pulumi Cloud stack name: 1-100 letters, digits, ``_``, ``.`` and ``-``."""
    if not isinstance(name, str) or not STACK_NAME_PATTERN.match(name):
        return [Violation(field, name, "must be a Pulumi stack name: 1-100 letters, digits, '-', '_' and '.'",
                          code="fleet.stack-name.format")]
    return []


def check_organization(organization: Any, field: str) -> list[Violation]:
    if not isinstance(organization, str) or not ORGANIZATION_PATTERN.match(organization):
        return [Violation(field, organization, "must be a Pulumi organization name: 3-40 letters, digits, '-' and "
                                               "'_', starting and ending with a letter or digit",
                          code="fleet.organization.format")]
    return []


def check_region(region: Any, field: str) -> list[Violation]:
    """An AWS region code (``eu-west-1``, ``us-gov-west-1``), not an availability zone or ``global``."""
    if isinstance(region, str) and REGION_PATTERN.match(region[:-1]) and region[-1].isalpha():
        return [Violation(field, region, f"is an availability zone: give its region, {region[:-1]!r}",
                          code="fleet.region.format")]
    if not isinstance(region, str) or not REGION_PATTERN.match(region):
        return [Violation(field, region, "must be an AWS region code such as eu-west-1 (tokens come from the "
                                         "regional STS endpoint; the global one does not serve them)",
                          code="fleet.region.format")]
    return []


def check_deployer_role(arn: Any, account_id: Any, field: str) -> list[Violation]:
    """The role Deployments assumes must be an IAM role of the account the stack deploys into."""
    parsed = parse_role_arn(arn)
    if parsed is None:
        return [Violation(field, arn, "must be an IAM role ARN: arn:aws:iam::<12 digits>:role/<path/><name>",
                          code="fleet.deployer-role.format")]
    found = []
    if isinstance(account_id, str) and parsed.account_id != account_id:
        found.append(Violation(
            field, arn,
            f"is a role of account {parsed.account_id}, not {account_id}: each stack deploys into its own account "
            "through a role of that account, so a mistake cannot reach another one",
            code="fleet.deployer-role.other-account",
        ))
    if parsed.is_identity_center:
        found.append(Violation(
            field, arn,
            "is an IAM Identity Center role, whose trust policy cannot be edited to trust Pulumi Cloud's OIDC "
            "issuer: create a deployer role of its own in the account",
            code="fleet.deployer-role.identity-center",
        ))
    return found


def check_tags(tags: Any, field: str) -> list[Violation]:
    """Pulumi stack tags: names of 1-40 letters, digits and ``-_.:``, values of at most 256 characters."""
    if not isinstance(tags, Mapping):
        return [Violation(field, tags, "must be a map of tag names to values", code="fleet.tags.type")]
    found = []
    for key, value in tags.items():
        where = f"{field}.{key}"
        if not isinstance(key, str) or not TAG_NAME_PATTERN.match(key):
            found.append(Violation(where, key, "must be a stack tag name: 1-40 letters, digits, '-', '_', '.' and ':'",
                                   code="fleet.tag.name"))
        elif key.lower().startswith(("pulumi:", "vcs:", "github:")):
            found.append(Violation(where, key, "is a tag name Pulumi sets itself", code="fleet.tag.reserved"))
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH:
            found.append(Violation(where, value, f"must be a string of at most {MAX_TAG_VALUE_LENGTH} characters",
                                   code="fleet.tag.value"))
    return found


def check_repository(repository: Any, field: str, spell: Callable[[str], str] = str) -> list[Violation]:
    """Where Deployments fetches the program: a git URL, a branch, and the project's folder in it."""
    if not isinstance(repository, Mapping):
        return [Violation(field, repository, f"must be a map with {spell('repo_url')} (and optionally "
                                             f"{spell('branch')}, {spell('repo_dir')})",
                          code="fleet.repository.type")]
    found = _unknown(repository, REPOSITORY_KEYS, f"{field}.", spell)
    url = repository.get("repo_url")
    if is_plain(url):
        parts = urlsplit(url) if isinstance(url, str) else None
        ssh = isinstance(url, str) and re.match(r"^[\w.-]+@[\w.-]+:[\w./-]+$", url)
        if not (ssh or (parts and parts.scheme in ("https", "ssh") and parts.hostname and parts.path.strip("/"))):
            found.append(Violation(f"{field}.{spell('repo_url')}", url,
                                   "must be the git URL of the repository holding this project (https://... or ssh)",
                                   code="fleet.repository.url"))
        elif parts and (parts.password or (parts.scheme == "https" and parts.username)):
            found.append(Violation(f"{field}.{spell('repo_url')}", "<redacted>",
                                   "must not carry credentials: Deployments reads the repository through its VCS "
                                   "integration",
                                   code="fleet.repository.credentials"))
    branch = repository.get("branch", DEFAULT_BRANCH)
    if is_plain(branch) and (not isinstance(branch, str) or not branch or any(c.isspace() for c in branch)
                             or branch.startswith("-") or ".." in branch):
        found.append(Violation(f"{field}.{spell('branch')}", branch, "must be a branch name, e.g. main",
                               code="fleet.repository.branch"))
    repo_dir = repository.get("repo_dir", DEFAULT_REPO_DIR)
    if is_plain(repo_dir) and (not isinstance(repo_dir, str) or not repo_dir or repo_dir.startswith("/")
                               or ".." in repo_dir.split("/")):
        found.append(Violation(f"{field}.{spell('repo_dir')}", repo_dir,
                               "must be the project's folder relative to the repository root (the one holding "
                               "Pulumi.yaml), e.g. '.'",
                               code="fleet.repository.repo-dir"))
    return found


def check_schedule(expression: Any, field: str) -> list[Violation]:
    """The drift schedule: strict five-field cron (UTC); a warning when it skips days."""
    found = check_cron(expression, field, code="fleet.drift-schedule")
    if not found and not fires_daily(parse(expression)):
        found.append(Violation(
            field, expression,
            "does not run every day: an account whose federation was switched off (or whose trust was edited "
            "by hand) may then go unnoticed for longer than a day",
            WARNING, code="fleet.drift-schedule.infrequent",
        ))
    return found


# ---------------------------------------------------------------------------------------------
# Config each stack gets
# ---------------------------------------------------------------------------------------------

def full_config_key(key: str, project: str) -> str:
    """A config key with its namespace: a bare key belongs to the project, as in ``Pulumi.<stack>.yaml``."""
    return key if ":" in key else f"{project}:{key}"


def check_account_config(config: Any, project: str, field: str) -> list[Violation]:
    """Extra stack config of one account: namespaced keys, none the fleet sets itself."""
    if not isinstance(config, Mapping):
        return [Violation(field, config, "must be a map of config keys (namespace:key) to values",
                          code="fleet.config.type")]
    found = []
    derived = {
        "aws:region": "region", "aws:allowedAccountIds": "accountId", f"{project}:account": "manage",
        f"{project}:workloads": "workloads",
    }
    for key in config:
        where = f"{field}.{key}"
        if not isinstance(key, str) or not CONFIG_KEY_PATTERN.match(key):
            found.append(Violation(where, key, "must be a config key: [namespace:]name", code="fleet.config.key"))
            continue
        full = full_config_key(key, project)
        if full == f"{project}:accounts":
            found.append(Violation(where, "<accounts>", "cannot be set in a fleet: each stack serves the one account "
                                                        "it deploys into", code="fleet.config.accounts"))
        elif full in derived:
            found.append(Violation(where, config[key], f"is set by the fleet from the account's {derived[full]}: "
                                                       "set that instead", code="fleet.config.reserved"))
    return found


def stack_config_for(account: Mapping[str, Any], project: str) -> dict[str, Any]:
    """Every config value of one account's stack, keys namespaced, as ``Pulumi.<stack>.yaml`` would hold them.

    The AWS provider is pinned to the account (``aws:allowedAccountIds``), so credentials for
    another account make the stack fail instead of changing that account.
    """
    config = {full_config_key(key, project): value for key, value in (account.get("config") or {}).items()}
    config["aws:region"] = account["region"]
    config["aws:allowedAccountIds"] = [account["account_id"]]
    config[f"{project}:account"] = {"manage": bool(account.get("manage", False))}
    if account.get("workloads"):
        config[f"{project}:workloads"] = list(account["workloads"])
    return config


def environment_document_for(config: Mapping[str, Any], fleet: str, stack: str) -> str:
    """The ESC environment (YAML) whose ``pulumiConfig`` is the stack's configuration."""
    import yaml

    header = (f"# The configuration of stack '{stack}', written by FederationFleet '{fleet}'.\n"
              "# Change it in the fleet's config: the next `pulumi up` of the fleet overwrites edits made here.\n")
    return header + yaml.safe_dump({"values": {"pulumiConfig": dict(config)}}, sort_keys=False,
                                   default_flow_style=False, allow_unicode=True)


def session_name_for(stack: str) -> str:
    """The deployer role's session name: the stack's, as CloudTrail shows it (at most 64 characters)."""
    return f"pulumi-{stack}"[:MAX_SESSION_NAME_LENGTH]


def oidc_subject_for(organization: str, project: str, stack: str, operation: str = "*") -> str:
    """The ``sub`` of the token Pulumi Deployments presents for this stack."""
    return f"pulumi:deploy:org:{organization}:project:{project}:stack:{stack}:operation:{operation}:scope:write"


def deployer_trust_policy_for(organization: str, project: str, stack: str, deployer_role_arn: str) -> str:
    """The trust policy the account's deployer role needs: this one stack's deployments, no one else.

    The role lives in the account and is made there (a bootstrap, a StackSet): the fleet cannot
    reach the account before the role exists. Requires the ``api.pulumi.com/oidc`` identity
    provider in the account with the organisation as its audience.
    """
    parsed = parse_role_arn(deployer_role_arn)
    partition, account = (parsed.partition, parsed.account_id) if parsed else ("aws", "<account>")
    host = PULUMI_OIDC_ISSUER.removeprefix("https://")
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:{partition}:iam::{account}:oidc-provider/{host}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{host}:aud": organization},
                "StringLike": {f"{host}:sub": oidc_subject_for(organization, project, stack)},
            },
        }],
    }, indent=2)


def github_repository(repo_url: Any) -> str | None:
    """``owner/name`` of a github.com repository URL, else None."""
    match = GITHUB_URL.match(repo_url) if isinstance(repo_url, str) else None
    return match["repository"] if match else None


# ---------------------------------------------------------------------------------------------
# An OU's accounts, as `aws organizations list-accounts-for-parent` gives them
# ---------------------------------------------------------------------------------------------

def organization_stack_name(name: str, account_id: str) -> str:
    """A stack name from an AWS account's display name: lowercase, runs of other characters as ``-``."""
    text = re.sub(r"[^a-z0-9_.]+", "-", str(name).lower()).strip("-.")[:100].strip("-.")
    return text or f"account-{account_id}"


def accounts_from_organization(accounts: Any, defaults: Any, field: str, defaults_field: str,
                               spell: Callable[[str], str] = str) -> tuple[list[dict[str, Any]], list[Violation]]:
    """Fleet accounts from an OU listing (``Accounts`` of ``list-accounts-for-parent``: Id, Name, Status/State).

    Each ACTIVE account gets a stack named after it, the deployer role ``defaults.deployer_role_name``
    in that account, the default region and ``manage`` (default true). Other accounts (suspended,
    closing) are left out, with a warning.
    """
    found: list[Violation] = []
    if not isinstance(accounts, (list, tuple)):
        return [], [Violation(field, accounts, "must be a list of accounts as `aws organizations "
                                               "list-accounts-for-parent` prints them (Accounts)",
                              code="fleet.aws-organization.type")]
    if not isinstance(defaults, Mapping):
        return [], [Violation(defaults_field, defaults, f"must be a map with {spell('deployer_role_name')} and "
                                                        f"{spell('region')}: the OU's listing has neither",
                              code="fleet.aws-organization.defaults")]
    found += _unknown(defaults, DEFAULTS_KEYS, f"{defaults_field}.", spell)
    role_name = defaults.get("deployer_role_name")
    if not isinstance(role_name, str) or not re.match(r"^(?:/(?:[\x21-\x7e]+/)?)?[\w+=,.@-]{1,64}$", role_name):
        found.append(Violation(f"{defaults_field}.{spell('deployer_role_name')}", role_name,
                               "must be the name (optionally /path/name) of the deployer role in every account",
                               code="fleet.aws-organization.role-name"))
        role_name = None
    found += check_booleans(defaults, ("manage",), lambda key: f"{defaults_field}.{spell(key)}")
    result = []
    for index, raw in enumerate(accounts):
        where = f"{field}[{index}]"
        if not isinstance(raw, Mapping) or "Id" not in raw:
            found.append(Violation(where, raw, "must be an account of the listing, with Id and Name",
                                   code="fleet.aws-organization.account"))
            continue
        state = raw.get("State", raw.get("Status", "ACTIVE"))
        if state != "ACTIVE":
            found.append(Violation(f"{where}.{'State' if 'State' in raw else 'Status'}", state,
                                   "is not ACTIVE: the account gets no stack", WARNING,
                                   code="fleet.aws-organization.inactive"))
            continue
        account_id = str(raw["Id"])
        path = role_name if role_name and role_name.startswith("/") else f"/{role_name}"
        result.append({
            "name": organization_stack_name(raw.get("Name") or "", account_id),
            "account_id": account_id,
            "deployer_role_arn": f"arn:aws:iam::{account_id}:role{path}" if role_name else None,
            "region": defaults.get("region"),
            "manage": defaults.get("manage", True),
            "_from": where,
        })
    return result, found


# ---------------------------------------------------------------------------------------------
# The whole fleet
# ---------------------------------------------------------------------------------------------

def check_account(account: Any, at: Callable[[str], str], project: str,
                  spell: Callable[[str], str] = str) -> list[Violation]:
    """One account's own settings (what needs no other account to judge); ``at(key)`` names a field."""
    if not isinstance(account, Mapping):
        return [Violation(at("").rstrip("."), account,
                          f"must be a map with {spell('name')}, {spell('account_id')}, {spell('deployer_role_arn')} "
                          f"and {spell('region')}", code="fleet.account.type")]
    found = [Violation(at(str(key)), value, f"is not a setting of an account (known: "
                                            f"{', '.join(spell(k) for k in ACCOUNT_KEYS)})",
                       code="fleet.unknown-setting")
             for key, value in account.items() if key not in ACCOUNT_KEYS and key != "_from"]
    found += check_stack_name(account.get("name"), at("name"))
    account_id = account.get("account_id")
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.match(account_id):
        found.append(Violation(at("account_id"), account_id, "must be a 12-digit AWS account ID, as a string",
                               code="fleet.account-id.format"))
    found += check_deployer_role(account.get("deployer_role_arn"), account_id, at("deployer_role_arn"))
    found += check_region(account.get("region"), at("region"))
    found += check_booleans(account, ("manage",), at)
    if account.get("config") is not None:
        found += check_account_config(account["config"], project, at("config"))
    workloads = account.get("workloads")
    if workloads is not None and not isinstance(workloads, (list, tuple)):
        found.append(Violation(at("workloads"), workloads, "must be a list of workloads, as the stack's own "
                                                           "`workloads` config takes them",
                               code="fleet.workloads.type"))
    return found


def check_across_accounts(accounts: Sequence[Any], where_of: Callable[[int, str], str]) -> list[Violation]:
    """Names and IDs unique; exactly one stack owning each account's federation switch."""
    found: list[Violation] = []
    names: dict[str, int] = {}
    ids: dict[str, list[int]] = {}
    for index, account in enumerate(accounts):
        if not isinstance(account, Mapping):
            continue
        name = account.get("name")
        if isinstance(name, str):
            if name.lower() in names:
                found.append(Violation(where_of(index, "name"), name,
                                       f"is the stack name of {where_of(names[name.lower()], 'name')} too: every "
                                       "account needs a stack of its own (names differing only in case collide too)",
                                       code="fleet.account-name.duplicate"))
            names.setdefault(name.lower(), index)
        account_id = account.get("account_id")
        if isinstance(account_id, str):
            if account_id in ids:
                found.append(Violation(where_of(index, "account_id"), account_id,
                                       f"is listed at {where_of(ids[account_id][0], 'account_id')} already: one "
                                       "stack per account, or two stacks would deploy into it",
                                       code="fleet.account-id.duplicate"))
            ids.setdefault(account_id, []).append(index)
    for account_id, indexes in ids.items():
        managers = [i for i in indexes if accounts[i].get("manage") is True]
        for extra in managers[1:]:
            found.append(Violation(where_of(extra, "manage"), True,
                                   f"makes a second stack own account {account_id}'s federation switch (first: "
                                   f"{where_of(managers[0], 'manage')}): exactly one stack may own it",
                                   code="fleet.manage.duplicate"))
        if not managers:
            found.append(Violation(where_of(indexes[0], "manage"), accounts[indexes[0]].get("manage", False),
                                   f"leaves account {account_id}'s federation switch to no stack of the fleet: the "
                                   "stack only looks the issuer up and fails while federation is off; set manage: "
                                   "true unless a stack outside the fleet owns the switch",
                                   WARNING, code="fleet.manage.none"))
    return found


def check_fleet_args(args: Mapping[str, Any], spell: Callable[[str], str] = str) -> list[Violation]:
    """Every rule on a FederationFleet's inputs, all at once (plain values; Outputs are taken as given)."""
    if not isinstance(args, Mapping):
        return [Violation("fleet", args, "must be a map of settings", code="fleet.type")]
    found = _unknown(args, FLEET_KEYS, "", spell)
    found += check_organization(args.get("organization"), spell("organization"))
    project = args.get("project", DEFAULT_PROJECT)
    found += check_stack_name(project, spell("project"))
    project = project if isinstance(project, str) else DEFAULT_PROJECT
    found += check_repository(args.get("repository"), spell("repository"), spell)
    found += check_booleans(args, ("auto_remediate", "review_stacks"), spell)
    found += check_schedule(args.get("drift_schedule", DEFAULT_DRIFT_SCHEDULE), spell("drift_schedule"))
    if args.get("tags") is not None:
        found += check_tags(args["tags"], spell("tags"))
    repository = args.get("repository") if isinstance(args.get("repository"), Mapping) else {}
    if args.get("review_stacks") is True and is_plain(repository.get("repo_url")) \
            and github_repository(repository.get("repo_url")) is None:
        found.append(Violation(spell("review_stacks"), True,
                               "needs a github.com repository: pull-request previews run through Pulumi's GitHub "
                               "app", code="fleet.review-stacks.not-github"))

    accounts = fleet_accounts(args, spell, found)
    if not accounts:
        found.append(Violation(spell("accounts"), args.get("accounts"),
                               f"is empty: give {spell('accounts')} or {spell('aws_organization_accounts')}",
                               code="fleet.accounts.empty"))

    listing, defaults = spell("aws_organization_accounts"), spell("aws_organization_defaults")
    from_listing = {"name": "Name", "account_id": "Id"}

    def where_of(index: int, key: str) -> str:
        """A field of the index-th account, as the user wrote it (an OU account's come from the defaults)."""
        account = accounts[index]
        origin = account.get("_from", "") if isinstance(account, Mapping) else ""
        if origin.startswith(listing):
            if key in from_listing:
                return f"{origin}.{from_listing[key]}"
            return f"{defaults}.{spell('deployer_role_name' if key == 'deployer_role_arn' else key)}"
        return f"{spell('accounts')}[{index}].{spell(key)}"

    for index, account in enumerate(accounts):
        origin = account.get("_from", "") if isinstance(account, Mapping) else ""
        if origin.startswith(listing):
            if account.get("deployer_role_arn") is None:
                continue  # the defaults have no usable role name, and say so once
            # The region and manage come from the defaults: judged once, below and above.
            found += [v for v in check_account(account, lambda key, i=index: where_of(i, key), project, spell)
                      if not v.field.startswith(defaults)]
        else:
            found += check_account(account, lambda key, i=index: where_of(i, key), project, spell)
    if isinstance(args.get("aws_organization_defaults"), Mapping):
        found += check_region(args["aws_organization_defaults"].get("region"), f"{defaults}.{spell('region')}")
    found += check_across_accounts(accounts, where_of)
    return found


def fleet_accounts(args: Mapping[str, Any], spell: Callable[[str], str] = str,
                   found: list[Violation] | None = None) -> list[dict[str, Any]]:
    """The fleet's accounts in order: ``accounts`` first, then the OU listing's active accounts."""
    found = [] if found is None else found
    accounts = args.get("accounts")
    result: list[Any] = []
    if accounts is not None:
        if isinstance(accounts, (list, tuple)):
            result += [dict(a) if isinstance(a, Mapping) else a for a in accounts]
        else:
            found.append(Violation(spell("accounts"), accounts, "must be a list of accounts",
                                   code="fleet.accounts.type"))
    if args.get("aws_organization_accounts") is not None:
        listed, problems = accounts_from_organization(
            args["aws_organization_accounts"], args.get("aws_organization_defaults"),
            spell("aws_organization_accounts"), spell("aws_organization_defaults"), spell)
        result += listed
        found += problems
    return result


__all__ = [
    "DEFAULT_BRANCH", "DEFAULT_CONSOLE_URL", "DEFAULT_DRIFT_SCHEDULE", "DEFAULT_PROJECT", "DEFAULT_REPO_DIR",
    "PULUMI_OIDC_ISSUER", "SESSION_DURATION", "accounts_from_organization", "check_account", "check_account_config",
    "check_across_accounts", "check_deployer_role", "check_fleet_args", "check_organization", "check_region",
    "check_repository", "check_schedule", "check_stack_name", "check_tags", "deployer_trust_policy_for",
    "environment_document_for", "fleet_accounts", "full_config_key", "github_repository", "oidc_subject_for",
    "organization_stack_name", "session_name_for", "stack_config_for",
]
