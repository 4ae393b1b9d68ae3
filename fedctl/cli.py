"""The ``fedctl`` command line.

    fedctl preview [--cwd DIR] [--stack NAME] [--json | --markdown]   review a Pulumi program offline
    fedctl token --audience AUD [--raw | --format FORMAT]             mint a token as the current role
    fedctl verify --issuer URL --audience AUD < token                 verify a token like a relying party
    fedctl exchange RELYING_PARTY --workload NAME [--outputs FILE]     prove a deployed trust works
    fedctl doctor --workload NAME [--outputs FILE] [--json]             why does this trust not work, right now
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

from components.rules.facts import SIGNING_ALGORITHMS

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def _progress(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            print(f"fedctl: {message}...", file=sys.stderr, flush=True)
    return say


def _preview(options: argparse.Namespace) -> int:
    # Imported here: the preview needs the Pulumi SDKs, the rest of fedctl does not.
    from .preview.pipeline import load_policy_config, load_stack_reference, run_preview
    from .preview.render import render_json, render_markdown, render_text

    references = dict(load_stack_reference(spec) for spec in options.stack_reference or [])
    result = run_preview(
        Path(options.cwd), options.stack, stack_references=references,
        policy_pack=Path(options.policy_pack) if options.policy_pack else None,
        use_policy_pack=not options.no_policy_pack,
        policy_config=load_policy_config(Path(options.policy_pack_config) if options.policy_pack_config else None),
        rehearsal=not options.no_rehearsal,
        progress=_progress(options.quiet),
    )
    if options.graph_image:
        drawn = result.graph.render_png(Path(options.graph_image))
        print(f"fedctl: trust graph drawn to {drawn}" if drawn else
              "fedctl: graphviz (dot) is not installed; no image drawn", file=sys.stderr)
    render = render_json if options.json else render_markdown if options.markdown else render_text
    print(render(result.to_document()))
    if result.unjudged:
        # A policy could not judge a federation resource (a value only known after deployment): that
        # is not a pass. Findings still win, since they are certain.
        print(f"fedctl preview: {len(result.unjudged)} policy judgements could not run offline (unknown values); "
              "the preview cannot say these resources are safe", file=sys.stderr)
    return EXIT_VIOLATIONS if result.failed else EXIT_ERROR if result.unjudged else EXIT_OK


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
    from .errors import ValidationError
    from .tokens import AwsTokenSupplier
    from components.rules import Violation

    tags = {}
    for item in options.tag or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError("fedctl token", [Violation("--tag", item, "must be KEY=VALUE", code="cli.tag")])
        tags[key] = value
    # One token, then exit: no background thread; say on stderr what a newly enabled account waits for.
    # Errors reach main(): 1 when STS refused (a finding), 2 when it could not ask (input, region, feature off).
    supplier = AwsTokenSupplier(options.audience, signing_algorithm=options.algorithm,
                                duration_seconds=options.duration, tags=tags or None,
                                region=options.region, sts_client=_sts_client(options),
                                ready_timeout=options.ready_timeout, background_refresh=False,
                                progress=_progress(False))
    token = supplier.get_token()
    formats = _token_formats()
    if options.format in formats:
        # A relying party's own format (e.g. the response its SDK's executable credential source reads).
        print(formats[options.format](token, supplier.expires_in))
    elif options.format == "raw":
        print(token)
    else:
        print(json.dumps(decode_claims(token), indent=2, sort_keys=True))
    return EXIT_OK


def _verify(options: argparse.Namespace) -> int:
    from .verify import TokenVerifier

    # Errors reach main(): 1 when the token is bad, 2 when the issuer's keys could not be fetched.
    token = sys.stdin.read().strip()
    verifier = TokenVerifier(options.issuer, options.audience,
                             algorithms=tuple(options.algorithm or SIGNING_ALGORITHMS),
                             subjects=options.subject or None, fetch_timeout=options.fetch_timeout)
    claims = verifier.verify(token)
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
    from .exchange import exchange, token_supplier_factory

    result = exchange(options.relying_party_command, _stack_outputs(options), options.workload, options,
                      supplier_for=token_supplier_factory(region=options.region, sts_client=_sts_client(options),
                                                          progress=_progress(False)),
                      progress=_progress(False))
    print(result.summary)
    return EXIT_OK


def _doctor(options: argparse.Namespace) -> int:
    from .doctor import doctor

    # Read-only, step by step; its exit code is the report's: 1 a step found the trust broken,
    # 2 a step could not check (findings win), 0 every step passed.
    report = doctor(_stack_outputs(options), options.workload, options, progress=_progress(options.quiet))
    print(report.render_json() if options.json else report.render_text())
    return report.exit_code


class _FirstWins:
    """Adds options to a parser, skipping any another relying party already added (the first one wins).

    ``fedctl doctor`` takes every kind's exchange and diagnose options on one command line; two kinds
    naming the same option (``--server``) share it rather than break the parser.
    """

    def __init__(self, parser: Any) -> None:
        self._parser = parser

    def add_argument(self, *names: str, **kwargs: Any) -> Any:
        try:
            return self._parser.add_argument(*names, **kwargs)
        except argparse.ArgumentError:
            return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def _token_formats() -> dict[str, Any]:
    """Output formats of ``fedctl token`` that relying parties add (their runtime's ``TOKEN_FORMATS``)."""
    from components.relying_parties import KINDS

    formats: dict[str, Any] = {}
    for kind in KINDS:
        if kind.runtime:
            formats.update(getattr(kind.load(kind.runtime), "TOKEN_FORMATS", {}))
    return formats


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fedctl", description="AWS outbound identity federation toolkit.",
        epilog="Exit codes: 0 everything was checked and passed; 1 findings (a violated policy, a wrong rehearsal "
               "cell, a refused token); 2 the command could not do its job (usage, environment, a crash).")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
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
    preview.add_argument("--no-policy-pack", action="store_true",
                         help="run no policy pack (the report then says no policy judged the program)")
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
    token.add_argument("--algorithm", default="RS256", choices=list(SIGNING_ALGORITHMS))
    token.add_argument("--duration", type=int, default=300, help="lifetime in seconds (60-3600, default 300)")
    token.add_argument("--tag", action="append", help="request tag KEY=VALUE (repeatable)")
    token.add_argument("--ready-timeout", type=float, default=30, metavar="SECONDS",
                       help="right after the account enables federation AWS refuses tokens for ~10 s: "
                            "keep retrying that refusal this long (default 30, 0: do not wait)")
    shown = token.add_mutually_exclusive_group()
    shown.add_argument("--raw", dest="format", action="store_const", const="raw",
                       help="print the raw token (a credential: handle it like one)")
    formats = _token_formats()
    shown.add_argument("--format", choices=["claims", "raw", *formats], default="claims",
                       help="claims (default), raw, or a relying party's format: "
                            + "; ".join(f"{name}: {getattr(render, '__doc__', '') or ''}".strip()
                                        for name, render in formats.items()))
    aws_options(token)
    token.set_defaults(handler=_token)

    verify = commands.add_parser("verify", help="verify a token from stdin as a relying party would")
    verify.add_argument("--issuer", required=True, help="the issuer the token must come from")
    verify.add_argument("--audience", action="append", required=True, help="an accepted audience (repeatable)")
    verify.add_argument("--subject", action="append", help="an accepted subject, i.e. role ARN (repeatable)")
    verify.add_argument("--algorithm", action="append", choices=list(SIGNING_ALGORITHMS), help="accepted algorithm")
    verify.add_argument("--fetch-timeout", type=float, default=10, metavar="SECONDS",
                        help="longest wait for the issuer's discovery document and keys, all in (default 10)")
    verify.set_defaults(handler=_verify)

    exchange = commands.add_parser("exchange", help="prove a deployed trust works: AWS token -> relying party token",
                                   description="Mint the workload's AWS token and exchange it at its relying party, "
                                               "reading the stack's outputs. Access tokens are never printed.")
    relying_parties = exchange.add_subparsers(dest="relying_party_command", required=True, metavar="RELYING_PARTY")
    from components.relying_parties import KINDS

    for command, kinds in sorted(KINDS.commands().items()):
        runtime = kinds[0].load(kinds[0].runtime)
        sub = relying_parties.add_parser(command, help=" or ".join(kind.title for kind in kinds))
        sub.add_argument("--workload", required=True, help="the workload name in the stack outputs")
        sub.add_argument("--outputs", help="`pulumi stack output --json` saved to a file (- for stdin)")
        sub.add_argument("--stack", help="read the outputs with the Pulumi CLI from this stack")
        if len(kinds) > 1:
            sub.add_argument("--relying-party", choices=[kind.key for kind in kinds],
                             help="which one, when the workload is trusted by several")
        runtime.add_arguments(sub)
        aws_options(sub)
        sub.set_defaults(handler=_exchange)

    doctor = commands.add_parser(
        "doctor", help="why does this trust not work, right now: read-only checks, step by step",
        description="Run as the workload's role (and, for the relying party's side, with read access to it): "
                    "1 who am I (STS GetCallerIdentity), 2 is federation on (IAM), 3 mint a token for the relying "
                    "party (and on refusal, which policy: the IAM policy simulator), 4 compare the token's claims "
                    "with the relying party's live configuration, 5 exchange it. Each step says what it checked, "
                    "what it found and the fix. Never prints a token or secret. Exits 0 when every step passed, "
                    "1 when a step found the trust broken, 2 when a step could not check.")
    doctor.add_argument("--workload", required=True, help="the workload name in the stack outputs")
    doctor.add_argument("--outputs", help="`pulumi stack output --json` saved to a file (- for stdin)")
    doctor.add_argument("--stack", help="read the outputs with the Pulumi CLI from this stack")
    doctor.add_argument("--relying-party", choices=[kind.key for kind in KINDS],
                        help="check only this relying party of the workload (default: every one it has)")
    doctor.add_argument("--json", action="store_true", help="print one JSON object: the verdict and every step")
    doctor.add_argument("--iam-endpoint", help="an explicit IAM endpoint URL (tests)")
    doctor.add_argument("--ready-timeout", type=float, default=0, metavar="SECONDS",
                        help="keep retrying a newly enabled account's refusals this long (default 0: report now)")
    doctor.add_argument("--no-live-read", action="store_true",
                        help="do not read the relying party's configuration (step 4): no read access to it")
    doctor.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    aws_options(doctor)
    added: set[str] = set()
    for kind in KINDS:
        if not kind.runtime or kind.runtime in added:
            continue
        added.add(kind.runtime)
        runtime = kind.load(kind.runtime)
        group = _FirstWins(doctor.add_argument_group(f"{kind.title} ({runtime.COMMAND})"))
        runtime.add_arguments(group)
        if hasattr(runtime, "add_diagnose_arguments"):
            runtime.add_diagnose_arguments(group)
    # Doctor reports what the relying party answers now: no waiting for a new credential to propagate.
    doctor.set_defaults(handler=_doctor, wait=0)
    return parser


