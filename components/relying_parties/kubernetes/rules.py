"""Rules and builders for Kubernetes clusters that trust AWS roles through a JWT authenticator.

The builders compute the authenticator (the ``jwt[]`` entry of an ``AuthenticationConfiguration``)
and the whole configuration file, so the component, the stack, the policy pack and the tests share
one definition. The rules take plain values and return :class:`~components.rules.Violation` lists.

What the authenticator says, for the roles of one AWS account:

- ``issuer``: the account issuer, exactly, and ONE audience (no ``audienceMatchPolicy``: Kubernetes
  wants it empty or MatchAny for a single audience, and AKS has no such field);
- ``claimValidationRules``: the token carries AWS's nested claims, its ``aws_account`` is the
  account (``claims["https://sts.amazonaws.com/"].aws_account``: the claim name is no identifier, so
  it is read by index), and its ``sub`` is one of the trusted role ARNs, exactly;
- ``claimMappings.username``: ``<prefix><account>:<role name>``, e.g. ``aws:123456789012:exporter``
  (role names are unique per account whatever their path); an expression, so no ``prefix`` field;
- ``claimMappings.groups`` (when asked): ``<prefix><tag key>:<tag value>`` from one principal tag.

The prefix may not be empty, may not be ``system:`` and may not overlap another authenticator's
prefix: a username from one authenticator must never be a name another one (or Kubernetes) hands out.

Example::

    >>> mapped_username("arn:aws:iam::123456789012:role/teams/exporter", "aws:")
    'aws:123456789012:exporter'
    >>> audience_for({"cluster_name": "prod-eu"})
    'kubernetes:prod-eu'
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from ...rules import (
    WARNING,
    Violation,
    check_count,
    check_length,
    check_unique,
    has_whitespace,
    is_plain,
)
from ...rules import aws as aws_rules
from ...rules.cel_text import pins_on_every_path
from ...rules.facts import AWS_CLAIMS
from .facts import (
    AKS_PREFIX,
    API_VERSIONS,
    CLUSTER_NAME_PATTERN,
    DEFAULT_AKS_USERNAME_PREFIX,
    DEFAULT_AUDIENCE_PREFIX,
    DEFAULT_USERNAME_PREFIX,
    GA_API_VERSION,
    KIND,
    MATCH_ANY,
    MAX_PREFIX_LENGTH,
    NAMESPACE_PATTERN,
    PREFIX_PATTERN,
    RBAC_NAME_PATTERN,
    RESERVED_USER_PREFIX,
)

# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the component, the stack, the pack and the tests)
# ---------------------------------------------------------------------------------------------


def cel_string(text: str) -> str:
    """A CEL string literal: double-quoted (so the YAML file can single-quote the whole expression without
    doubling anything), backslashes and quotes escaped (role paths may hold both)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


AWS = f"claims[{cel_string(AWS_CLAIMS)}]"
"""AWS's nested claims, read by index: the claim name is a URL, not an identifier."""


def audience_for(settings: Mapping[str, Any]) -> str:
    """THE audience rule: the ``aud`` a trusted role requests and the cluster accepts.

    The ``audience`` setting, else ``kubernetes:<clusterName>``: one audience per cluster, so a token
    minted for one cluster is refused by every other.
    """
    return settings.get("audience") or f"{DEFAULT_AUDIENCE_PREFIX}{settings.get('cluster_name')}"


def username_prefix_for(settings: Mapping[str, Any]) -> str:
    """The ``username_prefix`` setting, else ``aws:`` (``aks:jwt:aws:`` on AKS, which requires ``aks:jwt:``)."""
    if settings.get("username_prefix"):
        return settings["username_prefix"]
    return DEFAULT_AKS_USERNAME_PREFIX if settings.get("aks_resource_group_name") else DEFAULT_USERNAME_PREFIX


def mapped_username(role_arn: str, prefix: str) -> str:
    """The username a role's tokens map to: what :func:`username_expression` gives for its ``sub``."""
    parsed = aws_rules.parse_role_arn(role_arn)
    if parsed is None:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN")
    return f"{prefix}{parsed.account_id}:{parsed.name}"


def group_name(prefix: str, tag_key: str, tag_value: str) -> str:
    """The group a principal tag maps to: ``<prefix><tag key>:<tag value>``."""
    return f"{prefix}{tag_key}:{tag_value}"


