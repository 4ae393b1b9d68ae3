"""The CEL judge for tests: cel-python with GCP's string functions, plus AWS-shaped claims.

The evaluator is ``fedctl.preview.cel`` (cel-python does the evaluating; only GCP's documented
``extract()`` and CEL's ``split()`` are registered on top, in the GCP kind's ``cel`` module).
"""

from __future__ import annotations

from typing import Any

from components.relying_parties.gcp.cel import ERROR, GcpCel as CelJudge, gcp_extract  # noqa: F401 - re-exported
from fedctl.preview.cel import CelError, cel_split  # noqa: F401 - re-exported


def aws_claims(role_arn: str, account_id: str | None = None, audience: str = "https://example.com",
               **nested: Any) -> dict[str, Any]:
    """Claims shaped like an AWS outbound token of ``role_arn`` (account taken from the ARN by default)."""
    account = account_id or role_arn.split(":")[4]
    return {
        "iss": "https://00000000-0000-0000-0000-000000000000.tokens.sts.global.api.aws",
        "sub": role_arn,
        "aud": audience,
        "iat": 1767225600,
        "exp": 1767225900,
        "jti": "2f7d1c0e-3a5b-4f59-9a1d-6c0b8e4d2a11",
        "https://sts.amazonaws.com/": {
            "aws_account": account,
            "source_region": "eu-west-1",
            "principal_id": role_arn,
            "org_id": "o-abcdefghij",
            "ou_path": ["o-abcdefghij/r-ab12/ou-ab12-11111111/"],
            **nested,
        },
    }
