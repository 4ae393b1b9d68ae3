"""`fedctl preview` end to end: the dev stack, a deliberately unsafe project, every output format."""

import json
import re
import shutil

import pytest
from conftest import ROOT

from fedctl.cli import main

UNSAFE = ROOT / "tests" / "fixtures" / "unsafe-project"
SECRET_CIPHERTEXT = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1wcmludA=="
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.")


def preview(capsys, *args):
    code = main(["preview", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_dev_stack_previews_cleanly(capsys):
    code, out, _ = preview(capsys, "--cwd", str(ROOT), "--stack", "dev")
    assert code == 0
    assert "preview passed" in out
    assert "ForAllValues:StringEquals sts:IdentityTokenAudience: api://AzureADTokenExchange" in out


def test_progress_goes_to_stderr_and_can_be_silenced(capsys):
    _, out, err = preview(capsys, "--cwd", str(ROOT), "--json")
    assert "running outbound-federation (dev) on Pulumi's mock runtime" in err
    json.loads(out)
    _, _, quiet = preview(capsys, "--cwd", str(ROOT), "--json", "--quiet")
    assert quiet == ""


def test_the_json_report_has_the_documented_shape(capsys):
    code, out, _ = preview(capsys, "--cwd", str(ROOT), "--json", "--quiet")
    report = json.loads(out)
    assert code == 0
    assert (report["project"], report["stack"]) == ("outbound-federation", "dev")
    assert report["violations"] == []
    # By name: the program registers its workloads concurrently, so the report's order is not fixed.
    resource = next(r for r in report["resources"]
                    if r["type"] == "aws:iam/role:Role" and r["name"] == "dev-reports-reader-role")
    assert {"type", "name", "parent"} <= set(resource)
    assert resource["parent"].endswith("outbound-federation:index:FederatedRole::dev-reports-reader")
    assert report["outputs"]["issuer"].endswith(".tokens.sts.global.api.aws")
    assert report["trustGraph"]["edges"]


def test_an_unsafe_project_fails_with_its_violations(capsys):
    code, out, _ = preview(capsys, "--cwd", str(UNSAFE), "--json", "--quiet")
    report = json.loads(out)
    assert code == 1
    violated = {(v["policy"], v["resource"]) for v in report["violations"] if v["enforcement"] == "mandatory"}
    assert ("account-federation-protected", "enablement") in violated
    assert ("token-grants-pinned", "exporter-token") in violated
    assert ("azure-credentials-exact", "reports-aws") in violated
    assert ("azure-trusted-roles-allow-rs256", "signer-aws") in violated
    for violation in report["violations"]:
        assert set(violation) >= {"policy", "enforcement", "resource", "message"}


def test_the_text_report_of_an_unsafe_project_says_it_failed(capsys):
    code, out, _ = preview(capsys, "--cwd", str(UNSAFE))
    assert code == 1
    assert "preview FAILED: mandatory policy violations" in out
    assert "[mandatory] token-grants-pinned on exporter-token" in out


def test_the_markdown_report_carries_a_mermaid_trust_graph(capsys):
    code, out, _ = preview(capsys, "--cwd", str(ROOT), "--markdown", "--quiet")
    assert code == 0
    assert out.startswith("## :white_check_mark: Offline preview of `outbound-federation`")
    graph = out.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert graph.startswith("flowchart LR")
    assert "-- \"api://AzureADTokenExchange\" -->" in graph


def test_the_markdown_report_of_an_unsafe_project_lists_the_findings(capsys):
    _, out, _ = preview(capsys, "--cwd", str(UNSAFE), "--markdown", "--quiet")
    assert out.startswith("## :x:")
    assert "| mandatory | `token-grants-pinned` | `exporter-token` |" in out


@pytest.mark.parametrize("form", ["", "--json", "--markdown"])
def test_no_secret_and_no_token_reaches_any_output(capsys, form):
    _, out, err = preview(capsys, "--cwd", str(UNSAFE), *([form] if form else []))
    for text in (out, err):
        assert SECRET_CIPHERTEXT not in text
        assert "generated-by-the-program" not in text
        assert not JWT_SHAPE.search(text)
    assert "[secret]" in out


def test_a_missing_project_exits_2_with_the_reason(capsys, tmp_path):
    code, _, err = preview(capsys, "--cwd", str(tmp_path))
    assert code == 2
    assert "no Pulumi.yaml" in err


def test_a_program_that_fails_exits_2_with_its_message(capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text("raise ValueError('workloads[0].name: bad')\n")
    code, _, err = preview(capsys, "--cwd", str(tmp_path))
    assert code == 2
    assert "workloads[0].name: bad" in err


def test_policy_config_comes_from_a_file_like_the_clis(capsys, tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"token-grants-pinned": {"maxDurationSeconds": 300}}))
    code, out, _ = preview(capsys, "--cwd", str(ROOT), "--json", "--quiet", "--policy-pack-config", str(config))
    assert code == 1
    assert any("600 is over the allowed maximum of 300 seconds" in v["message"]
               for v in json.loads(out)["violations"])


def test_the_trust_graph_is_drawn_as_dot_for_graphviz(capsys):
    from fedctl.preview.pipeline import run_preview

    dot = run_preview(ROOT, "dev").graph.dot()
    assert dot.startswith("digraph trust {") and "->" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed (CI installs it)")
def test_the_trust_graph_is_drawn_as_an_image_when_graphviz_is_there(capsys, tmp_path):
    image = tmp_path / "trust.png"
    preview(capsys, "--cwd", str(ROOT), "--quiet", "--graph-image", str(image))
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
