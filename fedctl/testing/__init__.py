"""Test doubles shared by the tests, the benchmarks and the offline preview; never used by the runtime.

- :mod:`fedctl.testing.mocks`: a stand-in cloud for Pulumi's mock runtime, and a monitor that
  records every registration (the offline preview runs programs against it);
- :mod:`fedctl.testing.issuer`: a local issuer with AWS's shapes (keys, claims, discovery), served
  on 127.0.0.1 (the trust rehearsal mints its tokens);
- :mod:`fedctl.testing.standins`: loopback servers that speak STS, Entra and Google STS well
  enough for the real boto3, azure-identity and google-auth clients.

Example::

    from fedctl.testing.issuer import LocalIssuer
    from fedctl.testing.standins.sts import StsStandin

    with StsStandin(LocalIssuer()).serve() as sts:
        sts.client().get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
"""
