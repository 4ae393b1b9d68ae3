"""``fedctl doctor``: why does this trust not work, right now.

Run as the workload's role (and, for the relying party's side, with read access to it), it checks
the chain a token travels, in order, and stops guessing at the first broken link:

1. **Who am I** - STS ``GetCallerIdentity`` on the regional endpoint the token comes from: is the
   caller the workload's role? (A session ARN ``arn:aws:sts::<acct>:assumed-role/<name>/<session>``
   carries no path, so the account and the role name are compared.)
2. **Is federation on** - IAM ``GetOutboundWebIdentityFederationInfo`` (read from the minted token's
   ``iss`` when IAM cannot be asked, saying so), and is the issuer the one the stack exported.
3. **Mint** - ``GetWebIdentityToken`` with the relying party's audience and algorithm. A refusal is
   told apart by AWS's code and text (``TokenRequestError.denied_by``), and, where the caller may,
   ``iam:SimulatePrincipalPolicy`` with the request's context keys names the statement.
4. **Does the relying party trust it** - the token, decoded and never printed, against the relying
   party's LIVE configuration, through the kind's optional ``diagnose`` hook: the first field that
   differs, character by character.
5. **Exchange** - the kind's own ``exchange``, with the same token; the relying party's answer is
   mapped to its cause by the kind's optional ``explain_refusal`` hook.

Read-only: nothing is created or changed; access tokens and AWS tokens are never printed.
The report's exit code is the CLI's: 0 every step passed, 1 a step found the trust broken, 2 a
step could not check (findings win: they are certain).

Example::

    report = doctor(outputs, "reports-reader", options)
    print(report.render_text())
    sys.exit(report.exit_code)
"""

from __future__ import annotations

import argparse
import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from components.relying_parties.diagnosis import FAIL, PASS, SKIP, UNCHECKED, Step, TokenFacts, difference
from components.rules.errors import (
    EXIT_CANNOT_CHECK,
    EXIT_FINDINGS,
    ExchangeError,
    FederationError,
    MissingDependencyError,
    StsConfigurationError,
    StsFederationDisabled,
    TokenRequestError,
    ValidationError,
)
from components.rules.facts import ALGORITHM_KEY, AUDIENCE_KEY, DURATION_KEY, TOKEN_ACTION

TITLES = {
    "outputs": "Read the stack's outputs",
    "caller": "Who am I",
    "federation": "Is outbound identity federation on",
    "token": "Mint a token for the relying party",
    "token.simulation": "Which policy refuses it (IAM policy simulator)",
    "claims": "What the token says",
    "trust": "Does the relying party trust it (its live configuration)",
    "exchange": "Exchange it at the relying party",
}
STEP_NUMBERS = {"outputs": 0, "caller": 1, "federation": 2, "token": 3, "claims": 4, "trust": 4, "exchange": 5}
DURATION_SECONDS = 300
"""What the runtime requests (AwsTokenSupplier's default), so doctor's request is the workload's."""

_PRINCIPAL = re.compile(r"^arn:(?P<partition>[\w-]+):(?P<service>sts|iam)::(?P<account>\d{12}):(?P<resource>.+)$")


def step_number(code: str) -> int:
    return STEP_NUMBERS.get(code.split(".")[0], 4)


def title(code: str) -> str:
    return TITLES.get(code) or TITLES.get(code.split(".")[0], code)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

@dataclass
class DoctorReport:
    """Every step doctor ran, in order, and what they add up to."""

    workload: str
    role_arn: str | None = None
    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    @property
    def unproven(self) -> list[Step]:
        """Exchanges that did not run: without one, nothing proves the relying party takes the token
        (its live side may differ from what was read or exported), so the trust is not healthy."""
        return [step for step in self.steps if step.code == "exchange" and step.status == SKIP]

    @property
    def exit_code(self) -> int:
        if any(step.status == FAIL for step in self.steps):
            return EXIT_FINDINGS
        if any(step.status == UNCHECKED for step in self.steps) or self.unproven:
            return EXIT_CANNOT_CHECK
        return 0

    @property
    def verdict(self) -> str:
        return {0: "healthy", EXIT_FINDINGS: "broken", EXIT_CANNOT_CHECK: "unchecked"}[self.exit_code]

    def step(self, code: str, relying_party: str | None = None) -> Step | None:
        """The first step with this code (for this relying party, if given)."""
        return next((s for s in self.steps if s.code == code
                     and (relying_party is None or s.relying_party == relying_party)), None)

    def to_document(self) -> dict[str, Any]:
        return {"workload": self.workload, "roleArn": self.role_arn, "verdict": self.verdict,
                "exitCode": self.exit_code, "steps": [step.to_dict() for step in self.steps]}

    def render_json(self) -> str:
        return json.dumps(self.to_document(), indent=2, sort_keys=True)

    def render_text(self) -> str:
        lines = [f"fedctl doctor: workload '{self.workload}'" + (f" (role {self.role_arn})" if self.role_arn else ""), ""]
        for step in self.steps:
            where = f" [{step.relying_party}]" if step.relying_party else ""
            lines.append(f"{step_number(step.code)}. {step.status.upper():<9} {step.title}{where}  ({step.code})")
            for label, text in (("checked", step.checked), ("found", step.found), ("fix", step.fix)):
                if text:
                    first, *rest = str(text).splitlines()
                    lines.append(f"   {label:<8} {first}")
                    lines.extend(f"   {'':<8} {line}" for line in rest)
            lines.append("")
        failed = sum(1 for s in self.steps if s.status == FAIL)
        unchecked = sum(1 for s in self.steps if s.status == UNCHECKED)
        if failed:
            lines.append(f"result: the trust is broken: {failed} step(s) failed"
                         + (f", {unchecked} could not check" if unchecked else "") + f" (exit {self.exit_code})")
        elif unchecked:
            lines.append(f"result: {unchecked} step(s) could not check; nothing checked was broken (exit {self.exit_code})")
        elif self.unproven:
            lines.append(f"result: nothing checked was broken, but the trust is not proven: step 5 did not run for "
                         ", ".join(s.relying_party or "?" for s in self.unproven) + f" (exit {self.exit_code})")
        else:
            lines.append("result: every step passed (exit 0)")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def token_facts(token: str) -> TokenFacts:
    """The token's claims and header, decoded WITHOUT verifying (doctor compares; it never trusts)."""
    header_part, payload_part = token.split(".")[:2]
    header, claims = _b64json(header_part), _b64json(payload_part)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a JWT")
    return TokenFacts(claims, str(header.get("alg")), header.get("kid"))


