"""What the review tooling knows of a run: its resources, its roles, and every relying party in it.

Built once per preview from the recorded registrations and shared by the trust graph and the
rehearsal. Each relying-party kind reads its own resource types through :meth:`Review.of_type`
and returns :class:`~components.relying_parties.base.PlannedTrust` s (``ReviewHooks.trusts``);
nothing here names a kind.

Example::

    review = Review(run.monitor.registrations.values())
    for trust in review.trusts():
        print(trust.relying_party, trust.roles, trust.audience)
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Mapping, Sequence

from components.relying_parties import KINDS, PlannedTrust
from components.rules import aws as aws_rules
from components.rules.facts import (
    AWS_CLAIMS,
    MANAGED_POLICY_TYPE,
    NATIVE_ROLE_POLICY_TYPE,
    NATIVE_ROLE_TYPE,
    ORGANIZATIONS_POLICY_ATTACHMENT_TYPE,
    ORGANIZATIONS_POLICY_TYPE,
    ROLE_COMPONENT,
    ROLE_POLICY_ATTACHMENT_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    SERVICE_CONTROL_POLICY,
)


class Review:
    """The registrations of one run, with the questions the graph and the rehearsal ask of them."""

    def __init__(self, registrations: Iterable[Any]):
        # By URN: the order the SDK's async work registered them in changes from run to run.
        self.registrations = sorted(registrations, key=lambda r: r.urn)
        self._by_type: dict[str, list[Any]] = {}
        self._shared: dict[str, Any] = {}
        for registration in self.registrations:
            self._by_type.setdefault(registration.type, []).append(registration)

    def of_type(self, *types: str) -> list[Any]:
        return [r for t in types for r in self._by_type.get(t, [])]

    # -- roles and their token policies -------------------------------------------------------

    @functools.cached_property
    def planned_roles(self) -> list[str]:
        """Every role ARN in the run: created roles, and existing ones our components use."""
        roles = [r.outputs.get("arn") for r in self.of_type(ROLE_TYPE) if r.outputs.get("arn")]
        roles += [r.outputs.get("arn") for r in self.of_type(NATIVE_ROLE_TYPE) if r.outputs.get("arn")]
        roles += [r.component_outputs.get("subject") for r in self.of_type(ROLE_COMPONENT)
                  if isinstance(r.component_outputs.get("subject"), str)]
        return list(dict.fromkeys(arn for arn in roles if aws_rules.parse_role_arn(arn)))

    def token_policies(self, role_arn: str) -> list[Any] | None:
        """The identity policies attached to a role in this run, or None when none is visible here.

        Inline policies (``RolePolicy``, a role's ``inlinePolicies``, aws-native's
        ``policies``) and managed policies attached by ``RolePolicyAttachment`` or
        ``managedPolicyArns`` whose document is in the run.
        """
        parsed = aws_rules.parse_role_arn(role_arn)
        if parsed is None:
            return None
        name = parsed.name
        documents: list[Any] = []
        attached: list[str] = []
        for role in self.of_type(ROLE_TYPE, NATIVE_ROLE_TYPE):
            if role.outputs.get("arn") == role_arn:
                documents += [p.get("policy") or p.get("policyDocument")
                              for p in (role.inputs.get("inlinePolicies") or role.inputs.get("policies") or [])
                              if isinstance(p, Mapping)]
                attached += list(role.inputs.get("managedPolicyArns") or [])
        for policy in self.of_type(ROLE_POLICY_TYPE, NATIVE_ROLE_POLICY_TYPE):
            if policy.inputs.get("role") in (name, role_arn) or policy.inputs.get("roleName") == name:
                documents.append(policy.inputs.get("policy") or policy.inputs.get("policyDocument"))
        for attachment in self.of_type(ROLE_POLICY_ATTACHMENT_TYPE):
            if attachment.inputs.get("role") in (name, role_arn):
                attached.append(attachment.inputs.get("policyArn"))
        managed = {p.outputs.get("arn"): p.inputs.get("policy") for p in self.of_type(MANAGED_POLICY_TYPE)}
        documents += [managed[arn] for arn in attached if arn in managed]
        documents = [d for d in documents if d]
        return documents or None

    def guardrails(self, role_arn: str) -> tuple[list[Any], list[str]]:
        """The organisation's SCPs in this run that surely apply to a role, and notes on those that may.

        An SCP attached to the root applies to every member account; one attached to the role's
        account applies to it. Whether an account is under an OU is not in the run: those SCPs are
        named in the notes, never silently applied or ignored.
        """
        parsed = aws_rules.parse_role_arn(role_arn)
        policies = {p.id or p.outputs.get("id"): p for p in self.of_type(ORGANIZATIONS_POLICY_TYPE)
                    if (p.inputs.get("type") or SERVICE_CONTROL_POLICY) == SERVICE_CONTROL_POLICY}
        applied: list[Any] = []
        notes: list[str] = []
        for attachment in self.of_type(ORGANIZATIONS_POLICY_ATTACHMENT_TYPE):
            policy = policies.get(attachment.inputs.get("policyId"))
            target = attachment.inputs.get("targetId")
            if policy is None or not isinstance(target, str):
                continue
            if target.startswith("r-") or (parsed and target == parsed.account_id):
                applied.append(policy.inputs.get("content"))
            elif target.startswith("ou-"):
                notes.append(f"{policy.name} applies only if account {parsed.account_id if parsed else '?'} is "
                             f"under {target}")
        return [d for d in applied if d], sorted(set(notes))

    # -- relying parties ----------------------------------------------------------------------

    @functools.cached_property
    def all_trusts(self) -> list[PlannedTrust]:
        return [trust for hook in KINDS.trust_hooks() for trust in hook(self)]

    def trusts(self) -> list[PlannedTrust]:
        return self.all_trusts

    # -- helpers for the kinds' judges ----------------------------------------------------------

    def shared(self, key: str, build: Any) -> Any:
        """One object per run for a kind's judges (a CEL evaluator, a server): ``build()`` on first use.

        Whatever has a ``close()`` is closed by :meth:`close` when the preview is done (a server the
        judge started is stopped).
        """
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def close(self) -> None:
        """Release what the kinds' judges started, last first."""
        for value in reversed(list(self._shared.values())):
            closing = getattr(value, "close", None)
            if callable(closing):
                closing()
        self._shared.clear()

    def __enter__(self) -> "Review":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def claims_for(role_arn: str, audience: str, issuer: str = "") -> dict[str, Any]:
        """The claims STS puts in a token of this role, without signing one (to evaluate mappings)."""
        parsed = aws_rules.parse_role_arn(role_arn)
        account = parsed.account_id if parsed else ""
        return {"iss": issuer, "sub": role_arn, "aud": audience,
                AWS_CLAIMS: {"aws_account": account, "source_region": "eu-west-1", "principal_id": role_arn}}

    @staticmethod
    def verify(token: str, *, issuer: str, audiences: Sequence[str], jwks: Mapping[str, Any],
               algorithms: Sequence[str], subjects: Sequence[str] | None = None) -> tuple[dict | None, str]:
        """Verify a token as a relying party would: (claims, "") when accepted, (None, reason) when not."""
        from fedctl.errors import TokenRejected
        from fedctl.verify import TokenVerifier

        try:
            verifier = TokenVerifier(issuer, list(audiences), algorithms=tuple(algorithms), subjects=subjects,
                                     jwks=jwks, leeway=0)
            return verifier.verify(token), ""
        except TokenRejected as rejection:
            return None, rejection.reason
        except ValueError as error:  # an issuer no verifier would accept (not https, a path, ...)
            return None, f"unusable issuer ({error})"
