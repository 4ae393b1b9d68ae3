"""Rules and builders for the GCP side: a workload identity pool and OIDC provider that trust AWS roles.

The rules take plain values and return :class:`~components.rules.Violation` lists, like every rule
module. The builders compute what the component creates (IDs, the attribute mapping and condition,
principals, audiences), so the component, the stack and the policy pack share one definition.

Limits come from the IAM API reference for ``WorkloadIdentityPool`` and
``WorkloadIdentityPoolProvider``: pool and provider IDs 4-32 of ``[a-z0-9-]`` without the reserved
``gcp-`` prefix, at most 10 allowed audiences of at most 256 characters, ``google.subject`` at most
127 bytes, at most 50 custom attributes with keys of at most 100 ``[a-z0-9_]``, mapping expressions
at most 2048 characters, the attribute condition at most 4096 characters.

Why ``google.subject`` is not the token's ``sub``: ``sub`` is the role ARN with its path, which can
be over 600 characters (Identity Center roles alone are about 110). The mapped subject is
``<account>:<role name>`` instead: IAM role names are unique within an account whatever their
path and at most 64 characters, so it is unique, stable and at most 77 bytes.

Example::

    >>> mapped_subject("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnly_0123456789abcdef")
    '123456789012:AWSReservedSSO_ReadOnly_0123456789abcdef'
    >>> check_pool_id("gcp-pool", "pool_id")[0].rule
    "must not start with 'gcp-': Google reserves that prefix"
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping, Sequence

from ...rules import (
    Violation,
    check_booleans,
    check_count,
    check_int_range,
    check_length,
    check_unique,
    has_whitespace,
    is_plain,
)
from ...rules import aws as aws_rules
from ...rules.facts import AWS_CLAIMS, MAX_ROLE_NAME_LENGTH
from .facts import (
    ATTRIBUTE_KEY_PATTERN,
    EXECUTABLE_TIMEOUT_MILLIS,
    IAM_CREDENTIALS_BASE,
    IAM_HOST,
    ID_PATTERN,
    JWT_TOKEN_TYPE,
    LABEL_PATTERN,
    MAX_ALLOWED_AUDIENCE_LENGTH,
    MAX_ALLOWED_AUDIENCES,
    MAX_ATTRIBUTE_KEY_LENGTH,
    MAX_CONDITION_LENGTH,
    MAX_CUSTOM_ATTRIBUTES,
    MAX_GOOGLE_SUBJECT_BYTES,
    MAX_ID_LENGTH,
    MAX_MAPPED_SUBJECT_BYTES,
    MAX_MAPPING_EXPRESSION_LENGTH,
    MAX_SERVICE_ACCOUNT_ID_LENGTH,
    MIN_ID_LENGTH,
    PROJECT_ID_PATTERN,
    PROVIDERS_CONSTRAINT,
    RESERVED_ID_PREFIX,
    SERVICE_ACCOUNT_EMAIL_PATTERN,
    SERVICE_ACCOUNT_ID_PATTERN,
    STS_TOKEN_URL,
    TOKEN_COMMAND,
    WORKLOAD_IDENTITY_USER,
)

_SLUG_BREAK = re.compile(r"[^a-z0-9]+")

# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the component, the stack and the tests)
# ---------------------------------------------------------------------------------------------


def mapped_subject(role_arn: str) -> str:
    """The ``google.subject`` of a role: ``<account>:<role name>``, at most 77 bytes.

    Equal to what :func:`attribute_mapping` yields for a token whose ``sub`` is ``role_arn``.

    >>> mapped_subject("arn:aws:iam::123456789012:role/teams/payments/exporter")
    '123456789012:exporter'
    """
    parsed = aws_rules.parse_role_arn(role_arn)
    if parsed is None:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN")
    return f"{parsed.account_id}:{parsed.name}"


def cel_string(text: str) -> str:
    """A CEL string literal for ``text``: single-quoted, with backslashes and quotes escaped.

    Role paths may hold any printable ASCII, quotes and backslashes included.
    """
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_AWS = f"assertion[{cel_string(AWS_CLAIMS)}]"

# google.subject: the account from the ARN with extract() (the construction GCP documents for its
# own AWS provider, '{account_arn}assumed-role/'), and the role name as the last '/'-separated part
# of the ARN with split() (which GCP documents for Azure DevOps subjects, "split('/sc/')[1]").
#
# Why this is right for every role ARN: a role ARN is arn:<partition>:iam::<12 digits>:role<path><name>,
# where the partition holds no "iam::" and no ':', so the first "iam::" is followed by the account
# and the next ':'. The path starts and ends with '/', and the name is 1-64 of [A-Za-z0-9+=,.@_-],
# never '/', so the name is exactly the part after the last '/' (the path's own contents, even ':'
# or quotes, never matter). extract() alone cannot do it: it anchors on the FIRST occurrence of its
# prefix, and paths have any depth.
GOOGLE_SUBJECT_MAPPING = (
    "assertion.sub.extract('iam::{account}:') + ':' + "
    "assertion.sub.split('/')[size(assertion.sub.split('/')) - 1]"
)
# The account as AWS states it in its nested claim; '' for a token without it (the condition
# rejects such a token, and a mapping that evaluates cleanly gives a clean rejection).
AWS_ACCOUNT_MAPPING = (
    f"{cel_string(AWS_CLAIMS)} in assertion && 'aws_account' in {_AWS} ? {_AWS}.aws_account : ''"
)
# The full role ARN (path included) for conditions and audit logs. Custom attributes have no size
# limit of their own; all mapped attributes together must stay under 8 KB, and an ARN is under 700 bytes.
AWS_ROLE_MAPPING = "assertion.sub"


def attribute_mapping() -> dict[str, str]:
    """The provider's attribute mapping: ``google.subject``, ``attribute.aws_account``, ``attribute.aws_role``.

    The same for every trust, so it never changes when roles are added or removed.
    """
    return {
        "google.subject": GOOGLE_SUBJECT_MAPPING,
        "attribute.aws_account": AWS_ACCOUNT_MAPPING,
        "attribute.aws_role": AWS_ROLE_MAPPING,
    }


def attribute_condition(aws_account_id: str, role_arns: Sequence[str]) -> str:
    """CEL that accepts exactly the trusted roles of one account.

    Pins the account through AWS's nested ``aws_account`` claim and the roles by their exact ARN
    (``sub``). The ``in`` guards make a token without the AWS claims evaluate to false rather
    than to an error (both reject, but false is the clean answer).

    >>> attribute_condition("123456789012", ["arn:aws:iam::123456789012:role/r"]).split(" && ")[-1]
    "assertion.sub in ['arn:aws:iam::123456789012:role/r']"
    """
    roles = ", ".join(cel_string(arn) for arn in dict.fromkeys(role_arns))
    return (
        f"{cel_string(AWS_CLAIMS)} in assertion"
        f" && 'aws_account' in {_AWS}"
        f" && {_AWS}.aws_account == {cel_string(aws_account_id)}"
        f" && assertion.sub in [{roles}]"
    )


def canonical_audience(project_number: str, pool_id: str, provider_id: str) -> str:
    """The provider's full resource name: the audience of the Google STS exchange.

    >>> canonical_audience("123", "aws-pool", "aws-oidc")
    '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws-pool/providers/aws-oidc'
    """
    return (f"//{IAM_HOST}/projects/{project_number}/locations/global/"
            f"workloadIdentityPools/{pool_id}/providers/{provider_id}")


def token_audience(project_number: str, pool_id: str, provider_id: str,
                   allowed_audiences: Sequence[str] | None = None) -> str:
    """The ``aud`` the AWS token must carry for this provider (what the AWS role pins and requests).

    The first allowed audience when the provider lists some. Otherwise Google wants the provider's
    canonical name; it accepts it with or without ``https:``, and the ``https:`` form is used
    because it is a real URL (an AWS audience is any string, but tools treat URLs better) and it
    is what ``fedctl``'s Google credentials request.
    """
    if allowed_audiences:
        return allowed_audiences[0]
    return "https:" + canonical_audience(project_number, pool_id, provider_id)


def pool_name(project_number: str, pool_id: str) -> str:
    return f"projects/{project_number}/locations/global/workloadIdentityPools/{pool_id}"


def principal_for(project_number: str, pool_id: str, subject: str) -> str:
    """The IAM member for one mapped subject in a pool (never the pool-wide ``principalSet://.../*``).

    >>> principal_for("123", "aws-pool", "123456789012:exporter")
    'principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws-pool/subject/123456789012:exporter'
    """
    return f"principal://{IAM_HOST}/{pool_name(project_number, pool_id)}/subject/{subject}"


def impersonation_url(service_account_email: str) -> str:
    return f"{IAM_CREDENTIALS_BASE}/projects/-/serviceAccounts/{service_account_email}:generateAccessToken"


def credential_configuration(project_number: str, pool_id: str, provider_id: str,
                             service_account_email: str, aws_audience: str,
                             command: str = TOKEN_COMMAND) -> dict[str, Any]:
    """A google-auth ``external_account`` configuration whose subject token comes from ``fedctl token``.

    google-auth runs executable sources only with ``GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1``
    in the environment. It splits the command like a shell and looks the program up on ``PATH``;
    Google's guidance is an absolute path to the program, so replace ``fedctl`` with one where
    ``PATH`` is not under your control.
    """
    import shlex

    return {
        "type": "external_account",
        "audience": canonical_audience(project_number, pool_id, provider_id),
        "subject_token_type": JWT_TOKEN_TYPE,
        "token_url": STS_TOKEN_URL,
        "service_account_impersonation_url": impersonation_url(service_account_email),
        "credential_source": {
            "executable": {
                "command": f"{command} --audience {shlex.quote(aws_audience)} --format google-executable",
                "timeout_millis": EXECUTABLE_TIMEOUT_MILLIS,
            },
        },
    }


def _slug(name: str) -> str:
    return _SLUG_BREAK.sub("-", str(name).lower()).strip("-")


def _hash(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:6]


def _generated_id(kind: str, name: str, generation: int, limit: int) -> str:
    generation = int(generation)  # 2.0 from another language is generation 2: same ID
    suffix = _hash(kind, name, generation) if generation else _hash(kind, name)
    stem = _slug(name) or "aws"
    if not stem[0].isalpha() or f"{stem}-".startswith(RESERVED_ID_PREFIX):
        stem = f"aws-{stem}"
    stem = stem[: limit - len(suffix) - 1].rstrip("-")
    return f"{stem}-{suffix}"


def default_pool_id(name: str, id_generation: int = 0) -> str:
    """A valid pool ID from a component name: its slug plus a short hash, e.g. ``reports-1f2e3d``.

    Deterministic, so previews are stable. Google keeps a deleted pool's ID for 30 days, so a
    ``destroy`` then ``up`` under the same name would be refused: bump ``id_generation`` for a
    fresh ID (or undelete the pool within the 30 days).

    >>> default_pool_id("GCP Trust!"), default_pool_id("GCP Trust!", id_generation=1)
    ('aws-gcp-trust-34f9ae', 'aws-gcp-trust-aec928')
    """
    return _generated_id("pool", name, id_generation, MAX_ID_LENGTH)


def default_provider_id(name: str, id_generation: int = 0) -> str:
    """A valid provider ID from a component name; see :func:`default_pool_id`."""
    return _generated_id("provider", name, id_generation, MAX_ID_LENGTH)


def default_service_account_id(name: str) -> str:
    """A valid service account ID (6-30, starts with a letter) from a component name.

    Not tied to ``id_generation``: a new pool must not replace the account other bindings use.
    """
    return _generated_id("service-account", name, 0, MAX_SERVICE_ACCOUNT_ID_LENGTH)


def service_account_resource_name(email: str) -> str:
    """``projects/<project>/serviceAccounts/<email>``; ``-`` lets IAM find the project when the
    email does not name it (e.g. the Compute Engine default account)."""
    match = re.match(r"^[^@]+@([^@]+)\.iam\.gserviceaccount\.com$", email)
    return f"projects/{match.group(1) if match else '-'}/serviceAccounts/{email}"


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def _check_id(value: Any, field: str, what: str) -> list[Violation]:
    found = check_length(value, field, MIN_ID_LENGTH, MAX_ID_LENGTH, what, code="gcp.id")
    if found:
        return found
    if not ID_PATTERN.match(value):
        found.append(Violation(field, value, f"may only hold lowercase letters, digits and '-' ({what})", code="gcp.id.charset"))
    if value.startswith(RESERVED_ID_PREFIX):
        found.append(Violation(
            field, value, f"must not start with {RESERVED_ID_PREFIX!r}: Google reserves that prefix", code="gcp.id.reserved-prefix"))
    return found


def check_pool_id(value: Any, field: str) -> list[Violation]:
    """4-32 of ``[a-z0-9-]``, not starting with ``gcp-``."""
    return _check_id(value, field, "a workload identity pool ID")


def check_provider_id(value: Any, field: str) -> list[Violation]:
    """4-32 of ``[a-z0-9-]``, not starting with ``gcp-``."""
    return _check_id(value, field, "a workload identity pool provider ID")


def check_id_generation(value: Any, field: str) -> list[Violation]:
    return check_int_range(value, field, 0, 9999, "an ID generation", code="gcp.id-generation")


def check_project_id(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not PROJECT_ID_PATTERN.match(value):
        return [Violation(
            field, value,
            "must be a GCP project ID (6-30 of a-z 0-9 -, starting with a letter), e.g. my-project-123", code="gcp.project.format",
        )]
    return []


def check_service_account_email(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not SERVICE_ACCOUNT_EMAIL_PATTERN.match(value):
        return [Violation(
            field, value,
            "must be a service account email, e.g. exporter@my-project.iam.gserviceaccount.com", code="gcp.service-account-email.format",
        )]
    return []


def check_service_account_id(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str) or not SERVICE_ACCOUNT_ID_PATTERN.match(value):
        return [Violation(field, value, "must be a service account ID: 6-30 of a-z 0-9 -, starting with a letter", code="gcp.service-account-id.format")]
    return []


def check_allowed_audiences(audiences: Any, field: str) -> list[Violation]:
    """At most 10 audiences of 1-256 characters, compared exactly (no whitespace or wildcards)."""
    found = check_count(audiences, field, 0, MAX_ALLOWED_AUDIENCES, "allowed audiences", code="gcp.allowed-audiences")
    if not isinstance(audiences, (list, tuple)):
        return found
    for index, audience in enumerate(audiences):
        sub = f"{field}[{index}]"
        problems = check_length(audience, sub, 1, MAX_ALLOWED_AUDIENCE_LENGTH, "an allowed audience", code="gcp.allowed-audience")
        found += problems
        if problems:
            continue
        if has_whitespace(audience):
            found.append(Violation(sub, audience, "must not contain whitespace: Google compares the audience exactly", code="gcp.allowed-audience.whitespace"))
        if "*" in audience:
            found.append(Violation(sub, audience, "must not contain '*': Google compares the audience exactly", code="gcp.allowed-audience.wildcard"))
    return found + check_unique([a for a in audiences if isinstance(a, str)], field, "audience",
                                code="gcp.allowed-audiences")


def check_google_subject(value: Any, field: str) -> list[Violation]:
    """A mapped ``google.subject`` must be 1-127 BYTES (UTF-8)."""
    if not isinstance(value, str) or not value:
        return [Violation(field, value, "must map to a non-empty google.subject", code="gcp.google-subject.empty")]
    size = len(value.encode("utf-8"))
    if size > MAX_GOOGLE_SUBJECT_BYTES:
        return [Violation(
            field, value,
            f"maps to a google.subject of {size} bytes: Google allows at most {MAX_GOOGLE_SUBJECT_BYTES}", code="gcp.google-subject.length",
        )]
    return []


def check_trusted_role(arn: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """A trusted subject: a role ARN of ``aws_account_id`` whose mapped subject fits in 127 bytes.

    For a valid ARN the mapped subject is ``<12 digits>:<name>`` and IAM caps names at 64
    characters, so it is at most 77 bytes: the name check here is what proves it, for plain
    ARNs at preview and for Output ARNs when they resolve. The byte check stays as a guard.
    """
    if not isinstance(aws_account_id, str) or aws_rules.check_account_id(aws_account_id, field):
        found = aws_rules.check_role_arn(arn, field)
    else:
        found = aws_rules.check_subject_account(arn, aws_account_id, field)
    if found:
        return found
    parsed = aws_rules.parse_role_arn(arn)
    if len(parsed.name) > MAX_ROLE_NAME_LENGTH:
        return [Violation(
            field, arn,
            f"has a role name of {len(parsed.name)} characters: IAM role names are at most "
            f"{MAX_ROLE_NAME_LENGTH}, so this is not a real role", code="gcp.trusted-role.name-length",
        )]
    return check_google_subject(mapped_subject(arn), field)


def check_distinct_subjects(subjects: Mapping[str, Any], field: str) -> list[Violation]:
    """Two labels must not trust the same role (same ARN, or the same name under another path)."""
    found = []
    seen: dict[str, str] = {}
    for label, arn in subjects.items():
        if not isinstance(arn, str) or aws_rules.parse_role_arn(arn) is None:
            continue
        key = mapped_subject(arn)
        if key in seen:
            same = subjects[seen[key]] == arn
            found.append(Violation(
                f"{field}.{label}", arn,
                f"trusts the same role as {seen[key]!r}" if same else
                f"has the same account and role name as {seen[key]!r} under another path: IAM role "
                "names are unique per account, so one of the two ARNs is wrong",
                code="gcp.subjects.duplicate" if same else "gcp.subjects.path-mismatch",
            ))
        else:
            seen[key] = label
    return found


def check_subject_labels(labels: Sequence[Any], field: str) -> list[Violation]:
    found = []
    for label in labels:
        if not isinstance(label, str) or not LABEL_PATTERN.match(label):
            found.append(Violation(
                f"{field}.{label}", label,
                "must be a label of 1-63 letters, digits, '.', '_' or '-' (it names the IAM binding)", code="gcp.subject-label.format",
            ))
    return found


def check_subjects(subjects: Any, aws_account_id: Any, field: str) -> list[Violation]:
    """The label -> role ARN map. Labels must be plain; Output ARNs are checked when they resolve."""
    if not isinstance(subjects, Mapping):
        if not is_plain(subjects):
            return [Violation(
                field, "<Output>",
                "must be a plain map written in the program or config, not an Output: its labels name the "
                "IAM bindings, which must be known at preview (the role ARNs may be Outputs)", code="gcp.subjects.output",
            )]
        return [Violation(
            field, subjects,
            "must be a map of label to role ARN, e.g. {exporter: arn:aws:iam::123456789012:role/exporter}", code="gcp.subjects.type",
        )]
    if not subjects:
        return [Violation(field, "0 subjects", "needs at least one label -> role ARN", code="gcp.subjects.empty")]
    found = check_subject_labels(list(subjects), field)
    account = aws_account_id if is_plain(aws_account_id) else None
    for label, arn in subjects.items():
        if is_plain(arn):
            found += check_trusted_role(arn, account, f"{field}.{label}")
    return found + check_distinct_subjects({k: v for k, v in subjects.items() if is_plain(v)}, field)


def check_attribute_mapping(mapping: Any, field: str) -> list[Violation]:
    """google.subject required; google.groups and at most 50 ``attribute.<key>`` (keys ``[a-z0-9_]``, <=100)."""
    if not isinstance(mapping, Mapping):
        return [Violation(field, mapping, "must be a map of attribute to CEL expression", code="gcp.attribute-mapping.type")]
    found = []
    if "google.subject" not in mapping:
        found.append(Violation(field, sorted(mapping), "must map google.subject: OIDC providers require it", code="gcp.attribute-mapping.no-subject"))
    custom = [key for key in mapping if isinstance(key, str) and key.startswith("attribute.")]
    if len(custom) > MAX_CUSTOM_ATTRIBUTES:
        found.append(Violation(
            field, f"{len(custom)} custom attributes", f"is too many: Google allows at most {MAX_CUSTOM_ATTRIBUTES}", code="gcp.attribute-mapping.count"))
    for key, expression in mapping.items():
        where = f"{field}.{key}"
        if key in ("google.subject", "google.groups"):
            pass  # Google's own attributes
        elif isinstance(key, str) and key.startswith("attribute."):
            name = key[len("attribute."):]
            if not name or len(name) > MAX_ATTRIBUTE_KEY_LENGTH or not ATTRIBUTE_KEY_PATTERN.match(name):
                found.append(Violation(where, key, f"must be attribute.<1-{MAX_ATTRIBUTE_KEY_LENGTH} of a-z 0-9 _>", code="gcp.attribute-mapping.key"))
        else:
            found.append(Violation(
                where, key, "is not an attribute Google maps: use google.subject, google.groups or attribute.<name>", code="gcp.attribute-mapping.unknown-target"))
        found += check_length(expression, where, 1, MAX_MAPPING_EXPRESSION_LENGTH, "a mapping expression",
                              code="gcp.attribute-mapping.expression")
    return found


def check_attribute_condition(condition: Any, field: str) -> list[Violation]:
    """The condition is required here (it pins the account and roles) and at most 4096 characters."""
    if isinstance(condition, str) and len(condition) > MAX_CONDITION_LENGTH:
        return [Violation(
            field, condition,
            f"has {len(condition)} characters: Google allows at most {MAX_CONDITION_LENGTH}; trust fewer roles "
            "per provider (split them over two trusts) or shorter role paths", code="gcp.attribute-condition.length",
        )]
    return check_length(condition, field, 1, MAX_CONDITION_LENGTH, "an attribute condition",
                        code="gcp.attribute-condition")


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, [], {}, "")


def check_service_account_source(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Exactly one of service_account_email (existing) or create_service_account: true."""
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    create = args.get("create_service_account", False)
    not_switches = check_booleans(args, ("create_service_account",), field)
    if not_switches:
        return not_switches
    existing = _present(args, "service_account_email")
    if create and existing:
        return [Violation(
            field("service_account_email"), args["service_account_email"],
            f"cannot be combined with {spell('create_service_account')}: give one service account", code="gcp.service-account.conflict",
        )]
    if not create and not existing:
        return [Violation(
            field("service_account_email"), None,
            f"is required: give the email of the service account to impersonate, or set "
            f"{spell('create_service_account')}: true", code="gcp.service-account.missing",
        )]
    return []


# Arguments that decide IDs and names, so they must be known before anything is registered.
PLAIN_ONLY_FIELDS = ("pool_id", "provider_id", "id_generation")


def check_gcp_trust_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a GcpWorkloadIdentityTrust's plain inputs; Output-valued inputs are checked on resolve.

    ``spell`` renders an arg name the way the user wrote it (camelCase in stack config).
    """
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key, what in (("project", "the GCP project ID"),
                      ("issuer", "the AWS account issuer (AccountFederation.issuer)"),
                      ("aws_account_id", "the 12-digit AWS account the issuer belongs to")):
        if not _present(args, key):
            found.append(Violation(field(key), None, f"is required: {what}", code="gcp.args.missing"))
    checks = {
        "project": check_project_id,
        "issuer": aws_rules.check_issuer,
        "aws_account_id": aws_rules.check_account_id,
        "pool_id": check_pool_id,
        "provider_id": check_provider_id,
        "id_generation": check_id_generation,
        "allowed_audiences": check_allowed_audiences,
        "service_account_email": check_service_account_email,
    }
    for key in PLAIN_ONLY_FIELDS:
        if args.get(key) is not None and not is_plain(args[key]):
            found.append(Violation(
                field(key), "<Output>",
                "must be a plain value written in the program or config, not an Output: the IDs are "
                "needed at preview (for the audience the AWS role pins)", code="gcp.ids.output",
            ))
    for key, check in checks.items():
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    if args.get("id_generation") and _present(args, "pool_id") and _present(args, "provider_id"):
        found.append(Violation(
            field("id_generation"), args["id_generation"],
            f"only applies to generated IDs, and both {spell('pool_id')} and {spell('provider_id')} are given", code="gcp.id-generation.explicit-ids",
        ))
    found += check_service_account_source(args, prefix, spell)

    account = args.get("aws_account_id")
    if "subjects" not in args:
        found.append(Violation(field("subjects"), None, "is required: a map of label to trusted role ARN", code="gcp.subjects.missing"))
    else:
        subjects = args["subjects"]
        found += check_subjects(subjects, account, field("subjects"))
        if isinstance(subjects, Mapping) and subjects and all(isinstance(v, str) for v in subjects.values()):
            # Every account ID has 12 digits, so the length is known even when the account is an Output.
            found += check_attribute_condition(
                attribute_condition("0" * 12, list(subjects.values())), field("subjects")
            )
    return found


def org_policy_advice(issuer: str) -> str:
    """What a GCP organisation that restricts provider issuers must allow for this trust (its exact value).

    >>> org_policy_advice("https://x.tokens.sts.global.api.aws").split(": ")[-1]
    'https://x.tokens.sts.global.api.aws'
    """
    return (f"if your GCP organisation restricts {PROVIDERS_CONSTRAINT}, GCP refuses this provider unless "
            f"the policy's allowed values list the AWS account issuer exactly: {issuer}")


__all__ = [
    "AWS_CLAIMS", "MAX_CONDITION_LENGTH", "MAX_GOOGLE_SUBJECT_BYTES", "MAX_MAPPED_SUBJECT_BYTES",
    "WORKLOAD_IDENTITY_USER", "attribute_condition", "attribute_mapping", "canonical_audience",
    "cel_string", "check_allowed_audiences", "check_attribute_condition", "check_attribute_mapping",
    "check_distinct_subjects", "check_gcp_trust_args", "check_google_subject", "check_id_generation",
    "check_pool_id", "check_project_id", "check_provider_id", "check_service_account_email",
    "check_service_account_id", "check_service_account_source", "check_subject_labels", "check_subjects",
    "check_trusted_role", "credential_configuration", "default_pool_id", "default_provider_id",
    "default_service_account_id", "impersonation_url", "mapped_subject", "org_policy_advice", "pool_name",
    "principal_for",
    "service_account_resource_name", "token_audience",
]