def exported_issuer(outputs: Mapping[str, Any], account_id: str | None) -> str | None:
    """The issuer the stack exported for this account (top-level, or under ``accounts.<name>``)."""
    if outputs.get("issuer") and (account_id is None or outputs.get("accountId") in (None, account_id)):
        return outputs["issuer"]
    for account in (outputs.get("accounts") or {}).values():
        if isinstance(account, Mapping) and account.get("accountId") == account_id:
            return account.get("issuer")
    return None


def _aws_error(error: Any) -> tuple[str, str]:
    response = getattr(error, "response", None) or {}
    problem = response.get("Error") or {}
    return str(problem.get("Code") or type(error).__name__), str(problem.get("Message") or error)


def _endpoint(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "endpoint_url", "") or "the default endpoint")


@dataclass(frozen=True)
class _Principal:
    kind: str  # assumed-role, federated-user, user, root, role, other
    account: str
    name: str
    partition: str


def parse_principal(arn: str) -> _Principal:
    """What GetCallerIdentity's ARN is: a role session, a federated user, an IAM user, the root user."""
    match = _PRINCIPAL.match(arn or "")
    if not match:
        return _Principal("other", "", arn, "aws")
    resource, account, partition = match["resource"], match["account"], match["partition"]
    if resource == "root":
        return _Principal("root", account, "root", partition)
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role":
        return _Principal("assumed-role", account, rest.split("/")[0], partition)
    if kind in ("federated-user", "user", "role"):
        return _Principal(kind, account, rest.rsplit("/", 1)[-1], partition)
    return _Principal("other", account, resource, partition)


# ---------------------------------------------------------------------------------------------
# Step 1: who am I
# ---------------------------------------------------------------------------------------------

