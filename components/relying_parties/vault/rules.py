"""Rules and builders for Vault (or OpenBao) JWT auth mounts that trust AWS roles.

The rules take plain values and return :class:`~components.rules.Violation` lists. The builders
compute what the component creates (the mount path, the audience, each role's bound claims and
claim mappings), so the component, the stack, the policy pack and the rehearsal share one
definition.

What Vault does with a role, as measured on a real OpenBao 2.7.2 server:

- ``bound_issuer`` unset: ``iss`` is not checked at all, whatever trusted key signed the token;
- claims nested under ``https://sts.amazonaws.com/`` are reached by JSON pointers whose segments
  are escaped (``/`` as ``~1``): ``/https:~1~1sts.amazonaws.com~1/aws_account``. An unescaped
  pointer is accepted when the role is written and never matches;
- a claim mapping of a list or an object (``ou_path``, ``principal_tags``, ``aud``) breaks every
  login to the role;
- ``role_type`` defaults to ``oidc``, which refuses every JWT login.

pulumi-vault writes ``bound_claims`` values as lists: it splits each value on commas (and trims
spaces) unless ``disable_bound_claims_parsing`` is set. :func:`provider_bound_claims` chooses the
switch so that what reaches Vault is exactly what was meant.

Example::

    >>> aws_pointer("aws_account")
    '/https:~1~1sts.amazonaws.com~1/aws_account'
    >>> vault_audience("https://vault.example.com:8200", "aws-dev-exporter")
    'https://vault.example.com:8200/v1/auth/aws-dev-exporter'
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from ...rules import (
    WARNING,
    Violation,
    check_count,
    check_int_range,
    has_whitespace,
    is_plain,
    whole_number,
)
from ...rules import aws as aws_rules
from ...rules.facts import AWS_CLAIMS
from .facts import (
    ARRAY_OR_OBJECT_AWS_CLAIMS,
    AWS_CLAIMS_POINTER,
    BOUND_CLAIMS_TYPES,
    DEFAULT_CLAIM_MAPPINGS,
    DEFAULT_MOUNT_PREFIX,
    DEFAULT_POLICY,
    DEFAULT_TOKEN_TTL_SECONDS,
    MAX_POLICIES,
    MAX_TOKEN_TTL_SECONDS,
    METADATA_KEY_PATTERN,
    MIN_TOKEN_TTL_SECONDS,
    MOUNT_PATH_PATTERN,
    NON_SCALAR_TOP_LEVEL_CLAIMS,
    ORG_ID_PATTERN,
    OU_PATH_PATTERN,
    POLICY_NAME_PATTERN,
    RESERVED_METADATA_KEYS,
    RESERVED_MOUNT_PATHS,
    ROLE_NAME_PATTERN,
    TOKEN_ROOT_POLICY,
)

# ---------------------------------------------------------------------------------------------
# JSON pointers (RFC 6901), the way Vault reads claim keys
# ---------------------------------------------------------------------------------------------


def escape_segment(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def aws_pointer(*path: str) -> str:
    """The pointer Vault needs for a claim nested under ``https://sts.amazonaws.com/``.

    >>> aws_pointer("principal_tags", "Team")
    '/https:~1~1sts.amazonaws.com~1/principal_tags/Team'
    """
    return AWS_CLAIMS_POINTER + "".join("/" + escape_segment(part) for part in path)


ACCOUNT_POINTER = aws_pointer("aws_account")
ORG_ID_POINTER = aws_pointer("org_id")
OU_PATH_POINTER = aws_pointer("ou_path")
SUB_KEYS = ("sub", "/sub")


def pointer_segments(pointer: str) -> list[str] | None:
    """The unescaped segments of a well-formed pointer, or None.

    Well-formed here means what Vault can match: it starts with ``/``, every ``~`` is ``~0`` or
    ``~1``, and no segment is empty (an empty segment is what an unescaped ``https://`` leaves).
    """
    if not isinstance(pointer, str) or not pointer.startswith("/") or pointer == "/":
        return None
    segments = []
    for raw in pointer[1:].split("/"):
        if not raw:
            return None
        index = raw.find("~")
        while index != -1:
            if raw[index + 1: index + 2] not in ("0", "1"):
                return None
            index = raw.find("~", index + 2)
        segments.append(raw.replace("~1", "/").replace("~0", "~"))
    return segments


def claim_at(claims: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """(found, value) of a claim key as Vault reads it: a pointer when it starts with ``/``, else a
    top-level claim name. Vault unescapes pointers without checking them, so this does too."""
    if not key.startswith("/"):
        return (key in claims, claims.get(key))
    value: Any = claims
    for raw in key[1:].split("/"):
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return False, None
    return True, value


def is_non_scalar_aws_claim(key: str) -> bool:
    """Does this claim key name one of AWS's list or object claims (or the namespace itself)?"""
    if key in NON_SCALAR_TOP_LEVEL_CLAIMS or key in ("/aud", AWS_CLAIMS_POINTER):
        return True
    segments = pointer_segments(key)
    if segments and segments[0] == AWS_CLAIMS:
        return len(segments) == 1 or (len(segments) == 2 and segments[1] in ARRAY_OR_OBJECT_AWS_CLAIMS)
    return False


def unescaped_aws_pointer(key: str) -> bool:
    """A key that writes AWS's namespace without escaping it: Vault takes it and never matches it."""
    return isinstance(key, str) and "sts.amazonaws.com/" in key and "~1" not in key


# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the component, the stack, the pack and the rehearsal)
# ---------------------------------------------------------------------------------------------


def default_mount_path(name: str) -> str:
    """The mount a trust creates when it names none: one per trust, so roles never collide."""
    return f"{DEFAULT_MOUNT_PREFIX}{name}"


def mount_path_of(name: str, settings: Mapping[str, Any]) -> str:
    """The mount the roles live on: the existing one, the one to create, or the default."""
    return settings.get("existing_mount_path") or settings.get("mount_path") or default_mount_path(name)


def vault_audience(address: str, mount_path: str, audience: str | None = None) -> str:
    """THE audience rule: what the AWS role pins and requests, and the role's ``bound_audiences``.

    An explicit ``audience`` wins; otherwise the mount's login URL, so a token for one mount (or
    one Vault) is no good at another.
    """
    if audience:
        return audience
    return f"{address.rstrip('/')}/v1/auth/{mount_path.strip('/')}"


def as_values(value: Any) -> list[Any]:
    """A bound claim's allowed values as a list (config may give one string)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def role_bound_claims(aws_account_id: str, org_id: str | None = None, ou_paths: Sequence[str] | None = None,
                      extra: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Each role's bound claims, key -> allowed values: the account always, then the optional pins."""
    claims: dict[str, list[str]] = {ACCOUNT_POINTER: [aws_account_id]}
    if org_id:
        claims[ORG_ID_POINTER] = [org_id]
    if ou_paths:
        claims[OU_PATH_POINTER] = list(as_values(ou_paths))
    for key, value in (extra or {}).items():
        claims[key] = as_values(value)
    return claims


def provider_bound_claims(claims: Mapping[str, Sequence[str]]) -> tuple[dict[str, str], bool]:
    """``(bound_claims, disable_bound_claims_parsing)`` for pulumi-vault, so Vault gets exactly ``claims``.

    pulumi-vault takes one string per claim and splits it on commas unless parsing is disabled.
    With one value per claim, parsing is disabled and a comma inside a value (a role name may hold
    one) stays literal; with several values for some claim, they are joined with commas and
    parsing stays on (:func:`check_bound_claims` refuses a comma inside any value then).

    >>> provider_bound_claims({"/a": ["x,y"]})
    ({'/a': 'x,y'}, True)
    >>> provider_bound_claims({"/a": ["x", "y"], "/b": ["z"]})
    ({'/a': 'x,y', '/b': 'z'}, False)
    """
    several = any(len(values) > 1 for values in claims.values())
    return {key: ",".join(values) for key, values in claims.items()}, not several


def written_bound_claims(bound_claims: Mapping[str, Any] | None, disable_parsing: Any) -> dict[str, list[str]]:
    """What pulumi-vault writes to Vault for these inputs: each value split on commas and trimmed,
    or only trimmed when parsing is disabled (the Terraform provider's ``jwtAuthBackendRoleDataToWrite``)."""
    written: dict[str, list[str]] = {}
    for key, value in (bound_claims or {}).items():
        text = value if isinstance(value, str) else str(value)
        written[key] = [text.strip()] if disable_parsing else [part.strip() for part in text.split(",")]
    return written


IDENTITY_CLAIMS = ("aws_account", "principal_id")
"""Nested claims that say who the token is for: a rehearsal varies them, never assumes them."""
LIST_CLAIMS = ("ou_path",)


def account_claims(bound_claims: Mapping[str, Sequence[str]], glob: bool = False) -> dict[str, Any]:
    """The nested AWS claims a role pins that only the real account can show (its ``org_id``, ``ou_path``,
    a principal tag...), with a value that satisfies the pin: the first allowed value (under glob, with
    its ``*`` matching nothing). Not the account or the principal, which say who the token is for.

    >>> account_claims({aws_pointer("org_id"): ["o-a1b2c3d4e5"], aws_pointer("ou_path"): ["o-a/r-b/*"]}, glob=True)
    {'org_id': 'o-a1b2c3d4e5', 'ou_path': ['o-a/r-b/']}
    """
    found: dict[str, Any] = {}
    for key, values in bound_claims.items():
        segments = pointer_segments(key)
        if not segments or segments[0] != AWS_CLAIMS or len(segments) < 2 or segments[1] in IDENTITY_CLAIMS or not values:
            continue
        value = values[0].replace("*", "") if glob else values[0]
        place = found
        for segment in segments[1:-1]:
            place = place.setdefault(segment, {})
            if not isinstance(place, dict):
                break
        else:
            place[segments[-1]] = [value] if segments[1:] == [LIST_CLAIMS[0]] else value
    return found


def claim_mappings(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each role's claim mappings: the account and region, then the user's (scalar claims only)."""
    mappings = {aws_pointer(claim): target for claim, target in DEFAULT_CLAIM_MAPPINGS}
    mappings.update(extra or {})
    return mappings


def token_policies(policies: Sequence[str]) -> list[str]:
    """The policies a login gets, as Vault reports them: lower case, ``default`` added."""
    names = [DEFAULT_POLICY] + [p.lower() for p in policies]
    return sorted(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def check_address(address: Any, field: str) -> list[Violation]:
    """The Vault address workloads log in to: an http(s) URL with a host, no query or credentials."""
    if not isinstance(address, str) or not address:
        return [Violation(field, address, "must be the Vault address workloads log in to, e.g. "
                                          "https://vault.example.com:8200", code="vault.address.type")]
    if has_whitespace(address):
        return [Violation(field, address, "must not contain whitespace", code="vault.address.whitespace")]
    parts = urlsplit(address)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return [Violation(field, address, "must be an https URL with a host, e.g. https://vault.example.com:8200",
                          code="vault.address.format")]
    found = []
    if parts.query or parts.fragment or parts.username or parts.password:
        found.append(Violation(field, address, "must not carry a query, a fragment or credentials",
                               code="vault.address.extra"))
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        found.append(Violation(
            field, address, "is plain http: the AWS token and the Vault token would cross the network in clear",
            WARNING, code="vault.address.plain-http"))
    return found


def check_mount_path(path: Any, field: str) -> list[Violation]:
    if not isinstance(path, str) or not MOUNT_PATH_PATTERN.match(path):
        return [Violation(field, path, "must be a mount path of letters, digits, '_' and '-' segments, without a "
                                       "leading or trailing slash, e.g. aws-jwt", code="vault.mount-path.format")]
    if path in RESERVED_MOUNT_PATHS:
        return [Violation(field, path, "is Vault's own token auth method", code="vault.mount-path.reserved")]
    return []


def check_audience(audience: Any, field: str) -> list[Violation]:
    """The audience the roles bind: an audience AWS can put in a token (1-1000 characters, exact)."""
    return [Violation(field, audience, v.rule, v.severity, code=v.code)
            for v in aws_rules.check_audiences([audience], field)]


def check_policies(policies: Any, field: str) -> list[Violation]:
    """Vault policy names for the tokens: at least one, never ``root``, no commas or whitespace."""
    found = check_count(policies, field, 1, MAX_POLICIES, "Vault policy names", code="vault.policies")
    if not isinstance(policies, (list, tuple)):
        return found
    for index, policy in enumerate(policies):
        where = f"{field}[{index}]"
        if not is_plain(policy):
            continue  # a policy's name from a vault.Policy: checked by Vault when the role is written
        if not isinstance(policy, str) or not POLICY_NAME_PATTERN.match(policy):
            found.append(Violation(where, policy, "must be a Vault policy name (no whitespace or commas)",
                                   code="vault.policy.format"))
        elif policy.lower() == TOKEN_ROOT_POLICY:
            found.append(Violation(where, policy, "is Vault's root policy: no auth method may hand it out, and "
                                                  "Vault refuses every login to a role that names it",
                                   code="vault.policy.root"))
        elif policy != policy.lower():
            found.append(Violation(where, policy, f"is not lower case: Vault lower-cases policy names, so the token "
                                                  f"gets {policy.lower()!r}", WARNING, code="vault.policy.case"))
    lowered = [p.lower() for p in policies if isinstance(p, str)]
    found += [Violation(f"{field}[{i}]", p, "is listed twice (Vault compares policy names in lower case)",
                        code="vault.policies.duplicate")
              for i, p in enumerate(lowered) if p in lowered[:i]]
    return found


def check_token_ttls(ttl: Any, max_ttl: Any, field_ttl: str, field_max: str) -> list[Violation]:
    found = []
    for value, where in ((ttl, field_ttl), (max_ttl, field_max)):
        if value is not None:
            found += check_int_range(value, where, MIN_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS,
                                     "a Vault token lifetime in seconds", code="vault.token-ttl")
    if not found and ttl is not None and max_ttl is not None and whole_number(ttl) > whole_number(max_ttl):
        found.append(Violation(field_ttl, ttl, f"is longer than {field_max} ({max_ttl}): Vault refuses the role",
                               code="vault.token-ttl.over-max"))
    return found


def check_org_id(org_id: Any, field: str) -> list[Violation]:
    if not isinstance(org_id, str) or not ORG_ID_PATTERN.match(org_id):
        return [Violation(field, org_id, "must be an AWS Organizations ID, e.g. o-a1b2c3d4e5", code="vault.org-id.format")]
    return []


def check_ou_paths(paths: Any, glob: bool, field: str) -> list[Violation]:
    """OU paths as AWS writes ``ou_path`` (``o-.../r-.../ou-.../``); ``*`` only with glob matching."""
    found = check_count(as_values(paths), field, 1, 50, "OU paths", code="vault.ou-paths")
    if found:
        return found
    for index, path in enumerate(as_values(paths)):
        where = f"{field}[{index}]"
        if isinstance(path, str) and "*" in path:
            if not glob:
                found.append(Violation(where, path, "has '*', which is literal unless boundClaimsType is glob",
                                       code="vault.ou-path.literal-star"))
            elif not path.startswith("o-") or path.strip("*/") == "":
                found.append(Violation(where, path, "would match any OU path: start it with the organization and "
                                                    "root (o-.../r-.../)", code="vault.ou-path.too-broad"))
        elif not isinstance(path, str) or not OU_PATH_PATTERN.match(path):
            found.append(Violation(where, path, "must be an OU path as AWS writes it, e.g. "
                                                "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", code="vault.ou-path.format"))
    return found


def check_bound_claims_type(value: Any, field: str) -> list[Violation]:
    if value not in BOUND_CLAIMS_TYPES:
        return [Violation(field, value, "must be string (exact, the default) or glob", code="vault.bound-claims-type.value")]
    return []


def check_pointer_key(key: Any, field: str) -> list[Violation]:
    """A claim key Vault can match: a well-formed escaped pointer, or a plain top-level name."""
    if not isinstance(key, str) or not key:
        return [Violation(field, key, "must be a claim name or a JSON pointer", code="vault.claim-key.type")]
    if unescaped_aws_pointer(key):
        segments = key.split("sts.amazonaws.com/", 1)[1].strip("/")
        fixed = aws_pointer(*segments.split("/")) if segments else AWS_CLAIMS_POINTER
        return [Violation(field, key, f"does not escape AWS's claim namespace: Vault never matches it; write {fixed}",
                          code="vault.claim-key.unescaped")]
    if key.startswith("/") and pointer_segments(key) is None:
        return [Violation(field, key, "is not a well-formed JSON pointer (every '~' must be ~0 or ~1, no empty "
                                      "segment): Vault would never find the claim", code="vault.claim-key.pointer")]
    if not key.startswith("/") and "/" in key:
        return [Violation(field, key, "is not a JSON pointer (it does not start with '/'), so Vault reads it as one "
                                      "top-level claim name that no token has", code="vault.claim-key.not-a-pointer")]
    return []


def check_bound_claims(claims: Any, glob: bool, field: str, spell=str) -> list[Violation]:
    """Extra pins: escaped pointers to allowed values (a string or a list). Not ``sub`` (the role pins
    it exactly), not the account, org or OU path (the component pins those from their own settings)."""
    if not isinstance(claims, Mapping):
        return [Violation(field, claims, "must be a map of JSON pointer to allowed value(s)", code="vault.bound-claims.type")]
    found = []
    dedicated = {ACCOUNT_POINTER: "the account (always pinned)", ORG_ID_POINTER: spell("org_id"),
                 OU_PATH_POINTER: spell("ou_paths")}
    several = any(isinstance(v, (list, tuple)) and len(v) > 1 for v in claims.values())
    for key, value in claims.items():
        where = f"{field}.{key}"
        if key in SUB_KEYS:
            found.append(Violation(where, key, "pins sub, which every role already binds exactly (bound_subject): "
                                               "never pin sub here, and never with glob", code="vault.bound-claims.sub"))
            continue
        if key in dedicated:
            found.append(Violation(where, key, f"is set by the component: use {dedicated[key]}",
                                   code="vault.bound-claims.reserved"))
            continue
        found += check_pointer_key(key, where)
        values = as_values(value)
        if not values:
            found.append(Violation(where, value, "needs at least one allowed value", code="vault.bound-claims.empty"))
        for item in values:
            if not isinstance(item, str) or not item or item != item.strip():
                found.append(Violation(where, item, "must be a non-empty string without surrounding spaces "
                                                    "(pulumi-vault trims them)", code="vault.bound-claims.value"))
                continue
            if "*" in item and not glob:
                found.append(Violation(where, item, "has '*', which Vault compares literally unless boundClaimsType "
                                                    "is glob", WARNING, code="vault.bound-claims.literal-star"))
            if glob and item.strip("*") == "":
                found.append(Violation(where, item, "matches every value: it pins nothing",
                                       code="vault.bound-claims.match-all"))
            if several and "," in item:
                found.append(Violation(where, item, "has a comma, and pulumi-vault splits values on commas when a "
                                                    "claim allows several values: it cannot be written",
                                       code="vault.bound-claims.comma"))
    return found


def check_claim_mappings(mappings: Any, field: str) -> list[Violation]:
    """Claim -> metadata key, for scalar claims only; targets unique and not Vault's own ``role``."""
    if not isinstance(mappings, Mapping):
        return [Violation(field, mappings, "must be a map of claim (JSON pointer) to metadata key",
                          code="vault.claim-mappings.type")]
    found = []
    taken = {target: aws_pointer(claim) for claim, target in DEFAULT_CLAIM_MAPPINGS}
    for key, target in mappings.items():
        where = f"{field}.{key}"
        problems = check_pointer_key(key, where)
        found += problems
        if not problems and is_non_scalar_aws_claim(key):
            found.append(Violation(where, key, "is a list or an object in AWS tokens: Vault fails every login to a "
                                               "role that maps it ('error converting claim ... to string'); map one "
                                               "scalar inside it, e.g. .../principal_tags/Team",
                                   code="vault.claim-mappings.non-scalar"))
        if not isinstance(target, str) or not METADATA_KEY_PATTERN.match(target):
            found.append(Violation(where, target, "must be a metadata key (1-128 of letters, digits, '_', '.', '-')",
                                   code="vault.claim-mappings.target"))
        elif target in RESERVED_METADATA_KEYS:
            found.append(Violation(where, target, "is reserved: Vault sets the role metadata itself",
                                   code="vault.claim-mappings.reserved"))
        elif target in taken and taken[target] != key:
            found.append(Violation(where, target, f"is already the metadata key of {taken[target]}: Vault refuses "
                                                  "two claims mapped to one key", code="vault.claim-mappings.duplicate"))
        else:
            taken[target] = key
    return found


def check_role_name(name: Any, field: str) -> list[Violation]:
    if not isinstance(name, str) or not ROLE_NAME_PATTERN.match(name):
        return [Violation(field, name, "must be a Vault role name: letters, digits, '_', '-' and '.', starting and "
                                       "ending with a letter, digit or '_'", code="vault.role-name.format")]
    return []


def check_subjects(subjects: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """Role name -> role ARN. Names must be plain (they name the Vault roles); ARNs may be Outputs."""
    if not isinstance(subjects, Mapping):
        if not is_plain(subjects):
            return [Violation(field, "<Output>", "must be a plain map of role name to role ARN: the names are the "
                                                 "Vault roles, needed at preview", code="vault.subjects.output")]
        return [Violation(field, subjects, "must be a map of Vault role name to AWS role ARN", code="vault.subjects.type")]
    if not subjects:
        return [Violation(field, "0 subjects", "needs at least one role name -> role ARN", code="vault.subjects.empty")]
    found = []
    account = aws_account_id if isinstance(aws_account_id, str) and not aws_rules.check_account_id(aws_account_id, "") \
        else None
    seen: dict[str, str] = {}
    for label, arn in subjects.items():
        where = f"{field}.{label}"
        found += check_role_name(label, where)
        if not is_plain(arn):
            continue
        found += aws_rules.check_subject_account(arn, account, where) if account else aws_rules.check_role_arn(arn, where)
        if isinstance(arn, str) and arn in seen:
            found.append(Violation(where, arn, f"is already trusted as role {seen[arn]!r}: one Vault role per AWS role",
                                   code="vault.subjects.same-role"))
        elif isinstance(arn, str):
            seen[arn] = label
    return found


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


# Decide the mount and the audience: known at preview, so never Outputs.
PLAIN_ONLY_FIELDS = ("address", "mount_path", "existing_mount_path", "audience")


def check_vault_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a VaultJwtTrust's plain inputs; Output-valued inputs are checked on resolve."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key, what in (("address", "the Vault address workloads log in to, e.g. https://vault.example.com:8200"),
                      ("policies", "the Vault policies the tokens get"),
                      ("issuer", "the AWS account issuer (AccountFederation.issuer)"),
                      ("aws_account_id", "the 12-digit AWS account the issuer belongs to")):
        if not _present(args, key):
            found.append(Violation(field(key), None, f"is required: {what}", code="vault.args.missing"))
    for key in PLAIN_ONLY_FIELDS:
        if args.get(key) is not None and not is_plain(args[key]):
            found.append(Violation(field(key), "<Output>", "must be a plain value: the mount and the audience the "
                                                           "AWS role pins are needed at preview", code="vault.args.output"))
    if _present(args, "mount_path") and _present(args, "existing_mount_path"):
        found.append(Violation(field("existing_mount_path"), args["existing_mount_path"],
                               f"cannot be combined with {spell('mount_path')}: give the mount to create or the one "
                               "that exists", code="vault.mount.conflict"))
    glob = args.get("bound_claims_type") == "glob"
    checks = {
        "address": check_address,
        "issuer": aws_rules.check_issuer,
        "aws_account_id": aws_rules.check_account_id,
        "mount_path": check_mount_path,
        "existing_mount_path": check_mount_path,
        "audience": check_audience,
        "policies": check_policies,
        "org_id": check_org_id,
        "ou_paths": lambda value, where: check_ou_paths(value, glob, where),
        "bound_claims_type": check_bound_claims_type,
        "bound_claims": lambda value, where: check_bound_claims(value, glob, where, spell),
        "claim_mappings": check_claim_mappings,
    }
    for key, check in checks.items():
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    found += check_token_ttls(args.get("token_ttl"), args.get("token_max_ttl"), field("token_ttl"),
                              field("token_max_ttl"))
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of Vault role name to trusted role ARN",
                               code="vault.subjects.missing"))
    else:
        found += check_subjects(args["subjects"], args.get("aws_account_id"), field("subjects"))
    return found


def token_ttls(settings: Mapping[str, Any]) -> tuple[int, int]:
    """(token_ttl, token_max_ttl): 900 s by default, and the max the ttl unless given, so a token is
    never renewed past the AWS token's trust; the workload logs in again instead."""
    ttl = whole_number(settings.get("token_ttl")) or DEFAULT_TOKEN_TTL_SECONDS
    return ttl, whole_number(settings.get("token_max_ttl")) or ttl


__all__ = [
    "ACCOUNT_POINTER", "account_claims", "ORG_ID_POINTER", "OU_PATH_POINTER", "aws_pointer", "check_address", "check_audience",
    "check_bound_claims", "check_bound_claims_type", "check_claim_mappings", "check_mount_path", "check_org_id",
    "check_ou_paths", "check_pointer_key", "check_policies", "check_role_name", "check_subjects", "check_token_ttls",
    "check_vault_trust_args", "claim_at", "claim_mappings", "default_mount_path", "is_non_scalar_aws_claim",
    "mount_path_of", "pointer_segments", "provider_bound_claims", "role_bound_claims", "token_policies", "token_ttls",
    "vault_audience", "written_bound_claims",
]