def username_expression(prefix: str) -> str:
    """CEL for ``<prefix><account>:<role name>`` from ``sub``.

    A role ARN is ``arn:<partition>:iam::<account>:role<path><name>``: the partition holds no ``:``,
    so the account is the 5th ``:``-separated field whatever the path holds, and the name (never a
    ``/``) is what follows the last ``/``. ``split`` is the CEL strings extension Kubernetes provides.
    """
    return (f'{cel_string(prefix)} + claims.sub.split(":")[4] + ":" + '
            'claims.sub.split("/")[size(claims.sub.split("/")) - 1]')


def groups_expression(prefix: str, tag_key: str) -> str:
    """CEL for one group from a principal tag, or none (``[]``) when the role has no such tag."""
    tags = f'{AWS}["principal_tags"]'
    return (f'"principal_tags" in {AWS} && {cel_string(tag_key)} in {tags}'
            f" ? [{cel_string(prefix + tag_key + ':')} + {tags}[{cel_string(tag_key)}]] : []")


def claim_validation_rules(aws_account_id: str, role_arns: Sequence[str]) -> list[dict[str, str]]:
    """The account pin and the exact roles; every rule must be true for a token to get in."""
    roles = ", ".join(cel_string(arn) for arn in dict.fromkeys(role_arns))
    return [
        {"expression": f'{cel_string(AWS_CLAIMS)} in claims && "aws_account" in {AWS}'
                       f" && {AWS}.aws_account == {cel_string(aws_account_id)}",
         "message": f"the token must come from AWS account {aws_account_id}"},
        {"expression": f"claims.sub in [{roles}]",
         "message": "the token must be one of a trusted role"},
    ]


def authenticator(issuer: str, audience: str, aws_account_id: str, role_arns: Sequence[str], prefix: str,
                  groups_tag: str | None = None) -> dict[str, Any]:
    """One JWT authenticator (a ``jwt[]`` entry), in Kubernetes' field names."""
    mappings: dict[str, Any] = {"username": {"expression": username_expression(prefix)}}
    if groups_tag:
        mappings["groups"] = {"expression": groups_expression(prefix, groups_tag)}
    return {
        "issuer": {"url": issuer, "audiences": [audience]},
        "claimValidationRules": claim_validation_rules(aws_account_id, role_arns),
        "claimMappings": mappings,
    }


def authentication_configuration(authenticators: Sequence[Mapping[str, Any]],
                                 api_version: str = GA_API_VERSION) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": KIND, "jwt": [dict(a) for a in authenticators]}


def render_yaml(configuration: Mapping[str, Any]) -> str:
    """The configuration as the YAML file kube-apiserver's ``--authentication-config`` reads."""
    import yaml

    return yaml.safe_dump(dict(configuration), sort_keys=False, width=1_000_000, allow_unicode=False)


