"""The ``fedctl`` command line.

    fedctl preview [--cwd DIR] [--stack NAME] [--json | --markdown]   review a Pulumi program offline
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

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
    from .preview.pipeline import load_policy_config, run_preview
    from .preview.render import render_json, render_markdown, render_text
    from .project import ProjectError

    try:
        result = run_preview(
            Path(options.cwd), options.stack,
            policy_pack=Path(options.policy_pack) if options.policy_pack else None,
            policy_config=load_policy_config(Path(options.policy_pack_config) if options.policy_pack_config else None),
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
    return EXIT_VIOLATIONS if result.mandatory_violations else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedctl", description="AWS outbound identity federation toolkit.")
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser(
        "preview", help="run a Pulumi Python program offline: plan, policy verdicts, trust graph",
        description="Run a Pulumi Python program on the SDK's mock runtime (no CLI, no credentials), "
                    "check it with the policy pack over the analyzer protocol, and draw its trust graph. "
                    "Exits 1 when a mandatory policy is violated, 2 when the program cannot run.")
    preview.add_argument("--cwd", default=".", help="the Pulumi project directory (default: .)")
    preview.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml to use (default: dev)")
    formats = preview.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object")
    formats.add_argument("--markdown", action="store_true", help="print Markdown for a pull request comment")
    preview.add_argument("--policy-pack", help="policy pack directory (default: the project's policy/, else ours)")
    preview.add_argument("--policy-pack-config", help="JSON file of policy config, as for pulumi --policy-pack-config")
    preview.add_argument("--graph-image", help="also draw the trust graph to this PNG (needs graphviz)")
    preview.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    preview.set_defaults(handler=_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    return options.handler(options)


if __name__ == "__main__":
    sys.exit(main())
