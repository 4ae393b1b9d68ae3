"""An AWS IAM stand-in: the account's federation switch, its issuer, and the IAM policy simulator.

It speaks the Query protocol botocore uses (form-encoded POST, XML answers) for:

- ``GetOutboundWebIdentityFederationInfo``: the issuer and ``JwtVendingEnabled`` when the switch is
  on, ``FeatureDisabled`` (404) when it is off (botocore's IAM model);
- ``SimulatePrincipalPolicy``: evaluates the role's identity policies (and its permissions
  boundary) for the request context given in ``ContextEntries``, one statement at a time, and
  answers like IAM: ``EvalDecision``, the ``MatchedStatements`` that decided (policy name, type and
  the statement's start and end position in the policy document as stored), and
  ``PermissionsBoundaryDecisionDetail``. An implicit deny names no statement. SCPs are not simulated.

It also judges ``GetWebIdentityToken`` for :class:`~fedctl.testing.standins.sts.StsStandin`
(``StsStandin(issuer, iam=iam)``): the switch, then the organisation's SCPs, then the role's
policies and boundary, refusing with AWS's ``AccessDenied`` texts ("... with an explicit deny in a
service control policy", "... because no identity-based policy allows ..."). A role without
registered policies is allowed, so tests that do not care need not write any.

Example::

    iam = IamStandin(issuer.issuer, policies={ROLE_ARN: [("token-policy", "role", TOKEN_POLICY)]})
    with iam.serve(), StsStandin(issuer, iam=iam).serve() as sts:
        iam.client().simulate_principal_policy(PolicySourceArn=ROLE_ARN, ActionNames=["sts:GetWebIdentityToken"])
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from components.rules.facts import TOKEN_ACTION
from components.rules.policy_audits import TokenRequest, statement_applies
from fedctl.testing.issuer import LocalHandler, local_server

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"

Policy = tuple[str, str, Mapping[str, Any]]
"""(policy name, ``SourcePolicyType`` such as ``role`` for an inline policy or ``user-managed``, document)."""


class IamError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def session_arn(role_arn: str, session: str = "fedctl-standin") -> str:
    """The assumed-role session ARN of a role ARN: no path, as STS writes it."""
    head, _, resource = role_arn.partition(":role/")
    partition_and_account = head.replace(":iam::", ":sts::")
    return f"{partition_and_account}:assumed-role/{resource.rsplit('/', 1)[-1]}/{session}"


def _account(role_arn: str) -> str:
    return role_arn.split(":")[4]


class IamStandin:
    """IAM for one account: the federation switch, the roles' policies, the organisation's SCPs.

    Args:
        issuer: The account's issuer URL (what GetOutboundWebIdentityFederationInfo returns).
        enabled: Whether outbound identity federation is on.
        policies: role ARN -> its identity policies, ``(name, type, document)``.
        boundaries: role ARN -> its permissions boundary document.
        scps: ``(policy id, document)`` of the SCPs that apply to the account.

    Attributes:
        denied: Actions (``GetOutboundWebIdentityFederationInfo``, ``SimulatePrincipalPolicy``) the
            caller may not call: they get ``AccessDenied``.
        calls: The ``Action`` of every request, in order.
        simulations: The parsed parameters of every ``SimulatePrincipalPolicy``.
    """

    def __init__(self, issuer: str, *, enabled: bool = True,
                 policies: Mapping[str, Sequence[Policy]] | None = None,
                 boundaries: Mapping[str, Mapping[str, Any]] | None = None,
                 scps: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> None:
        self.issuer = issuer
        self.enabled = enabled
        self.policies = {arn: list(found) for arn, found in (policies or {}).items()}
        self.boundaries = dict(boundaries or {})
        self.scps = list(scps)
        self.denied: set[str] = set()
        self.calls: list[str] = []
        self.simulations: list[dict[str, Any]] = []
        self.endpoint_url: str | None = None
        self._lock = threading.Lock()

    def client(self, **overrides: Any) -> Any:
        """A boto3 IAM client pointed at this stand-in, with dummy credentials and no retries."""
        import boto3
        import botocore.config

        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "x", "config": botocore.config.Config(retries={"total_max_attempts": 1}),
        }
        options.update(overrides)
        return boto3.client("iam", **options)

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["IamStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                try:
                    status, body = standin._handle(self.headers, self.read_body())
                except IamError as error:
                    status, body = error.status, _error_xml(error.code, error.message)
                except Exception as error:  # answer, never drop the connection
                    status, body = 500, _error_xml("ServiceFailure", f"stand-in failed: {type(error).__name__}")
                self.send_body(status, body.encode(), "text/xml")

        with local_server(Handler, lifetime=lifetime) as server:
            self.endpoint_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    # -- judging a token request (for the STS stand-in) --------------------------------------

    def authorize(self, role_arn: str, params: Mapping[str, Any]) -> tuple[str, str, int] | None:
        """None when STS would mint this token for ``role_arn``, else (code, message, status) as STS answers."""
        if not self.enabled:
            return ("OutboundWebIdentityFederationDisabledException",
                    "Outbound web identity federation is disabled for this account", 403)
        request = TokenRequest(tuple(params["Audience"]), params["SigningAlgorithm"], params["DurationSeconds"],
                               params.get("Tags") or {}, _account(role_arn))
        context = {**request.context(), "aws:principalarn": [role_arn]}
        refused = (f"User: {session_arn(role_arn)} is not authorized to perform: {TOKEN_ACTION} on resource: "
                   f"arn:aws:sts::{_account(role_arn)}:self")
        for _, document in self.scps:
            if any(statement_applies(s, TOKEN_ACTION, "Deny", context, _account(role_arn)) for s in _statements(document)):
                return "AccessDenied", f"{refused} with an explicit deny in a service control policy", 403
        if role_arn not in self.policies:
            return None
        decision, _ = self._decide(role_arn, context)
        if decision == "explicitDeny":
            return "AccessDenied", f"{refused} with an explicit deny in an identity-based policy", 403
        if decision == "boundary":
            return "AccessDenied", f"{refused} because no permissions boundary allows the {TOKEN_ACTION} action", 403
        if decision == "implicitDeny":
            return "AccessDenied", f"{refused} because no identity-based policy allows the {TOKEN_ACTION} action", 403
        return None

    def _decide(self, role_arn: str, context: Mapping[str, list[str]]) -> tuple[str, list[dict[str, Any]]]:
        """('allowed' | 'explicitDeny' | 'implicitDeny' | 'boundary', the statements that decided)."""
        account = _account(role_arn)
        denies, allows = [], []
        for name, kind, document in self.policies.get(role_arn, []):
            for index, statement in enumerate(_statements(document)):
                where = {"SourcePolicyId": name, "SourcePolicyType": kind, **_position(document, index)}
                if statement_applies(statement, TOKEN_ACTION, "Deny", context, account):
                    denies.append(where)
                elif statement_applies(statement, TOKEN_ACTION, "Allow", context, account):
                    allows.append(where)
        if denies:
            return "explicitDeny", denies
        if not allows:
            return "implicitDeny", []
        boundary = self.boundaries.get(role_arn)
        if boundary is not None and not any(statement_applies(s, TOKEN_ACTION, "Allow", context, account)
                                            for s in _statements(boundary)):
            return "boundary", []
        return "allowed", allows

    # -- requests -----------------------------------------------------------------------------

    def _handle(self, headers: Any, body: bytes) -> tuple[int, str]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if not headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            raise IamError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        action = form.get("Action", "")
        with self._lock:
            self.calls.append(action)
        if form.get("Version") != "2010-05-08":
            raise IamError("InvalidParameterValue", "Version must be 2010-05-08")
        if action in self.denied:
            raise IamError("AccessDenied", f"User: arn:aws:sts::{_caller_account(self)}:assumed-role/caller/session is "
                           f"not authorized to perform: iam:{action} because no identity-based policy allows the "
                           f"iam:{action} action", 403)
        if action == "GetOutboundWebIdentityFederationInfo":
            if not self.enabled:
                raise IamError("FeatureDisabled", "Outbound web identity federation is disabled for this account.", 404)
            return 200, _response(action, f"<IssuerIdentifier>{escape(self.issuer)}</IssuerIdentifier>"
                                          "<JwtVendingEnabled>true</JwtVendingEnabled>")
        if action == "SimulatePrincipalPolicy":
            return 200, self._simulate(form)
        raise IamError("InvalidAction", f"Could not find operation {action!r}")

    def _simulate(self, form: Mapping[str, str]) -> str:
        role_arn = form.get("PolicySourceArn", "")
        actions = _members(form, "ActionNames")
        resources = _members(form, "ResourceArns") or ["*"]
        context: dict[str, list[str]] = {}
        n = 1
        while f"ContextEntries.member.{n}.ContextKeyName" in form:
            key = form[f"ContextEntries.member.{n}.ContextKeyName"].lower()
            context[key] = _members(form, f"ContextEntries.member.{n}.ContextKeyValues")
            n += 1
        with self._lock:
            self.simulations.append({"role": role_arn, "actions": actions, "resources": resources, "context": context})
        if role_arn not in self.policies:
            raise IamError("NoSuchEntity", f"The role with name {role_arn.rsplit('/', 1)[-1]} cannot be found.", 404)
        context["aws:principalarn"] = [role_arn]
        results = []
        for action in actions:
            decision, statements = self._decide(role_arn, context) if action == TOKEN_ACTION else ("implicitDeny", [])
            boundary = role_arn in self.boundaries
            shown = "implicitDeny" if decision == "boundary" else decision
            matched = "".join(
                "<member>"
                f"<SourcePolicyId>{escape(s['SourcePolicyId'])}</SourcePolicyId>"
                f"<SourcePolicyType>{escape(s['SourcePolicyType'])}</SourcePolicyType>"
                f"<StartPosition><Line>{s['start'][0]}</Line><Column>{s['start'][1]}</Column></StartPosition>"
                f"<EndPosition><Line>{s['end'][0]}</Line><Column>{s['end'][1]}</Column></EndPosition>"
                "</member>" for s in statements)
            detail = (f"<PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>"
                      f"{'false' if decision == 'boundary' else 'true'}</AllowedByPermissionsBoundary>"
                      "</PermissionsBoundaryDecisionDetail>") if boundary else ""
            results.append(
                "<member>"
                f"<EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>{escape(resources[0])}</EvalResourceName>"
                f"<EvalDecision>{shown}</EvalDecision>"
                f"<MatchedStatements>{matched}</MatchedStatements>"
                "<MissingContextValues/>"
                f"{detail}"
                "</member>")
        return _response("SimulatePrincipalPolicy", "<IsTruncated>false</IsTruncated>"
                                                    f"<EvaluationResults>{''.join(results)}</EvaluationResults>")


def _caller_account(standin: IamStandin) -> str:
    return next((_account(arn) for arn in standin.policies), "123456789012")


def _statements(document: Mapping[str, Any]) -> list[Any]:
    statements = document.get("Statement") or []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def stored_text(document: Mapping[str, Any]) -> str:
    """The policy document as the stand-in stores it (positions refer to this text)."""
    return json.dumps({**document, "Statement": _statements(document)}, indent=2)


def _position(document: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Start and end (line, column), 1-based, of statement ``index`` in :func:`stored_text`."""
    lines = stored_text(document).splitlines()
    starts = [number for number, line in enumerate(lines) if line == "    {"]
    ends = [number for number, line in enumerate(lines) if line in ("    }", "    },")]
    return {"start": (starts[index] + 1, 5), "end": (ends[index] + 1, 6)}


def _members(form: Mapping[str, str], prefix: str) -> list[str]:
    values, n = [], 1
    while f"{prefix}.member.{n}" in form:
        values.append(form[f"{prefix}.member.{n}"])
        n += 1
    return values


def _response(action: str, result: str) -> str:
    return (f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>")


def _error_xml(code: str, message: str) -> str:
    return (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")


__all__ = ["IamStandin", "NAMESPACE", "session_arn", "stored_text"]
