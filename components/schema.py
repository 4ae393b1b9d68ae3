"""The package's public schema: what ``pulumi package add`` generates SDKs from, produced offline.

The provider plugin (``provider/__main__.py``) serves exactly :func:`components` under
:data:`PACKAGE_NAME`, and Pulumi infers their schema from the type annotations and docstrings of the
components and their ``...Args`` TypedDicts. This module runs the same inference (the SDK's
``ComponentProvider``, which the plugin host uses) without the Pulumi CLI, so the schema can be
committed as ``schema.json`` and reviewed as an API::

    python -m components.schema --output schema.json   # regenerate
    python -m components.schema --check schema.json    # exit 1 if the committed file is stale

``tests/test_schema.py`` fails when the two differ. See ``docs/maintainers.md`` before changing a
type token, a child's logical name or the schema.
"""

import argparse
import gc
import inspect
import json
import re
import sys
import typing
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Optional

import pulumi

from .aws import AccountFederation, FederatedRole
from .fleet import FederationFleet
from .guardrails import OrganizationGuardrails
from .relying_parties import KINDS
from .rules.facts import PACKAGE_NAME


def components() -> list[type[pulumi.ComponentResource]]:
    """Every component the package offers to other languages, in schema order: the AWS side, then
    each relying party's (from the registry; its SDK is imported here), then the fleet."""
    found: list[type[pulumi.ComponentResource]] = [AccountFederation, FederatedRole, OrganizationGuardrails]
    for kind in KINDS:
        found += [kind.load(reference) for reference in kind.components]
    found.append(FederationFleet)
    _clean_docstrings(found)
    return found


def _clean_docstrings(roots: list[type]) -> None:
    """Store the docstrings the analyzer reads as ``inspect.cleandoc`` gives them, on every Python.

    The SDK's analyzer describes a component, and a nested type or enum, by its ``__doc__`` as it
    is (only ``.strip()``-ed). Python 3.13 changed that text: its compiler removes the docstring's
    common indentation (python/cpython#81283), which 3.11 and 3.12 kept. So the same source gave
    one schema on 3.13 and another on 3.12, and the indented form renders as a code block in the
    Markdown of generated SDK docs. This runs on import, before the plugin or :func:`generate`
    analyzes anything (:func:`components` calls it); it changes only our own classes, found through the annotations the analyzer
    walks (fields' docstrings are read from the source, and are not affected).
    """
    package = (__package__ or __name__).partition(".")[0]  # "components", also under `python -m`
    seen: set[int] = set()
    todo: list[Any] = list(roots)
    while todo:
        item = todo.pop()
        if isinstance(item, (str, bytes)) or id(item) in seen:
            continue
        seen.add(id(item))
        todo.extend(typing.get_args(item))
        if not (isinstance(item, type) and item.__module__.partition(".")[0] == package):
            continue
        if item.__doc__:
            item.__doc__ = inspect.cleandoc(item.__doc__)
        for cls in item.__mro__:
            if cls.__module__.partition(".")[0] == package:
                todo.extend(inspect.get_annotations(cls).values())
        init = item.__dict__.get("__init__")
        if init is not None:
            todo.extend(inspect.get_annotations(init).values())


PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_version() -> str:
    """The package version, from its one source: ``[project] version`` in pyproject.toml.

    Read from the file in a checkout (how the plugin runs after ``pulumi package add``), else from
    the installed distribution's metadata (built from that same field).
    """
    if PYPROJECT.is_file():
        version = _pyproject_version(PYPROJECT.read_text(encoding="utf-8"))
        if version:
            return version
    try:
        return metadata.version(PACKAGE_NAME)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"cannot tell the version of {PACKAGE_NAME}: no [project] version in {PYPROJECT.name} "
            "and the distribution is not installed"
        ) from None


def _pyproject_version(text: str) -> Optional[str]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the one line we need
        table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        found = table and re.search(r"""^version\s*=\s*["']([^"']+)["']""", table.group(1), re.M)
        return found.group(1) if found else None
    return tomllib.loads(text).get("project", {}).get("version")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the analyzer with Python's garbage collector off (after one collection).

    The analyzer reads descriptions with ``ast.parse`` and silently drops one when parsing fails.
    On CPython 3.11 (seen on 3.11.7) a collection that runs inside ``ast.parse``, finalizing garbage
    a test run left behind, can fail it with "AST constructor recursion depth mismatch"
    (python/cpython#106905), and the schema loses a description at random.
    """
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def generate(version: Optional[str] = None) -> dict[str, Any]:
    """The package schema exactly as the plugin serves it (``pulumi package get-schema``)."""
    from pulumi.provider.experimental.component import ComponentProvider

    with collector_paused():
        provider = ComponentProvider(components(), PACKAGE_NAME, version=version or package_version())
    assert provider.schema is not None
    return json.loads(provider.schema)


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: stable, indented, one trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.schema",
        description=f"Print the Pulumi package schema of {PACKAGE_NAME}, inferred offline from the components.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="write the schema to this file instead of stdout")
    where.add_argument("--check", type=Path, metavar="FILE",
                       help="compare with a committed schema and exit 1 if it is stale")
    args = parser.parse_args(argv)

    schema = generate()
    if args.check:
        committed = json.loads(args.check.read_text(encoding="utf-8")) if args.check.is_file() else None
        if committed != schema:
            print(f"{args.check} is stale: regenerate it with `python -m components.schema --output "
                  f"{args.check}` and review the diff as an API change (docs/maintainers.md).", file=sys.stderr)
            return 1
        return 0
    if args.output:
        args.output.write_text(render(schema), encoding="utf-8")
    else:
        sys.stdout.write(render(schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
