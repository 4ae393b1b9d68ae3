"""The examples other teams copy: a StackReference consumer and a stack composing the components."""

import json
import subprocess

import pytest
from conftest import ROOT

from fedctl.preview.engine import run_program
from fedctl.testing.mocks import CloudMocks
from fedctl.preview.project import load_project

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def federation_outputs():
    return run_program(load_project(ROOT, "dev")).outputs


@pytest.fixture(scope="module")
def app_stack(federation_outputs):
    mocks = CloudMocks(stack_outputs={"acme/outbound-federation/dev": federation_outputs})
    return run_program(load_project(EXAMPLES / "app-stack", "dev"), mocks)


def test_the_app_stack_reads_the_federation_stack_by_reference(app_stack):
    [reference] = app_stack.monitor.of_type("pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == "acme/outbound-federation/dev"


def test_the_workload_runs_as_the_role_the_federation_stack_made(app_stack, federation_outputs):
    [function] = app_stack.monitor.of_type("aws:lambda/function:Function")
    assert function.inputs["role"] == federation_outputs["workloads"]["usage-exporter"]["roleArn"]


def test_the_workload_is_configured_for_gcp_from_the_outputs(app_stack, federation_outputs):
    [function] = app_stack.monitor.of_type("aws:lambda/function:Function")
    variables = function.inputs["environment"]["variables"]
    gcp = federation_outputs["workloads"]["usage-exporter"]["gcp"]
    assert json.loads(variables["GCP_CREDENTIAL_CONFIGURATION"])["type"] == "external_account"
    assert variables["GCP_TOKEN_AUDIENCE"] == gcp["audience"]
    assert variables["GCP_SERVICE_ACCOUNT"] == gcp["serviceAccountEmail"]
    assert "AZURE_CLIENT_ID" not in variables


def test_a_workload_trusted_by_azure_gets_its_client_and_tenant(federation_outputs):
    project = load_project(EXAMPLES / "app-stack", "dev")
    config = {**project.config, "usage-exporter-app:workload": "sso-readonly"}
    from dataclasses import replace

    mocks = CloudMocks(stack_outputs={"acme/outbound-federation/dev": federation_outputs})
    run = run_program(replace(project, config=config), mocks)
    [function] = run.monitor.of_type("aws:lambda/function:Function")
    app = federation_outputs["workloads"]["sso-readonly"]["azureApp"]
    assert function.inputs["environment"]["variables"] == {"AZURE_CLIENT_ID": app["clientId"],
                                                           "AZURE_TENANT_ID": app["tenantId"],
                                                           "AZURE_AUDIENCE": app["audience"]}


@pytest.mark.parametrize("name", ["roleArn", "roleName", "subject", "accountId"])
def test_every_workload_exports_its_documented_names(federation_outputs, name):
    for exported in federation_outputs["workloads"].values():
        assert exported[name]


def test_the_python_example_composes_the_components_directly():
    run = run_program(load_project(EXAMPLES / "python", "dev"))
    assert run.outputs["azureClientId"] and run.outputs["instanceProfile"].startswith("nightly-reports")
    [credential] = run.monitor.of_type(
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    assert credential.inputs["subject"].startswith("arn:aws:iam::123456789012:role/reports/nightly-reports-role-")


def test_the_preview_takes_a_referenced_stacks_outputs_from_a_file(capsys, tmp_path):
    from fedctl.cli import main

    assert main(["preview", "--cwd", str(ROOT), "--json", "--quiet"]) == 0
    report = tmp_path / "federation.json"
    report.write_text(capsys.readouterr().out)
    code = main(["preview", "--cwd", str(EXAMPLES / "app-stack"), "--quiet",
                 "--stack-reference", f"acme/outbound-federation/dev={report}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "= pulumi:pulumi/StackReference  acme/outbound-federation/dev  (read, not created)" in out


def test_the_preview_says_which_stack_reference_lacks_outputs(capsys):
    from fedctl.cli import main

    assert main(["preview", "--cwd", str(EXAMPLES / "app-stack"), "--quiet"]) == 2
    assert "reads acme/outbound-federation/dev by StackReference" in capsys.readouterr().err


# -- the Lambda ships what its handler imports --------------------------------------------------------

def lambda_python():
    """Lambda's Python (3.12) when this machine has it, else this interpreter (the layer is built for it)."""
    import shutil
    import sys

    for candidate in (shutil.which("python3.12"), "/root/.pyenv/versions/3.12.1/bin/python3.12"):
        if candidate and subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                                        capture_output=True).returncode == 0:
            return candidate, "3.12"
    return sys.executable, "%d.%d" % sys.version_info[:2]


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_layer", EXAMPLES / "app-stack" / "build_layer.py")
    build_layer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_layer)
    python, version = lambda_python()
    return python, build_layer.build(tmp_path_factory.mktemp("layer"), python_version=version)


def test_the_handler_imports_from_its_archive_and_the_runtime_layer_alone(layer):
    python, built = layer
    check = ("import sys, handler, fedctl; from fedctl import AwsTokenSupplier, azure_credential, gcp_credentials; "
             "import google.auth.identity_pool, azure.identity, jwt; "
             "assert not any(m.startswith('pulumi') for m in sys.modules); print(fedctl.__file__)")
    done = subprocess.run([python, "-S", "-c", check], cwd=EXAMPLES / "app-stack", capture_output=True, text=True,
                          env={"PYTHONPATH": f"{built / 'python'}:.", "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(built / "python"))


def test_the_function_runs_on_the_layer_and_its_archive_holds_only_the_handler(app_stack):
    [function] = app_stack.monitor.of_type("aws:lambda/function:Function")
    [layer] = app_stack.monitor.of_type("aws:lambda/layerVersion:LayerVersion")
    assert function.inputs["layers"] == [layer.outputs["arn"]]
    assert layer.inputs["compatibleRuntimes"] == [function.inputs["runtime"]]