def check_caller(sts: Any, role_arn: str | None, account_id: str | None) -> tuple[Step, str]:
    """The caller step, and how the caller relates to the workload's role: ``role`` (it is the role),
    ``account`` (same account, another principal), ``elsewhere`` (another account) or ``unknown``."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from components.rules.aws import parse_role_arn

    code = "caller"
    checked = f"STS GetCallerIdentity at {_endpoint(sts)}"
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        return Step(code, title(code), UNCHECKED, checked, "no AWS credentials were found",
                    "run doctor where the workload runs, or with its role's credentials (AWS_PROFILE, "
                    "`aws sts assume-role`, an instance profile)", "caller.no-credentials"), "unknown"
    except ClientError as error:
        aws_code, message = _aws_error(error)
        return Step(code, title(code), UNCHECKED, checked, f"STS refused GetCallerIdentity: {aws_code}: {message}",
                    "check the credentials (expired session?) and the STS endpoint", "caller.lookup-failed"), "unknown"
    except BotoCoreError as error:
        return Step(code, title(code), UNCHECKED, checked, f"could not call STS: {error}",
                    "check the network path to the regional STS endpoint (or --sts-endpoint)",
                    "caller.unreachable"), "unknown"
    arn = str(identity.get("Arn"))
    principal = parse_principal(arn)
    role = parse_role_arn(role_arn) if role_arn else None
    details = {"callerArn": arn, "account": identity.get("Account")}
    wanted = f"the workload's role {role_arn}" if role_arn else "the workload's role"
    run_as = (f"run doctor as {role_arn}: on the workload's compute, or with credentials from "
              f"`aws sts assume-role --role-arn {role_arn} --role-session-name doctor`") if role_arn else \
        "run doctor as the workload's role"
    if principal.account and account_id and principal.account != account_id:
        return Step(code, title(code), FAIL, checked,
                    f"{arn}: account {principal.account}, but the workload's role lives in account {account_id}",
                    run_as, "caller.other-account", details=details), "elsewhere"
    if principal.kind == "federated-user":
        return Step(code, title(code), FAIL, checked,
                    f"{arn} is a federated user session (GetFederationToken): GetWebIdentityToken does not support "
                    "federated user sessions", run_as, "caller.federated-user", details=details), "account"
    if principal.kind in ("user", "root"):
        what = "the account's root user" if principal.kind == "root" else f"the IAM user {principal.name}"
        return Step(code, title(code), FAIL, checked,
                    f"{arn} is {what}, not a role: its tokens would carry its own ARN as subject",
                    run_as, f"caller.{'root' if principal.kind == 'root' else 'iam-user'}", details=details), "account"
    if principal.kind != "assumed-role":
        return Step(code, title(code), FAIL, checked, f"{arn} is not a role session", run_as,
                    "caller.not-a-role-session", details=details), "account"
    if role is None:
        return Step(code, title(code), UNCHECKED, checked,
                    f"{arn}: a session of role {principal.name}, but the outputs name no role ARN for the workload "
                    "to compare it with", "use outputs from a stack that exports workloads.<name>.roleArn",
                    "caller.no-role-in-outputs", details=details), "unknown"
    if principal.name != role.name:
        found = (f"{arn}: a session of role {principal.name}, not {wanted}")
        differs = difference("role name", role.name, principal.name)
        if differs is not None and differs.kind == "case":
            found += f" ({differs.explanation})"
        return Step(code, title(code), FAIL, checked, found, run_as, "caller.other-role", details=details), "account"
    found = (f"{arn}: a session of the workload's role (account {principal.account}, role {principal.name}"
             + ("; a session ARN carries no path, so the path " + repr(role.path) + " is not compared)"
                if role.path != "/" else ")"))
    return Step(code, title(code), PASS, checked, found, details=details), "role"


# ---------------------------------------------------------------------------------------------
# Step 2: is federation on
# ---------------------------------------------------------------------------------------------

def _fallback_reason(iam: Any) -> str | None:
    if iam is None:
        return "no IAM client"
    if not hasattr(iam, "get_outbound_web_identity_federation_info"):
        import botocore

        return (f"this botocore ({botocore.__version__}) does not know IAM GetOutboundWebIdentityFederationInfo "
                "(upgrade boto3/botocore)")
    return None


def check_federation(iam: Any, issuer: str | None) -> tuple[Step, str | None]:
    """The federation step and the account's issuer. A step with ``details['pending']`` could not ask
    IAM: :func:`finish_federation` completes it from a minted token's ``iss``."""
    from botocore.exceptions import BotoCoreError, ClientError

    code = "federation"
    checked = f"IAM GetOutboundWebIdentityFederationInfo at {_endpoint(iam)}"
    reason = _fallback_reason(iam)
    answer: Mapping[str, Any] = {}
    if reason is None:
        try:
            answer = iam.get_outbound_web_identity_federation_info()
        except ClientError as error:
            aws_code, message = _aws_error(error)
            if aws_code in ("FeatureDisabled", "FeatureDisabledException"):
                return Step(code, title(code), FAIL, checked,
                            f"outbound identity federation is OFF in this account (IAM answered {aws_code}: {message})",
                            "enable it: one stack per account with account.manage: true (`pulumi up`), or "
                            "`aws iam enable-outbound-web-identity-federation`; the issuer URL stays the same as "
                            "before if it was on once", "federation.off"), None
            reason = f"IAM refused GetOutboundWebIdentityFederationInfo ({aws_code}: {message})"
        except BotoCoreError as error:
            reason = f"could not call IAM GetOutboundWebIdentityFederationInfo ({error})"
    if reason is not None:
        step = Step(code, title(code), UNCHECKED, checked, reason, finding="federation.lookup-failed",
                    details={"pending": True, "reason": reason, "exportedIssuer": issuer})
        return step, None
    if answer.get("JwtVendingEnabled") is False:
        return Step(code, title(code), FAIL, checked, "outbound identity federation is OFF in this account "
                    "(IAM: JwtVendingEnabled false)",
                    "enable it: one stack per account with account.manage: true, or "
                    "`aws iam enable-outbound-web-identity-federation`", "federation.off"), None
    live = answer.get("IssuerIdentifier")
    return _compare_issuer(checked, live, issuer, "IAM says federation is on"), live


