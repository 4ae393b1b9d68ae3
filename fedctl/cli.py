"""The ``fedctl`` command line.

    fedctl preview [--cwd DIR] [--stack NAME] [--json | --markdown]   review a Pulumi program offline
    fedctl token --audience AUD [--raw | --format google-executable]  mint a token as the current role
    fedctl verify --issuer URL --audience AUD < token                 verify a token like a relying party
    fedctl exchange azure|gcp --workload NAME [--outputs FILE]        prove a deployed trust works
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def _progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            print(f"fedctl: {message}...", file=sys.stderr, flush=True)
    return say


def _preview(options: argparse.Namespace) -> int:
    # Imported here: the preview needs the Pulumi SDKs, the rest of fedctl does not.
    from .preview.analyzer import PolicyPackError
    from .preview.engine import ProgramError
    from .preview.pipeline import load_policy_config, load_stack_reference, run_preview
    from .preview.render import render_json, render_markdown, render_text
    from .preview.project import ProjectError

    try:
        references = dict(load_stack_reference(spec) for spec in options.stack_reference or [])
        result = run_preview(
            Path(options.cwd), options.stack, stack_references=references,
            policy_pack=Path(options.policy_pack) if options.policy_pack else None,
            policy_config=load_policy_config(Path(options.policy_pack_config) if options.policy_pack_config else None),
            rehearsal=not options.no_rehearsal,
            progress=_progress(options.quiet),
        )
    except (ProjectError, ProgramError, PolicyPackError, ValueError, OSError) as error:
        print(f"fedctl preview: {error}", file=sys.stderr)
        return EXIT_ERROR
    if options.graph_image:
        drawn = result.graph.render_png(Path(options.graph_image))
        print(f"fedctl: trust graph drawn to {drawn}" if drawn else
              "fedctl: graphviz (dot) is not installed; no image drawn", file=sys.stderr)
    render = render_json if options.json else render_markdown if options.markdown else render_text
    print(render(result))
    return EXIT_VIOLATIONS if result.failed else EXIT_OK


def _sts_client(options: argparse.Namespace) -> Any:
    """A client for an explicit STS endpoint (a VPC endpoint, a test stand-in), else None."""
    if not getattr(options, "sts_endpoint", None):
        return None
    import boto3

    return boto3.client("sts", endpoint_url=options.sts_endpoint, region_name=options.region)


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified: for showing what a token says, never for trusting it."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as error:
        raise ValueError("not a JWT") from error


def _token(options: argparse.Namespace) -> int:
    import time

    from .errors import FederationError
    from .tokens import AwsTokenSupplier

    tags = {}
    for item in options.tag or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"fedctl token: --tag {item!r}: expected KEY=VALUE", file=sys.stderr)
            return EXIT_ERROR
        tags[key] = value
    try:
        # One token, then exit: no background thread; say on stderr what a newly enabled account waits for.
        supplier = AwsTokenSupplier(options.audience, signing_algorithm=options.algorithm,
                                    duration_seconds=options.duration, tags=tags or None,
                                    region=options.region, sts_client=_sts_client(options),
                                    ready_timeout=options.ready_timeout, background_refresh=False,
                                    progress=_progress(False))
        token = supplier.get_token()
    except FederationError as error:
        # 1: STS refused (a finding); 2: could not ask (bad input, no region, federation off).
        print(f"fedctl token: {error}", file=sys.stderr)
        return error.exit_code
    except ValueError as error:
        print(f"fedctl token: {error}", file=sys.stderr)
        return EXIT_ERROR
    if options.format == "google-executable":
        # The executable-sourced credential response google-auth reads (credential_source.executable).
        # google-auth compares expiration_time with this host's clock, so it is given in that
        # clock: now plus the life AWS gave the token, right even on a host whose clock is off.
        left = supplier.expires_in
        print(json.dumps({"version": 1, "success": True, "token_type": "urn:ietf:params:oauth:token-type:jwt",
                          "id_token": token,
                          "expiration_time": int(time.time() + left) if left is not None else None}))
    elif options.format == "raw":
        print(token)
    else:
        print(json.dumps(decode_claims(token), indent=2, sort_keys=True))
    return EXIT_OK


def _verify(options: argparse.Namespace) -> int:
    from .errors import FederationError, TokenRejected
    from .verify import TokenVerifier

    token = sys.stdin.read().strip()
    try:
        verifier = TokenVerifier(options.issuer, options.audience,
                                 algorithms=tuple(options.algorithm or ("RS256", "ES384")),
                                 subjects=options.subject or None, fetch_timeout=options.fetch_timeout)
        claims = verifier.verify(token)
    except TokenRejected as rejection:
        # 1: the token is bad; 2 (jwks_unavailable): the issuer's keys could not be fetched.
        print(f"fedctl verify: rejected ({rejection.reason}): {rejection}", file=sys.stderr)
        return rejection.exit_code
    except (FederationError, ValueError) as error:
        print(f"fedctl verify: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(claims, indent=2, sort_keys=True))
    return EXIT_OK


def _stack_outputs(options: argparse.Namespace) -> dict[str, Any]:
    if options.outputs:
        text = sys.stdin.read() if options.outputs == "-" else Path(options.outputs).read_text()
        return json.loads(text)
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise ValueError("give --outputs FILE (from `pulumi stack output --json`): the Pulumi CLI is not installed")
    command = [pulumi, "stack", "output", "--json"] + (["--stack", options.stack] if options.stack else [])
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout)


def _exchange(options: argparse.Namespace) -> int:
    from .errors import FederationError
    from .exchange import exchange_azure, exchange_gcp

    try:
        outputs = _stack_outputs(options)
        if options.cloud == "azure":
            extra = {"authority": options.authority, "disable_instance_discovery": True} if options.authority else {}
            result = exchange_azure(outputs, options.workload, scope=options.scope, region=options.region,
                                    sts_client=_sts_client(options), wait_seconds=options.wait,
                                    progress=_progress(False), **extra)
        else:
            result = exchange_gcp(outputs, options.workload, region=options.region, sts_client=_sts_client(options),
                                  token_url=options.token_url, impersonation_url=options.impersonation_url)
    except (FederationError, ValueError, OSError, subprocess.CalledProcessError) as error:
        print(f"fedctl exchange {options.cloud}: {error}", file=sys.stderr)
        return EXIT_VIOLATIONS
    print(result.summary)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedctl", description="AWS outbound identity federation toolkit.")
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser(
        "preview", help="run a Pulumi Python program offline: plan, policy verdicts, trust graph",
        description="Run a Pulumi Python program on the SDK's mock runtime (no CLI, no credentials), "
                    "check it with the policy pack over the analyzer protocol, and draw its trust graph. "
                    "Exits 1 when a mandatory policy is violated or the trust rehearsal finds a wrong cell, "
                    "2 when the program cannot run.")
    preview.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    preview.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml to use (default: dev)")
    formats = preview.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object")
    formats.add_argument("--markdown", action="store_true", help="print Markdown for a pull request comment")
    preview.add_argument("--policy-pack", help="policy pack directory (default: the project's policy/, else ours)")
    preview.add_argument("--policy-pack-config", help="JSON file of policy config, as for pulumi --policy-pack-config")
    preview.add_argument("--graph-image", help="also draw the trust graph to this PNG (needs graphviz)")
    preview.add_argument("--stack-reference", action="append", metavar="NAME=FILE",
                         help="outputs of a stack the program reads by StackReference (repeatable): "
                              "`pulumi stack output --json`, or a `fedctl preview --json` report")
    preview.add_argument("--no-rehearsal", action="store_true",
                         help="skip the trust rehearsal (tokens from a local issuer judged by each relying party)")
    preview.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    preview.set_defaults(handler=_preview)

    def aws_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--region", help="AWS region of the STS endpoint (default: the AWS SDK's)")
        command.add_argument("--sts-endpoint", help="an explicit STS endpoint URL (e.g. a VPC endpoint)")

    token = commands.add_parser("token", help="mint an outbound token as the current AWS role",
                                description="Call STS GetWebIdentityToken with the current credentials. "
                                            "Prints the decoded claims; the raw token only when asked.")
    token.add_argument("--audience", action="append", required=True, help="audience (repeatable)")
    token.add_argument("--algorithm", default="RS256", choices=["RS256", "ES384"])
    token.add_argument("--duration", type=int, default=300, help="lifetime in seconds (60-3600, default 300)")
    token.add_argument("--tag", action="append", help="request tag KEY=VALUE (repeatable)")
    token.add_argument("--ready-timeout", type=float, default=30, metavar="SECONDS",
                       help="right after the account enables federation AWS refuses tokens for ~10 s: "
                            "keep retrying that refusal this long (default 30, 0: do not wait)")
    shown = token.add_mutually_exclusive_group()
    shown.add_argument("--raw", dest="format", action="store_const", const="raw",
                       help="print the raw token (a credential: handle it like one)")
    shown.add_argument("--format", choices=["claims", "raw", "google-executable"], default="claims",
                       help="google-executable: the response google-auth's executable credential source reads")
    aws_options(token)
    token.set_defaults(handler=_token)

    verify = commands.add_parser("verify", help="verify a token from stdin as a relying party would")
    verify.add_argument("--issuer", required=True, help="the issuer the token must come from")
    verify.add_argument("--audience", action="append", required=True, help="an accepted audience (repeatable)")
    verify.add_argument("--subject", action="append", help="an accepted subject, i.e. role ARN (repeatable)")
    verify.add_argument("--algorithm", action="append", choices=["RS256", "ES384"], help="accepted algorithm")
    verify.add_argument("--fetch-timeout", type=float, default=10, metavar="SECONDS",
                        help="longest wait for the issuer's discovery document and keys, all in (default 10)")
    verify.set_defaults(handler=_verify)

    exchange = commands.add_parser("exchange", help="prove a deployed trust works: AWS token -> cloud token",
                                   description="Mint the workload's AWS token and exchange it at Azure or "
                                               "Google, reading the stack's outputs. Access tokens are "
                                               "never printed.")
    exchange.add_argument("cloud", choices=["azure", "gcp"])
    exchange.add_argument("--workload", required=True, help="the workload name in the stack outputs")
    exchange.add_argument("--outputs", help="`pulumi stack output --json` saved to a file (- for stdin)")
    exchange.add_argument("--stack", help="read the outputs with the Pulumi CLI from this stack")
    exchange.add_argument("--scope", default="https://management.azure.com/.default", help="Azure scope")
    exchange.add_argument("--wait", type=float, default=300,
                          help="seconds to keep retrying while Azure propagates a new credential (default 300)")
    exchange.add_argument("--authority", help="Entra authority URL (sovereign clouds, tests)")
    exchange.add_argument("--token-url", help="Google STS token URL (default: from the credential configuration)")
    exchange.add_argument("--impersonation-url", help="IAM Credentials API base URL, e.g. https://iamcredentials.googleapis.com/v1 (tests)")
    aws_options(exchange)
    exchange.set_defaults(handler=_exchange)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    return options.handler(options)


if __name__ == "__main__":
    sys.exit(main())