def aks_properties(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An authenticator in azure-native's ``JWTAuthenticatorPropertiesArgs`` shape (snake_case)."""
    mappings = entry.get("claimMappings") or {}
    properties: dict[str, Any] = {
        "issuer": {"url": entry["issuer"]["url"], "audiences": list(entry["issuer"]["audiences"])},
        "claim_validation_rules": [dict(rule) for rule in entry.get("claimValidationRules") or []],
        "claim_mappings": {"username": {"expression": mappings["username"]["expression"]}},
    }
    for key in ("groups", "uid"):
        if mappings.get(key):
            properties["claim_mappings"][key] = {"expression": mappings[key]["expression"]}
    return properties


def authenticator_of_aks(properties: Mapping[str, Any]) -> dict[str, Any]:
    """An azure-native ``JWTAuthenticator``'s properties (as the engine records them, camelCase)
    in Kubernetes' field names, to judge like any other authenticator."""
    mappings = properties.get("claimMappings") or {}
    found: dict[str, Any] = {
        "issuer": dict(properties.get("issuer") or {}),
        "claimValidationRules": list(properties.get("claimValidationRules") or []),
        "claimMappings": {key: dict(mappings[key]) for key in ("username", "groups", "uid") if mappings.get(key)},
        "userValidationRules": list(properties.get("userValidationRules") or []),
    }
    if mappings.get("extra"):
        found["claimMappings"]["extra"] = [dict(e) for e in mappings["extra"]]
    return found


def aks_authenticator_name(name: str) -> str:
    """A JWT authenticator name from the component name: lowercase letters, digits and ``-``, at most 63."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "aws"
    return slug[:63].rstrip("-")


def static_prefix(expression: Any) -> str | None:
    """The literal a username or group expression starts with (``'aws:' + ...`` gives ``aws:``).

    None when the expression does not start with a string literal followed by ``+`` (or is only
    that literal): then nothing guarantees a prefix.
    """
    if not isinstance(expression, str):
        return None
    match = re.match(r"""\s*(?:\[\s*)?(['"])((?:\\.|(?!\1).)*)\1\s*(\+|$)""", expression)
    if match is None:
        return None
    return re.sub(r"\\(.)", r"\1", match.group(2))


def mapping_prefix(mapping: Any) -> str | None:
    """The fixed prefix of a ``username``/``groups`` mapping: ``prefix`` with ``claim``, or the leading
    literal of ``expression``. None when there is none that can be told."""
    if not isinstance(mapping, Mapping):
        return None
    if mapping.get("claim"):
        return mapping.get("prefix")
    return static_prefix(mapping.get("expression"))


def prefixes_overlap(one: str, other: str) -> bool:
    """Two namespaces collide when one prefix starts the other (``aws:`` and ``aws:prod:``)."""
    return one.startswith(other) or other.startswith(one)


_ACCOUNT_PIN = re.compile(r"""aws_account['"]?\]?\s*==\s*['"]\d{12}['"]|['"]\d{12}['"]\s*==\s*\S*aws_account"""
                          r"""|aws_account['"]?\]?\s*in\s*\[\s*['"]\d{12}""")
_ROLE_PIN = re.compile(r"""claims(\.sub|\[['"]sub['"]\])\s*(==|in)\s*""")


def _pins(expression: str, pattern: re.Pattern) -> bool:
    """Does this expression hold only when ``pattern``'s comparison holds (on every ``||`` path)?"""
    return pins_on_every_path(expression, lambda clause: bool(pattern.search(clause)))


def rules_pin_account(rules: Sequence[Any]) -> bool:
    """Some claim validation rule compares ``aws_account`` with a 12-digit account on every path
    (rules are ANDed, so one such rule pins the authenticator)."""
    return any(isinstance(r, Mapping) and isinstance(r.get("expression"), str) and _pins(r["expression"], _ACCOUNT_PIN)
               for r in rules)


def rules_pin_roles(rules: Sequence[Any]) -> bool:
    return any(isinstance(r, Mapping) and isinstance(r.get("expression"), str) and _pins(r["expression"], _ROLE_PIN)
               for r in rules)


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def check_cluster_name(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not CLUSTER_NAME_PATTERN.match(value):
        return [Violation(field, value, "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or "
                                        "digit (for AKS, the managed cluster's name)", code="kubernetes.cluster-name.format")]
    return []


def check_audience(value: Any, field: str) -> list[Violation]:
    """One audience, compared exactly by kube-apiserver: no whitespace, no wildcard, at most 1000 characters."""
    return aws_rules.check_exact_audience(value, field, who="the API server", code="kubernetes.audience")


def check_audiences(audiences: Any, match_policy: Any, field: str) -> list[Violation]:
    """A hand-written authenticator's ``issuer.audiences``: non-empty, exact, distinct; MatchAny with several."""
    found = check_count(audiences, field, 1, 10_000, "audiences", code="kubernetes.audiences")
    if found:
        return found
    for index, audience in enumerate(audiences):
        found += check_audience(audience, f"{field}[{index}]")
    found += check_unique([a for a in audiences if isinstance(a, str)], field, "audience", code="kubernetes.audiences")
    if len(audiences) > 1 and match_policy != MATCH_ANY:
        found.append(Violation(field, audiences, f"lists several audiences: Kubernetes then requires "
                                                 f"audienceMatchPolicy: {MATCH_ANY}", code="kubernetes.audiences.match-policy"))
    return found


def check_api_version(value: Any, field: str) -> list[Violation]:
    if value not in API_VERSIONS:
        known = "; ".join(f"{version} ({what})" for version, what in API_VERSIONS.items())
        return [Violation(field, value, f"is not an AuthenticationConfiguration apiVersion: use one of {known}",
                          code="kubernetes.api-version.unknown")]
    return []


def check_prefix(value: Any, field: str, aks: bool = False) -> list[Violation]:
    """A username prefix: not empty, not ``system:``, ending with a separator (``aws:``); ``aks:jwt:...`` on AKS."""
    if value == "" or value is None:
        return [Violation(field, value, "must not be empty: unprefixed usernames can collide with every other "
                                        "authenticator's users and with Kubernetes' own", code="kubernetes.prefix.empty")]
    found = check_length(value, field, 1, MAX_PREFIX_LENGTH, "a username prefix", code="kubernetes.prefix")
    if found:
        return found
    if value.startswith(RESERVED_USER_PREFIX) or RESERVED_USER_PREFIX.startswith(value):
        found.append(Violation(field, value, f"overlaps {RESERVED_USER_PREFIX!r}, which Kubernetes reserves for its own "
                                             "users and groups", code="kubernetes.prefix.reserved"))
    elif not PREFIX_PATTERN.match(value):
        found.append(Violation(field, value, "must be letters, digits and . _ : / @ -, ending with ':', '/' or '-' "
                                             "(e.g. aws:), so no other name runs into it", code="kubernetes.prefix.format"))
    if aks and not value.startswith(AKS_PREFIX):
        found.append(Violation(field, value, f"must start with {AKS_PREFIX!r}: AKS refuses JWT authenticators whose "
                                             f"usernames and groups do not (e.g. {DEFAULT_AKS_USERNAME_PREFIX})",
                               code="kubernetes.prefix.aks"))
    return found


def check_other_prefixes(prefix: Any, others: Any, field: str, prefix_field: str) -> list[Violation]:
    """The cluster's other authenticators' prefixes: ours must neither start one nor start with one."""
    found = check_count(others, field, 0, 64, "username prefixes", code="kubernetes.other-prefixes")
    if found or not isinstance(prefix, str):
        return found
    for index, other in enumerate(others):
        if not isinstance(other, str) or not other:
            found.append(Violation(f"{field}[{index}]", other, "must be a non-empty prefix another authenticator gives "
                                                               "its usernames", code="kubernetes.other-prefixes.type"))
        elif prefixes_overlap(prefix, other):
            found.append(Violation(prefix_field, prefix, f"collides with {other!r}, the prefix of another authenticator of "
                                                         "this cluster: their usernames would share one namespace",
                                   code="kubernetes.prefix.collision"))
    return found


def check_tag_key(value: Any, field: str) -> list[Violation]:
    """A principal tag key to take groups from: an AWS tag key (the token carries the role's tags)."""
    return aws_rules.check_tag_key(value, field)


def role_binding(binding: Mapping[str, Any]) -> dict[str, Any]:
    """A role binding with snake_case keys, whether it came from stack config (``clusterRole``) or Python."""
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).lower(): value for key, value in binding.items()}


def check_role_bindings(bindings: Any, field: str, groups_tag: Any, spell=str) -> list[Violation]:
    """``[{clusterRole, namespace?, group?}]``: a ClusterRoleBinding, or a RoleBinding in ``namespace``, to the
    mapped users (or to the group of the principal tag value ``group``)."""
    found = check_count(bindings, field, 0, 100, "role bindings", code="kubernetes.role-bindings")
    if found:
        return found
    seen = set()
    for index, binding in enumerate(bindings):
        where = f"{field}[{index}]"
        if not isinstance(binding, Mapping):
            found.append(Violation(where, binding, "must be a map: {clusterRole: view, namespace: reports}",
                                   code="kubernetes.role-binding.type"))
            continue
        binding = role_binding(binding)
        unknown = sorted(set(binding) - {"cluster_role", "namespace", "group"})
        for key in unknown:
            found.append(Violation(f"{where}.{spell(key)}", binding[key], "is not a role binding setting (clusterRole, "
                                                                          "namespace, group)", code="kubernetes.role-binding.unknown"))
        role = binding.get("cluster_role")
        if not isinstance(role, str) or not RBAC_NAME_PATTERN.match(role):
            found.append(Violation(f"{where}.{spell('cluster_role')}", role, "must name a ClusterRole (view, edit, ...)",
                                   code="kubernetes.role-binding.cluster-role"))
        namespace = binding.get("namespace")
        if namespace is not None and (not isinstance(namespace, str) or not NAMESPACE_PATTERN.match(namespace)):
            found.append(Violation(f"{where}.namespace", namespace, "must be a namespace name (an RFC 1123 label)",
                                   code="kubernetes.role-binding.namespace"))
        group = binding.get("group")
        if group is not None:
            if not groups_tag:
                found.append(Violation(f"{where}.group", group, f"binds a group, but no groups are mapped: set "
                                                                f"{spell('groups_from_principal_tag')}",
                                       code="kubernetes.role-binding.no-groups"))
            elif not isinstance(group, str) or not group or has_whitespace(group):
                found.append(Violation(f"{where}.group", group, "must be a principal tag value", code="kubernetes.role-binding.group"))
        key = (role, namespace, group)
        if key in seen:
            found.append(Violation(where, binding, "is listed twice", code="kubernetes.role-binding.duplicate"))
        seen.add(key)
    return found


def check_output_file(value: Any, field: str) -> list[Violation]:
    found = check_length(value, field, 1, 4096, "a file path", code="kubernetes.output-file")
    if not found and value.endswith(("/", "\\")):
        found.append(Violation(field, value, "must name a file, not a directory", code="kubernetes.output-file.directory"))
    return found


def check_trusted_role(arn: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """A trusted subject: a role ARN (of ``aws_account_id`` when it is known)."""
    if isinstance(aws_account_id, str) and not aws_rules.check_account_id(aws_account_id, field):
        return aws_rules.check_subject_account(arn, aws_account_id, field)
    return aws_rules.check_role_arn(arn, field)


def check_distinct_users(subjects: Mapping[str, Any], field: str) -> list[Violation]:
    """Two labels must not trust one role (the same ARN, or the same name under another path)."""
    found, seen = [], {}
    for label, arn in subjects.items():
        parsed = aws_rules.parse_role_arn(arn)
        if parsed is None:
            continue
        key = (parsed.account_id, parsed.name)
        if key in seen:
            found.append(Violation(f"{field}.{label}", arn, f"maps to the same Kubernetes user as {seen[key]!r}: IAM role "
                                                            "names are unique per account", code="kubernetes.subjects.same-user"))
        else:
            seen[key] = label
    return found


def check_subjects(subjects: Any, aws_account_id: Any, field: str) -> list[Violation]:
    if not isinstance(subjects, Mapping):
        return [Violation(field, "<Output>" if not is_plain(subjects) else subjects,
                          "must be a plain map of label to role ARN (the ARNs may be Outputs)", code="kubernetes.subjects.type")]
    if not subjects:
        return [Violation(field, "0 subjects", "needs at least one label -> role ARN", code="kubernetes.subjects.empty")]
    account = aws_account_id if is_plain(aws_account_id) else None
    found = []
    for label, arn in subjects.items():
        if is_plain(arn):
            found += check_trusted_role(arn, account, f"{field}.{label}")
    return found + check_distinct_users({k: v for k, v in subjects.items() if is_plain(v)}, field)


def check_cel(expressions: Mapping[str, str], field: str) -> list[Violation]:
    """Every expression parses as CEL (cel-python): the API server refuses a file whose CEL does not compile."""
    from .cel import KubernetesCel

    cel = KubernetesCel()
    found = []
    for where, expression in expressions.items():
        try:
            cel.check(expression)
        except cel.CelError as error:
            found.append(Violation(f"{field}.{where}", expression, f"is not valid CEL: {error}", code="kubernetes.cel.invalid"))
    return found


def authenticator_expressions(entry: Mapping[str, Any]) -> dict[str, str]:
    """Where -> CEL expression, for every expression of an authenticator."""
    found = {}
    for index, rule in enumerate(entry.get("claimValidationRules") or []):
        if isinstance(rule, Mapping) and rule.get("expression"):
            found[f"claimValidationRules[{index}].expression"] = rule["expression"]
    mappings = entry.get("claimMappings") or {}
    for key in ("username", "groups", "uid"):
        if isinstance(mappings.get(key), Mapping) and mappings[key].get("expression"):
            found[f"claimMappings.{key}.expression"] = mappings[key]["expression"]
    for index, extra in enumerate(mappings.get("extra") or []):
        if isinstance(extra, Mapping) and extra.get("valueExpression"):
            found[f"claimMappings.extra[{index}].valueExpression"] = extra["valueExpression"]
    for index, rule in enumerate(entry.get("userValidationRules") or []):
        if isinstance(rule, Mapping) and rule.get("expression"):
            found[f"userValidationRules[{index}].expression"] = rule["expression"]
    return found


def check_configuration(configuration: Mapping[str, Any], field: str) -> list[Violation]:
    """A rendered AuthenticationConfiguration: one authenticator per issuer, exact audiences, CEL that compiles."""
    found = check_api_version(configuration.get("apiVersion"), f"{field}.apiVersion")
    entries = configuration.get("jwt") or []
    issuers: dict[Any, int] = {}
    for index, entry in enumerate(entries):
        where = f"{field}.jwt[{index}]"
        issuer = (entry.get("issuer") or {}).get("url")
        if issuer in issuers:
            found.append(Violation(f"{where}.issuer.url", issuer, f"is also the issuer of jwt[{issuers[issuer]}]: "
                                                                  "Kubernetes takes one authenticator per issuer",
                                   code="kubernetes.configuration.duplicate-issuer"))
        issuers.setdefault(issuer, index)
        found += aws_rules.check_issuer(issuer, f"{where}.issuer.url")
        found += check_audiences((entry.get("issuer") or {}).get("audiences"),
                                 (entry.get("issuer") or {}).get("audienceMatchPolicy"), f"{where}.issuer.audiences")
        found += check_cel(authenticator_expressions(entry), where)
    return found


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


# Arguments that decide the audience, the names and the rendered file, so they must be known at preview.
PLAIN_ONLY_FIELDS = ("cluster_name", "audience", "api_version", "username_prefix", "groups_from_principal_tag",
                     "other_username_prefixes", "role_bindings", "output_file")


def check_kubernetes_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a KubernetesClusterTrust's plain inputs; Output-valued inputs are checked on resolve."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key, what in (("cluster_name", "a name for the cluster (for AKS, the managed cluster's name)"),
                      ("issuer", "the AWS account issuer (AccountFederation.issuer)"),
                      ("aws_account_id", "the 12-digit AWS account the issuer belongs to")):
        if not _present(args, key):
            found.append(Violation(field(key), None, f"is required: {what}", code="kubernetes.args.missing"))
    for key in PLAIN_ONLY_FIELDS:
        if args.get(key) is not None and not is_plain(args[key]):
            found.append(Violation(field(key), "<Output>", "must be a plain value written in the program or config, not an "
                                                           "Output: it decides the audience, names or the rendered file at preview",
                                   code="kubernetes.args.output"))
    plain = {key: value for key, value in args.items() if value is not None and is_plain(value)}
    aks = _present(args, "aks_resource_group_name")
    checks = {
        "cluster_name": check_cluster_name,
        "issuer": aws_rules.check_issuer,
        "aws_account_id": aws_rules.check_account_id,
        "audience": check_audience,
        "api_version": check_api_version,
        "groups_from_principal_tag": check_tag_key,
        "output_file": check_output_file,
    }
    for key, check in checks.items():
        if key in plain:
            found += check(plain[key], field(key))
    prefix_value = username_prefix_for(plain)
    if args.get("username_prefix") is not None and is_plain(args["username_prefix"]):
        found += check_prefix(args["username_prefix"], field("username_prefix"), aks)
    if "other_username_prefixes" in plain:
        found += check_other_prefixes(prefix_value, plain["other_username_prefixes"], field("other_username_prefixes"),
                                      field("username_prefix"))
    if "role_bindings" in plain:
        found += check_role_bindings(plain["role_bindings"], field("role_bindings"), plain.get("groups_from_principal_tag"),
                                     spell)
        if plain["role_bindings"] and not _present(args, "kubeconfig"):
            found.append(Violation(field("role_bindings"), plain["role_bindings"],
                                   f"need {spell('kubeconfig')}: the bindings are made in the cluster through it",
                                   code="kubernetes.role-bindings.no-kubeconfig"))
    if _present(args, "kubeconfig") and not _present(args, "role_bindings"):
        found.append(Violation(field("kubeconfig"), "<kubeconfig>", f"is only used for {spell('role_bindings')}, and none are "
                                                                    "given", WARNING, code="kubernetes.kubeconfig.unused"))
    if aks and "output_file" in plain:
        found.append(Violation(field("output_file"), plain["output_file"], f"is for self-managed clusters: with "
                                                                          f"{spell('aks_resource_group_name')} AKS holds the "
                                                                          "authenticator", code="kubernetes.output-file.aks"))
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of label to trusted role ARN",
                               code="kubernetes.subjects.missing"))
    else:
        found += check_subjects(args["subjects"], args.get("aws_account_id"), field("subjects"))
    return found


__all__ = [
    "AWS", "aks_authenticator_name", "aks_properties", "audience_for", "authentication_configuration", "authenticator",
    "authenticator_expressions", "authenticator_of_aks", "cel_string", "check_api_version", "check_audience",
    "check_audiences", "check_cel", "check_cluster_name", "check_configuration", "check_kubernetes_trust_args",
    "check_other_prefixes", "check_prefix", "check_role_bindings", "check_subjects", "claim_validation_rules",
    "group_name", "groups_expression", "mapped_username", "mapping_prefix", "prefixes_overlap", "render_yaml",
    "rules_pin_account", "rules_pin_roles", "static_prefix", "username_expression", "username_prefix_for",
]