def _compare_issuer(checked: str, live: str | None, exported: str | None, said: str, note: str = "",
                    source: str = "iam") -> Step:
    code = "federation"
    facts = {"issuer": live, "source": source}
    if not exported:
        return Step(code, title(code), PASS, checked, f"{said}; issuer {live}{note} (the stack exported no issuer "
                    "for this account to compare it with)", details=facts)
    differs = difference("issuer", exported, live)
    if differs is None:
        return Step(code, title(code), PASS, checked, f"{said}; issuer {live}{note}, the one the stack exported",
                    details=facts)
    text = "\n".join([f"{said}, but the account's issuer is not the one the stack exported{note}: "
                      f"{differs.explanation}", *differs.lines("exported", "account")])
    return Step(code, title(code), FAIL, checked, text,
                "the outputs are stale or from another account: read them again (`pulumi stack output --json`) "
                "from the stack that deploys this account, and make every relying party trust the account's issuer",
                "federation.issuer-differs", details={**facts, "difference": differs.to_dict()})


def finish_federation(step: Step, token_issuer: str | None) -> Step:
    """Complete a federation step IAM could not answer, from a minted token's ``iss``."""
    if not step.details.get("pending"):
        return step
    reason, exported = step.details["reason"], step.details.get("exportedIssuer")
    if token_issuer is None:
        return step  # stays unchecked: no IAM answer, no token
    return _compare_issuer(step.checked + " (not answered), then the minted token's iss", token_issuer, exported,
                           "STS minted a token, so federation is on",
                           note=f" (read from the token's iss: {reason})", source="token")


# ---------------------------------------------------------------------------------------------
# Step 3: mint, and when refused, say why
# ---------------------------------------------------------------------------------------------

_DENIAL_FIXES = {
    "identity-policy": "allow sts:GetWebIdentityToken for this audience, algorithm and duration in the role's "
                       "token policy (the stack's workloads.<name>.tokenPolicy is the one to attach)",
    "identity-policy-deny": "remove or narrow the Deny statement in the role's policies",
    "permissions-boundary": "add sts:GetWebIdentityToken (with these conditions) to the role's permissions boundary",
    "session-policy": "create the role session without the session policy, or allow sts:GetWebIdentityToken in it",
    "service-control-policy": "ask the organisation's administrators: an SCP denies it and the role's own policies "
                              "cannot override it (the organisation's allowed audiences, lifetime cap, algorithms)",
    "resource-control-policy": "ask the organisation's administrators: a resource control policy denies it",
    "vpc-endpoint-policy": "allow sts:GetWebIdentityToken in the STS VPC endpoint's policy, or use another endpoint",
    "federated-user-session": "call with role credentials: federated user sessions cannot get web identity tokens",
}


def token_request(kind: Any, runtime: Any, exported: Mapping[str, Any]) -> tuple[str | None, str]:
    """(audience, algorithm) the kind's exchange requests: its ``token_request`` hook, else the exported
    audience and RS256 (or the first algorithm it accepts)."""
    hook = getattr(runtime, "token_request", None)
    if hook is not None:
        return hook(exported)
    algorithms = tuple(kind.accepted_algorithms)
    return exported.get("audience"), "RS256" if "RS256" in algorithms else algorithms[0]


def refused_token_step(error: TokenRequestError, audience: str, algorithm: str, relying_party: str,
                       federation_on: bool | None) -> Step:
    code = "token"
    checked = f"STS GetWebIdentityToken: audience {audience!r}, {algorithm}, {DURATION_SECONDS} s"
    details = {k: v for k, v in (("awsCode", error.code), ("awsMessage", error.aws_message),
                                 ("requestId", error.request_id), ("deniedBy", error.denied_by)) if v}
    said = f"AWS said: {error.aws_message}" if error.aws_message else f"STS answered {error.code}"
    if isinstance(error, StsConfigurationError):
        return Step(code, title(code), UNCHECKED, checked, str(error.message), "give --region (a real region) or "
                    "--sts-endpoint", "token.sts-configuration", relying_party, details)
    if isinstance(error, StsFederationDisabled):
        found = f"STS refused: federation is off in this account ({said})"
        if federation_on:
            found += ("; IAM says it is on: it was switched on less than ~12 s ago (AWS needs about 10 s), "
                      "or off since")
        return Step(code, title(code), FAIL, checked, found, "enable outbound identity federation (or wait ~10 s "
                    "after enabling it)", "token.federation-disabled", relying_party, details)
    if error.code == "SessionDurationEscalationException":
        return Step(code, title(code), FAIL, checked,
                    f"the role session ends before a {DURATION_SECONDS} s token would ({said})",
                    "refresh the role session (new credentials) before minting, or lengthen the role's session",
                    "token.session-too-short", relying_party, details)
    if error.code in ("AccessDenied", "AccessDeniedException"):
        cause = error.denied_by or "unknown"
        fix = _DENIAL_FIXES.get(cause, "AWS's text does not name the policy: see the simulation below; a "
                                "permissions boundary, session policy or organisation policy may also be the cause")
        return Step(code, title(code), FAIL, checked, f"STS refused ({error.code}): {error.explanation}. {said}",
                    fix, f"token.denied.{cause}", relying_party, details)
    if error.transient:
        return Step(code, title(code), UNCHECKED, checked, f"STS could not be asked right now: {error.message}",
                    "try again; check the network path to STS", "token.unavailable", relying_party, details)
    return Step(code, title(code), FAIL, checked, f"STS refused ({error.code}): {error.message}",
                "see AWS's message", f"token.refused.{error.code}", relying_party, details)


