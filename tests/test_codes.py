"""Every rule speaks with a stable code, and every code names one kind of problem.

Tests and tools branch on ``Violation.code`` (like the AWS CDK's error IDs), never on message
wording, so messages can improve without breaking anyone. This reads the source: a ``Violation``
built anywhere in the product without a code fails here.
"""

from __future__ import annotations

import ast
import functools
import gc
import re

from conftest import ROOT

PRODUCT = [p for p in ROOT.rglob("*.py")
           if not any(part in p.parts for part in (".venv", "tests", "build", "node_modules"))]
CODE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


@functools.cache
def parsed() -> tuple:
    # The collector stays off while parsing: on CPython 3.11 a collection inside ast.parse can fail
    # it ("AST constructor recursion depth mismatch", python/cpython#106905).
    gc.collect()
    gc.disable()
    try:
        return tuple((path, ast.parse(path.read_text(encoding="utf-8"))) for path in PRODUCT)
    finally:
        gc.enable()


def violations_built():
    for path, tree in parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Violation":
                yield path.relative_to(ROOT), node


def test_the_product_builds_violations():
    assert sum(1 for _ in violations_built()) > 100


def test_every_violation_the_product_builds_has_a_code():
    missing = [f"{path}:{node.lineno}" for path, node in violations_built()
               if not any(keyword.arg == "code" for keyword in node.keywords)]
    assert missing == []


def test_every_literal_code_is_dotted_lowercase():
    bad = []
    for path, node in violations_built():
        for keyword in node.keywords:
            if keyword.arg == "code" and isinstance(keyword.value, ast.Constant) and not CODE.match(keyword.value.value):
                bad.append(f"{path}:{node.lineno} {keyword.value.value!r}")
    assert bad == []
