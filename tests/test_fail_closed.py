"""The preview passes only what it really checked: exit 0 checked and passed, 1 findings, 2 could not check.

Each test here is a way the preview used to say "passed" without having checked: a stack that does
not exist, a pack that is not there, a missing package, a crash, a policy config typo, a comment
cut mid-section.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from fedctl.cli import main
from fedctl.preview.render import md_code, md_text, render_markdown

UNSAFE = ROOT / "tests" / "fixtures" / "unsafe-project"


def preview(capsys, *args):
    code = main(["preview", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def project(tmp_path, program: str, stack_file: str = "config: {}\n"):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(stack_file)
    (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
    return tmp_path


# -- exit codes -----------------------------------------------------------------------------------

def test_a_stack_with_no_file_exits_2_listing_the_stacks(capsys):
    code, out, err = preview(capsys, "--cwd", str(ROOT), "--stack", "prod")
    assert code == 2 and out == ""
    assert "the stacks here: dev" in err and "loaded" not in err


def test_a_stack_in_the_wrong_case_exits_2_with_the_right_one(capsys):
    code, _, err = preview(capsys, "--cwd", str(ROOT), "--stack", "Dev")
    assert code == 2 and "did you mean --stack dev?" in err


def test_a_program_that_crashes_exits_2_naming_its_file_and_line(capsys, tmp_path):
    project(tmp_path, """\
        import pulumi
        values = {}
        pulumi.export("x", values["missing"])
        """)
    code, _, err = preview(capsys, "--cwd", str(tmp_path), "--quiet")
    assert code == 2 and "__main__.py:3: KeyError" in err and "Traceback" not in err


def test_debug_shows_the_traceback(capsys, tmp_path):
    project(tmp_path, "raise RuntimeError('boom')\n")
    code = main(["--debug", "preview", "--cwd", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and "__main__.py:1: boom" in err


def test_a_program_importing_an_sdk_that_is_not_installed_says_what_to_install(capsys, tmp_path):
    project(tmp_path, "import pulumi_random\n")
    code, _, err = preview(capsys, "--cwd", str(tmp_path), "--quiet")
    assert code == 2 and "pip install pulumi-random" in err and "Traceback" not in err


def test_a_missing_package_of_ours_names_the_extra_to_install(capsys, tmp_path):
    # The preview's own dependency missing: the interpreter refuses to import celpy.
    blocker = textwrap.dedent("""
        import importlib.abc, sys
        class NotInstalled(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "celpy":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, NotInstalled())
        from fedctl.cli import main
        sys.exit(main(["preview", "--cwd", sys.argv[1], "--quiet"]))
    """)
    done = subprocess.run([sys.executable, "-c", blocker, str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "pip install 'outbound-federation[preview]'" in done.stderr and "Traceback" not in done.stderr


def test_a_policy_pack_path_that_is_not_a_pack_exits_2(capsys, tmp_path):
    code, _, err = preview(capsys, "--cwd", str(ROOT), "--quiet", "--policy-pack", str(tmp_path))
    assert code == 2 and "is not a Python policy pack" in err


def test_without_a_project_pack_the_bundled_pack_judges(capsys):
    code, out, _ = preview(capsys, "--cwd", str(UNSAFE), "--json", "--quiet")
    report = json.loads(out)
    assert code == 1 and report["policyPack"] == "the outbound-federation pack (bundled)"
    assert report["mandatoryViolations"] > 0


def test_no_policy_pack_is_said_in_the_report_never_as_every_policy_passed(capsys):
    code, out, _ = preview(capsys, "--cwd", str(ROOT), "--quiet", "--no-policy-pack")
    assert code == 0
    assert "every policy passed" not in out and "no policy pack run (--no-policy-pack)" in out


# -- policy config as the CLI applies it ------------------------------------------------------------

def config_file(tmp_path, config):
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_an_unknown_policy_name_in_the_config_exits_2_with_a_suggestion(capsys, tmp_path):
    path = config_file(tmp_path, {"token-grant-pinned": {"maxDurationSeconds": 300}})
    code, _, err = preview(capsys, "--cwd", str(ROOT), "--quiet", "--policy-pack-config", path)
    assert code == 2 and "did you mean 'token-grants-pinned'?" in err


def test_an_unknown_enforcement_level_exits_2(capsys, tmp_path):
    path = config_file(tmp_path, {"token-grants-pinned": "strict"})
    code, _, err = preview(capsys, "--cwd", str(ROOT), "--quiet", "--policy-pack-config", path)
    assert code == 2 and "enforcement level 'strict'" in err


def test_a_sandbox_that_switches_federation_off_on_destroy_passes_by_lowering_that_policy(capsys, tmp_path):
    stack = (ROOT / "Pulumi.dev.yaml").read_text().replace("    manage: true", "    manage: true\n    disableOnDestroy: true")
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text() + f"main: {ROOT}\n")
    (tmp_path / "Pulumi.sandbox.yaml").write_text(stack)
    code, out, _ = preview(capsys, "--cwd", str(tmp_path), "--stack", "sandbox", "--quiet", "--json")
    assert code == 1 and any(v["policy"] == "account-federation-protected" for v in json.loads(out)["violations"])
    path = config_file(tmp_path, {"account-federation-protected": "advisory"})
    code, out, _ = preview(capsys, "--cwd", str(tmp_path), "--stack", "sandbox", "--quiet", "--json",
                           "--policy-pack-config", path)
    [lowered] = [v for v in json.loads(out)["violations"] if v["policy"] == "account-federation-protected"]
    assert code == 0 and lowered["enforcement"] == "advisory"


def test_a_disabled_policy_reports_nothing(capsys, tmp_path):
    path = config_file(tmp_path, {"all": "disabled"})
    code, out, _ = preview(capsys, "--cwd", str(UNSAFE), "--quiet", "--json", "--policy-pack-config", path)
    assert json.loads(out)["violations"] == []


# -- a comment a reviewer can use -------------------------------------------------------------------

def test_the_same_input_gives_byte_identical_json_and_markdown(capsys):
    runs = [preview(capsys, "--cwd", str(ROOT), "--quiet", face)[1] for face in ("--json", "--json", "--markdown",
                                                                                   "--markdown")]
    assert runs[0] == runs[1] and runs[2] == runs[3]


def test_resources_outside_federation_are_listed_as_not_judged(capsys, tmp_path):
    project(tmp_path, """\
        import pulumi_aws as aws
        aws.s3.Bucket("reports")
        """, "config:\n  aws:region: eu-west-1\n")
    code, out, _ = preview(capsys, "--cwd", str(tmp_path), "--quiet", "--json")
    report = json.loads(out)
    assert code == 0 and report["notJudged"] == [{"type": "aws:s3/bucket:Bucket", "name": "reports"}]
    assert "Not judged by this pack" in render_markdown(report)


def test_an_invoke_the_mock_cloud_does_not_know_is_unknown_not_empty(capsys, tmp_path):
    project(tmp_path, """\
        import pulumi, pulumi_aws as aws
        vpc = aws.ec2.get_vpc_output(default=True)
        pulumi.export("vpc", vpc.id)
        """, "config:\n  aws:region: eu-west-1\n")
    code, out, _ = preview(capsys, "--cwd", str(tmp_path), "--quiet", "--json")
    report = json.loads(out)
    assert report["unknownInvokes"] == ["aws:ec2/getVpc:getVpc"]
    assert "aws:ec2/getVpc:getVpc: not answered offline" in render_markdown(report)


def fifty_workloads(tmp_path):
    workloads = [{"name": f"workload-{i:02d}", "trustedServices": ["lambda.amazonaws.com"],
                  "azureApp": {"displayName": f"aws-app-{i:02d}"}} for i in range(50)]
    stack = {"config": {"aws:region": "eu-west-1", "outbound-federation:account": {"manage": True},
                        "outbound-federation:workloads": workloads}}
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text() + f"main: {ROOT}\n")
    (tmp_path / "Pulumi.big.yaml").write_text(json.dumps(stack))


@pytest.fixture(scope="module")
def big_report(tmp_path_factory):
    from fedctl.preview.pipeline import run_preview

    directory = tmp_path_factory.mktemp("big")
    fifty_workloads(directory)
    return run_preview(directory, "big").to_document()


def test_a_comment_for_50_workloads_fits_githubs_limit_and_keeps_whole_sections(big_report):
    comment = render_markdown(big_report)
    assert len(comment) <= 65_536
    assert comment.count("<details>") == comment.count("</details>")
    assert comment.count("```") % 2 == 0
    assert "Left out to fit GitHub's comment limit" in comment and "job summary" in comment


def test_the_summary_comes_before_every_section(big_report):
    comment = render_markdown(big_report)
    assert comment.index("preview passed") < comment.index("<details>")


def test_a_tight_limit_drops_whole_sections_never_part_of_one(big_report):
    comment = render_markdown(big_report, limit=4_000)
    assert len(comment) <= 4_000
    assert "<details>" not in comment or comment.count("<details>") == comment.count("</details>")


# -- what the program wrote cannot escape its place in the comment ---------------------------------

@pytest.mark.parametrize("hostile", [
    "@octocat please approve", "[click](https://evil.example)", "<img src=x onerror=alert(1)>",
    "| cell | break |", "`code` and ``` fence", "# heading\n## another", "</details><details open>",
])
def test_text_from_the_program_is_inert_markdown(hostile):
    rendered = md_text(hostile)
    assert "@octocat" not in rendered and "<" not in rendered and "](" not in rendered and "\n" not in rendered
    assert re.search(r"(?<!\\)\|", rendered) is None


def test_inline_code_cannot_be_closed_by_its_content():
    assert md_code("a``b") == "```a``b```"


def test_a_token_policy_only_known_after_deployment_is_not_a_pass(capsys, tmp_path):
    project(tmp_path, """\
        import json
        import pulumi, pulumi_aws as aws
        role = aws.iam.Role("app", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        unknown = aws.ec2.get_vpc_output(default=True)
        aws.iam.RolePolicy("app-token", role=role.name, policy=unknown.id.apply(lambda vpc: json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]})))
        """, "config:\n  aws:region: eu-west-1\n")
    code, out, err = preview(capsys, "--cwd", str(tmp_path), "--quiet", "--json", "--no-rehearsal")
    report = json.loads(out)
    assert code == 2 and report["unjudged"] and "could not run offline" in err


# -- the same verdict every time ----------------------------------------------------------------------

def test_a_program_passing_resources_as_inputs_runs_every_time_with_the_id_the_provider_sees():
    from fedctl.preview.engine import run_program
    from fedctl.preview.project import load_project

    fixture = ROOT / "tests" / "fixtures" / "resource-reference"
    for _ in range(15):  # the monitor used to rehydrate the reference on its own loop: about one run in three failed
        run = run_program(load_project(fixture, "dev"))
        [policy] = run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")
        [role] = run.monitor.of_type("aws:iam/role:Role")
        assert policy.inputs["role"] == role.id