def simulate(iam: Any, role_arn: str, audience: str, algorithm: str, relying_party: str,
             token_policy: Any = None) -> Step:
    """``iam:SimulatePrincipalPolicy`` for this exact request: which of the role's policies decides.

    The request's resource is ``arn:<partition>:sts::<account>:self``. For an implicit deny the
    simulator names no statement; the token policy the stack exported is then evaluated locally to
    name the condition that fails (it is what the role should have attached).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from components.rules.aws import parse_role_arn

    code = "token.simulation"
    role = parse_role_arn(role_arn)
    resource = f"arn:{role.partition if role else 'aws'}:sts::{role.account_id if role else '*'}:self"
    checked = (f"IAM SimulatePrincipalPolicy for {role_arn}: {TOKEN_ACTION} on {resource} with {AUDIENCE_KEY}="
               f"[{audience!r}], {ALGORITHM_KEY}={algorithm}, {DURATION_KEY}={DURATION_SECONDS}")
    try:
        answer = iam.simulate_principal_policy(
            PolicySourceArn=role_arn, ActionNames=[TOKEN_ACTION], ResourceArns=[resource],
            ContextEntries=[
                {"ContextKeyName": AUDIENCE_KEY, "ContextKeyValues": [audience], "ContextKeyType": "stringList"},
                {"ContextKeyName": ALGORITHM_KEY, "ContextKeyValues": [algorithm], "ContextKeyType": "string"},
                {"ContextKeyName": DURATION_KEY, "ContextKeyValues": [str(DURATION_SECONDS)],
                 "ContextKeyType": "numeric"},
            ])
    except ClientError as error:
        aws_code, message = _aws_error(error)
        return Step(code, title(code), SKIP, checked,
                    f"skipped: IAM refused the simulation ({aws_code}: {message}); the caller needs "
                    f"iam:SimulatePrincipalPolicy on {role_arn} to name the statement",
                    relying_party=relying_party, finding="simulation.denied")
    except BotoCoreError as error:
        return Step(code, title(code), SKIP, checked, f"skipped: could not call IAM ({error})",
                    relying_party=relying_party, finding="simulation.unavailable")
    result = next(iter(answer.get("EvaluationResults") or []), {})
    decision = result.get("EvalDecision")
    statements = [_statement(s) for s in result.get("MatchedStatements") or []]
    boundary = (result.get("PermissionsBoundaryDecisionDetail") or {}).get("AllowedByPermissionsBoundary")
    organizations = (result.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations")
    details: dict[str, Any] = {"decision": decision, "matchedStatements": statements}
    if result.get("MissingContextValues"):
        details["missingContextValues"] = list(result["MissingContextValues"])
    if decision == "allowed":
        return Step(code, title(code), FAIL, checked,
                    "the role's identity policies and permissions boundary ALLOW this request: the refusal comes "
                    "from outside them (a session policy, an SCP or RCP, a VPC endpoint policy)",
                    "see AWS's message above for which", "simulation.allowed", relying_party, details)
    if decision == "explicitDeny":
        named = "; ".join(s["text"] for s in statements) or "a statement the simulator did not name"
        return Step(code, title(code), FAIL, checked, f"explicitly denied by {named}",
                    "remove or narrow that Deny statement", "simulation.explicit-deny", relying_party, details)
    if boundary is False:
        return Step(code, title(code), FAIL, checked, "the role's permissions boundary does not allow it",
                    _DENIAL_FIXES["permissions-boundary"], "simulation.permissions-boundary", relying_party, details)
    if organizations is False:
        return Step(code, title(code), FAIL, checked, "an organisation policy (SCP) does not allow it",
                    _DENIAL_FIXES["service-control-policy"], "simulation.organizations", relying_party, details)
    found = "no statement of the role's policies allows this request (implicit deny)"
    if token_policy:
        from components.rules.policy_audits import TokenRequest, evaluate_token_request

        local = evaluate_token_request([token_policy], TokenRequest((audience,), algorithm, DURATION_SECONDS,
                                                                    account_id=role.account_id if role else None))
        details["exportedTokenPolicy"] = local.reason
        found += (f"; the token policy the stack exported (workloads.<name>.tokenPolicy) "
                  + ("would allow it: the role does not have that policy attached as exported"
                     if local.allowed else f"names why: {local.reason}"))
    return Step(code, title(code), FAIL, checked, found, _DENIAL_FIXES["identity-policy"],
                "simulation.implicit-deny", relying_party, details)


def _statement(matched: Mapping[str, Any]) -> dict[str, Any]:
    start, end = matched.get("StartPosition") or {}, matched.get("EndPosition") or {}
    policy, kind = matched.get("SourcePolicyId"), matched.get("SourcePolicyType")
    where = f"line {start.get('Line')}, column {start.get('Column')} to line {end.get('Line')}, column {end.get('Column')}"
    return {"policy": policy, "policyType": kind, "start": start, "end": end,
            "text": f"the statement of policy {policy!r} ({kind}) at {where}"}


# ---------------------------------------------------------------------------------------------
# Step 5: exchange
# ---------------------------------------------------------------------------------------------

def _refusal(runtime: Any, error: ExchangeError) -> Any:
    explain = getattr(runtime, "explain_refusal", None)
    return explain(error) if explain is not None else None


def check_exchange(runtime: Any, exported: Mapping[str, Any], workload: str, options: argparse.Namespace,
                   supplier_for: Callable[[str, str], Any], relying_party: str,
                   progress: Callable[[str], None], **hooks: Any) -> Step:
    code = "exchange"
    checked = f"the relying party's own exchange (`fedctl exchange {getattr(runtime, 'COMMAND', '?')}`) with this token"
    try:
        result = runtime.exchange(exported, workload, options, supplier_for=supplier_for, progress=progress,
                                  **hooks)
    except ExchangeError as error:
        if error.code.endswith("-unreachable"):  # the relying party did not answer: nothing was checked
            return Step(code, title(code), UNCHECKED, checked, f"could not ask it: {error.message}",
                        "check the network path to the relying party", f"exchange.{error.code}", relying_party)
        refusal = _refusal(runtime, error)
        if refusal is not None:
            return Step(code, title(code), FAIL, checked, f"{refusal.cause}. The relying party said: {error.message}",
                        refusal.fix, refusal.finding, relying_party, {"code": error.code})
        return Step(code, title(code), FAIL, checked, f"refused: {error.message}", "see the relying party's answer",
                    f"exchange.{error.code}", relying_party, {"code": error.code})
    except ValidationError as error:
        return Step(code, title(code), SKIP, checked, f"not run: {error}", finding="exchange.needs-options",
                    relying_party=relying_party)
    except (MissingDependencyError, ImportError) as error:
        return Step(code, title(code), UNCHECKED, checked, f"could not run: {error}",
                    getattr(error, "install", ""), "exchange.missing-dependency", relying_party)
    except TokenRequestError as error:
        return Step(code, title(code), FAIL if error.exit_code == EXIT_FINDINGS else UNCHECKED, checked,
                    f"STS refused the exchange's token: {error}", "", "exchange.token-refused", relying_party)
    except FederationError as error:
        return Step(code, title(code), UNCHECKED, checked, f"could not run: {error}", "", f"exchange.{error.code}",
                    relying_party)
    except Exception as error:  # noqa: BLE001 - never pretend it passed
        return Step(code, title(code), UNCHECKED, checked, f"could not run ({type(error).__name__}: {error})", "",
                    "exchange.error", relying_party)
    return Step(code, title(code), PASS, checked, result.summary, relying_party=relying_party)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

def _kinds_of(exported: Mapping[str, Any], chosen: str | None) -> list[Any]:
    from components.relying_parties import KINDS

    return [kind for kind in KINDS if exported.get(kind.key) and (chosen is None or kind.key == chosen)]


def _clients(options: argparse.Namespace) -> tuple[Any, Any]:
    import boto3

    from .tokens import regional_sts_client

    endpoint = getattr(options, "sts_endpoint", None)
    region = getattr(options, "region", None)
    # A fresh session: boto3's default one keeps the credentials it found first.
    session = boto3.session.Session()
    # An explicit endpoint (a VPC endpoint) signs for the configured region; us-east-1 only when none is.
    sts = (session.client("sts", endpoint_url=endpoint, region_name=region or session.region_name or "us-east-1")
           if endpoint else regional_sts_client(region))
    iam = session.client("iam", endpoint_url=getattr(options, "iam_endpoint", None) or None,
                         region_name=sts.meta.region_name)
    return sts, iam


def doctor(
    outputs: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    sts_client: Any = None,
    iam_client: Any = None,
    progress: Callable[[str], None] = lambda message: None,
    **hooks: Any,
) -> DoctorReport:
    """Run every step for ``workload`` (each relying party it has, or ``options.relying_party``).

    ``sts_client``/``iam_client`` default to boto3 clients from ``options`` (``region``,
    ``sts_endpoint``, ``iam_endpoint``). ``hooks`` go to the kinds' ``diagnose`` and ``exchange``
    (tests pass credentials or a ``sleep``).
    """
    report = DoctorReport(workload)
    workloads = outputs.get("workloads") if isinstance(outputs, Mapping) else None
    if not isinstance(workloads, Mapping) or workload not in workloads:
        known = ", ".join(sorted(workloads or {})) or "none"
        report.add(Step("outputs", title("outputs"), UNCHECKED, "workloads.<name> in the stack's outputs",
                        f"no workload '{workload}' in the outputs (workloads: {known})",
                        "name a workload the stack exports, or read the right stack's outputs",
                        "outputs.unknown-workload"))
        return report
    exported_workload = workloads[workload] or {}
    role_arn = exported_workload.get("roleArn") or exported_workload.get("subject")
    report.role_arn = role_arn
    from components.rules.aws import parse_role_arn

    parsed = parse_role_arn(role_arn) if role_arn else None
    account_id = exported_workload.get("accountId") or (parsed.account_id if parsed else None)
    kinds = _kinds_of(exported_workload, getattr(options, "relying_party", None))
    if not kinds:
        report.add(Step("outputs", title("outputs"), UNCHECKED, f"workloads.{workload} in the stack's outputs",
                        "the workload has no relying party in the outputs"
                        + (f" of kind {options.relying_party}" if getattr(options, "relying_party", None) else ""),
                        "give --relying-party one of the workload's keys, or deploy a relying party for it",
                        "outputs.no-relying-party"))
        return report

    if sts_client is None or iam_client is None:
        try:
            made_sts, made_iam = _clients(options)
        except StsConfigurationError as error:
            report.add(Step("caller", title("caller"), UNCHECKED, "a regional STS endpoint", str(error.message),
                            "give --region (a real region) or set AWS_REGION", "caller.no-region"))
            return report
        sts_client = sts_client or made_sts
        iam_client = iam_client or made_iam

    # 1. Who am I
    progress("1/5 who am I: STS GetCallerIdentity")
    caller, relation = check_caller(sts_client, role_arn, account_id)
    report.add(caller)
    if relation in ("unknown", "elsewhere") and caller.status != PASS:
        why = "no caller identity" if relation == "unknown" else "the caller is in another account"
        for code in ("federation", "token", "trust", "exchange"):
            report.add(Step(code, title(code), SKIP, "", f"not run: {why}"))
        return report

    # 2. Is federation on
    progress("2/5 is federation on: IAM GetOutboundWebIdentityFederationInfo")
    issuer = exported_issuer(outputs, account_id)
    federation, _ = check_federation(iam_client, issuer)
    report.add(federation)
    if federation.finding == "federation.off":
        for code in ("token", "trust", "exchange"):
            report.add(Step(code, title(code), SKIP, "", "not run: federation is off, STS mints nothing"))
        return report
    if relation != "role":
        for code in ("token", "trust", "exchange"):
            report.add(Step(code, title(code), SKIP, "", "not run as the workload's role: a token would carry "
                            "another principal's subject"))
        return report

    for kind in kinds:
        _diagnose_kind(report, kind, exported_workload, workload, options, sts_client, iam_client, progress, hooks)
    return report


def _diagnose_kind(report: DoctorReport, kind: Any, exported_workload: Mapping[str, Any], workload: str,
                   options: argparse.Namespace, sts: Any, iam: Any, progress: Callable[[str], None],
                   hooks: Mapping[str, Any]) -> None:
    from .tokens import AwsTokenSupplier

    key = kind.key
    exported = exported_workload[key]
    try:
        runtime = kind.load(kind.runtime) if kind.runtime else None
    except (MissingDependencyError, ImportError) as error:
        report.add(Step("token", title("token"), UNCHECKED, f"the {kind.title} runtime", str(error),
                        getattr(error, "install", ""), "token.missing-dependency", key))
        return
    audience, algorithm = token_request(kind, runtime, exported)
    if not audience:
        report.add(Step("token", title("token"), UNCHECKED, f"workloads.{workload}.{key}.audience",
                        "the outputs name no audience for this relying party", "use current outputs",
                        "outputs.no-audience", key))
        return

    # 3. Mint
    progress(f"3/5 mint a token for {key}: audience {audience!r}, {algorithm}")
    supplier = AwsTokenSupplier([audience], signing_algorithm=algorithm, duration_seconds=DURATION_SECONDS,
                                sts_client=sts, ready_timeout=getattr(options, "ready_timeout", 0) or 0,
                                background_refresh=False, progress=progress)
    try:
        token = supplier.get_token()
    except TokenRequestError as error:
        federation = report.step("federation")
        report.add(refused_token_step(error, audience, algorithm, key, federation is not None and federation.status == PASS))
        if error.code in ("AccessDenied", "AccessDeniedException") and error.denied_by not in (
                "service-control-policy", "resource-control-policy", "vpc-endpoint-policy", "federated-user-session",
                "session-policy"):
            progress("3/5 ask the IAM policy simulator which policy refuses it")
            report.add(simulate(iam, report.role_arn or "", audience, algorithm, key,
                                exported_workload.get("tokenPolicy")))
        for code in ("claims", "trust", "exchange"):
            report.add(Step(code, title(code), SKIP, "", "not run: no token", relying_party=key))
        return
    facts = token_facts(token)
    federation = report.step("federation")
    if federation is not None:
        _replace(report, federation, finish_federation(federation, facts.claims.get("iss")))
    report.add(Step("token", title("token"), PASS,
                    f"STS GetWebIdentityToken: audience {audience!r}, {algorithm}, {DURATION_SECONDS} s",
                    "STS minted a token (not shown)", relying_party=key))

    # 4. Claims, then the relying party's live configuration
    report.add(_claims_step(facts, kind, exported_workload, key))
    diagnose = getattr(runtime, "diagnose", None)
    if getattr(options, "no_live_read", False):
        report.add(Step("trust", title("trust"), SKIP, "the relying party's live configuration",
                        "not read (--no-live-read)", relying_party=key))
    elif diagnose is None:
        report.add(Step("trust", title("trust"), SKIP, "the relying party's live configuration",
                        f"{kind.title} has no live check; step 5 asks it directly", relying_party=key))
    else:
        progress(f"4/5 read {kind.title}'s live configuration")
        for step in _run_diagnose(diagnose, exported, workload, facts, options, key, progress, hooks):
            report.add(step)

    # 5. Exchange, with the same token
    def supplier_for(wanted_audience: str, wanted_algorithm: str) -> Any:
        if (wanted_audience, wanted_algorithm) == (audience, algorithm):
            return supplier
        return AwsTokenSupplier([wanted_audience], signing_algorithm=wanted_algorithm, sts_client=sts,
                                background_refresh=False, progress=progress)

    if runtime is None or not hasattr(runtime, "exchange"):
        report.add(Step("exchange", title("exchange"), SKIP, "", f"{kind.title} has no exchange", relying_party=key))
        return
    progress(f"5/5 exchange the token at {kind.title}")
    report.add(check_exchange(runtime, exported, workload, options, supplier_for, key, progress,
                              **_accepted(runtime.exchange, hooks)))


def _accepted(function: Callable[..., Any], hooks: Mapping[str, Any]) -> dict[str, Any]:
    """The hooks ``function`` takes by name (all of them when it takes ``**kwargs``)."""
    import inspect

    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(hooks)
    return {name: value for name, value in hooks.items() if name in parameters}


def _replace(report: DoctorReport, old: Step, new: Step) -> None:
    if new is not old:
        report.steps[report.steps.index(old)] = new


def _claims_step(facts: TokenFacts, kind: Any, exported_workload: Mapping[str, Any], key: str) -> Step:
    code = "claims"
    checked = "the token's claims and header, decoded (the token is never printed)"
    details = {"iss": facts.claims.get("iss"), "sub": facts.claims.get("sub"), "aud": facts.claims.get("aud"),
               "alg": facts.algorithm, "awsAccount": facts.aws.get("aws_account")}
    expected_subject = exported_workload.get("subject") or exported_workload.get("roleArn")
    differs = difference("sub", expected_subject, facts.claims.get("sub")) if expected_subject else None
    if differs is not None:
        return Step(code, title(code), FAIL, checked,
                    "\n".join([f"the token's sub is not the subject the stack exported: {differs.explanation}",
                               *differs.lines("exported", "token")]),
                    "the role was replaced or renamed since the outputs were read: read them again, and point every "
                    "relying party at the role's current ARN", "claims.subject-differs", key,
                    {**details, "difference": differs.to_dict()})
    if facts.algorithm not in tuple(kind.accepted_algorithms):
        return Step(code, title(code), FAIL, checked,
                    f"the token is signed with {facts.algorithm}; {kind.title} accepts {', '.join(kind.accepted_algorithms)}",
                    f"request {kind.accepted_algorithms[0]} and allow it in the role's token policy",
                    "claims.algorithm-not-accepted", key, details)
    return Step(code, title(code), PASS, checked, facts.summary(), relying_party=key, details=details)


def _run_diagnose(diagnose: Callable[..., Sequence[Step]], exported: Mapping[str, Any], workload: str,
                  facts: TokenFacts, options: argparse.Namespace, key: str, progress: Callable[[str], None],
                  hooks: Mapping[str, Any]) -> list[Step]:
    try:
        steps = list(diagnose(exported, workload, facts, options, kind=key, progress=progress,
                              **_accepted(diagnose, hooks)))
    except (MissingDependencyError, ImportError) as error:
        from .dependencies import missing_dependency_for

        missing = error if isinstance(error, MissingDependencyError) else missing_dependency_for(error)
        return [Step("trust", title("trust"), UNCHECKED, "the relying party's live configuration", str(missing),
                     getattr(missing, "install", ""), "trust.missing-dependency", key)]
    except FederationError as error:
        return [Step("trust", title("trust"), UNCHECKED, "the relying party's live configuration", str(error), "",
                     f"trust.{error.code}", key)]
    except Exception as error:  # noqa: BLE001 - a hook's bug must not read as a pass
        return [Step("trust", title("trust"), UNCHECKED, "the relying party's live configuration",
                     f"the check failed ({type(error).__name__}: {error}); this is a bug in fedctl", "",
                     "trust.error", key)]
    for step in steps:
        step.relying_party = step.relying_party or key
        step.title = step.title or title(step.code)
    return steps


__all__ = ["DoctorReport", "check_caller", "check_federation", "doctor", "exported_issuer", "parse_principal",
           "simulate", "token_facts"]
