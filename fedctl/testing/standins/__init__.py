"""Local stand-ins for the cloud endpoints the runtime library talks to.

Each one is a real HTTP(S) server on 127.0.0.1 (a free port) run in a daemon thread by a
context manager, judging requests the way the real service does, with a bounded lifetime so a
forgotten one stops by itself:

- :mod:`.sts`: AWS STS ``GetWebIdentityToken`` and ``GetCallerIdentity`` (Query protocol, XML answers).
- :mod:`.iam`: AWS IAM's federation switch and issuer, and its policy simulator (judges STS's token requests too).
- :mod:`.entra`: Microsoft Entra's token endpoint, over HTTPS with a throwaway CA (and Graph and ARM
  listing federated credentials).
- :mod:`.google_sts`: Google STS token exchange and IAM Credentials impersonation.
- :mod:`.gcp_iam`: Google's IAM API (providers, service accounts' policies) and a reader's token endpoint.
- :mod:`.kube_apiserver`: kube-apiserver's SelfSubjectReview, judged by a structured JWT authenticator.

Tokens are minted and judged with :class:`fedctl.testing.issuer.LocalIssuer` keys.
"""
