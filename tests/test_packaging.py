"""The installed package is the whole product: the wheel runs fedctl preview, pack included, outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    [built] = out.glob("outbound_federation-*.whl")
    return built


def metadata(wheel) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def test_the_wheel_ships_the_policy_pack_the_doubles_and_every_relying_party(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"fedctl/preview/policy_pack.py", "fedctl/testing/issuer.py", "fedctl/preview/render.py",
            "components/relying_parties/gcp/cel.py", "components/relying_parties/azure/runtime.py"} <= names


def test_every_relying_party_has_its_extra_and_provision_installs_them_all(wheel):
    extras = set(metadata(wheel).get_all("Provides-Extra"))
    assert {"aws", "azure", "gcp", "provision", "runtime", "preview"} <= extras
    requires = metadata(wheel).get_all("Requires-Dist")
    assert any(r.startswith("pulumi-gcp") and 'extra == "provision"' in r for r in requires)


def test_the_preview_extra_has_what_the_rehearsal_needs(wheel):
    requires = [r for r in metadata(wheel).get_all("Requires-Dist") if 'extra == "preview"' in r]
    assert any(r.lower().startswith("cryptography") for r in requires)
    assert any(r.lower().startswith("pyjwt") for r in requires)


def test_the_installed_package_previews_a_project_outside_the_repository_with_its_bundled_pack(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-m", "fedctl.cli", "preview", "--cwd", str(project), "--json", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["policyPack"] == "the outbound-federation pack (bundled)"
    assert report["rehearsal"]["wrongCells"] == 0
    # The code that ran is the wheel's, not the repository's.
    where = subprocess.run([sys.executable, "-c", "import fedctl, components; print(fedctl.__file__, components.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and str(site) in where
