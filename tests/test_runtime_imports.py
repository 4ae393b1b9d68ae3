"""The runtime fits in a Lambda: it imports with no Pulumi package, no policy pack and no CEL installed.

Run in a fresh interpreter whose import system refuses ``pulumi*``, ``celpy`` and ``grpc`` as if
they were not installed; the runtime modules, the registry of relying parties and every kind's
runtime exchange must import, and ``fedctl``'s command line must build.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pulumi", "pulumi_aws", "pulumi_azuread", "pulumi_azure_native",
                                      "pulumi_gcp", "pulumi_policy", "celpy", "grpc"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
""")


def run_without_pulumi(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_runtime_imports_with_no_pulumi_package():
    done = run_without_pulumi("""
        import fedctl, fedctl.tokens, fedctl.verify, fedctl.exchange, fedctl.errors, fedctl.cli
        from fedctl import AwsTokenSupplier, TokenVerifier, azure_credential, gcp_credentials
        from components.relying_parties import KINDS
        for kind in KINDS:
            if kind.runtime:
                kind.load(kind.runtime)
        fedctl.cli.build_parser()
        assert not any(name.split(".")[0].startswith("pulumi") for name in sys.modules)
        print("ok")
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_blocker_really_hides_pulumi():
    done = run_without_pulumi("import pulumi")
    assert done.returncode != 0 and "No module named 'pulumi'" in done.stderr