# The extra whose install a missing module most likely lacks, per command.
_EXTRA_OF_COMMAND = {"preview": "preview", "token": "runtime", "verify": "runtime", "exchange": "runtime",
                     "doctor": "runtime"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code means one thing (see the parser's epilog).

    Every error the library raises on purpose carries its exit code; a missing optional package
    becomes the exact ``pip install`` to run; anything else is our bug, reported as such (exit 2).
    Tracebacks only with ``--debug``.
    """
    from .dependencies import missing_dependency_for
    from .errors import FederationError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
    except ImportError as error:
        print(f"fedctl: {missing_dependency_for(error)}", file=sys.stderr)
        return EXIT_ERROR
    options = parser.parse_args(argv)
    prefix = f"fedctl {options.command}"
    try:
        return options.handler(options)
    except FederationError as error:
        _report(options, prefix, error)
        return error.exit_code
    except ImportError as error:
        _report(options, prefix, missing_dependency_for(error, prefer=_EXTRA_OF_COMMAND.get(options.command)))
        return EXIT_ERROR
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        _report(options, prefix, error)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - our bug: say so, exit 2, never pretend it passed
        _report(options, prefix, error, bug=True)
        return EXIT_ERROR


def _report(options: argparse.Namespace, prefix: str, error: BaseException, *, bug: bool = False) -> None:
    if options.debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    if bug:
        print(f"{prefix}: internal error ({type(error).__name__}: {error}); this is a bug in fedctl"
              + ("" if options.debug else ": run again with --debug for the traceback"), file=sys.stderr)
    else:
        print(f"{prefix}: {error}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
