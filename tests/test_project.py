"""Reading Pulumi.yaml and Pulumi.<stack>.yaml into the config map the engine would pass."""

import json
import textwrap

import pytest

from fedctl.preview.project import SECRET_PLACEHOLDER, ProjectError, load_project, stack_names


def write(directory, name, text):
    (directory / name).write_text(textwrap.dedent(text))


@pytest.fixture
def project_dir(tmp_path):
    write(tmp_path, "Pulumi.yaml", """\
        name: demo
        runtime: python
        config:
          demo:greeting:
            value: hello
          demo:limits:
            value: {max: 3}
          aws:region:
            default: us-east-1
        """)
    write(tmp_path, "Pulumi.dev.yaml", """\
        config:
          aws:region: eu-west-1
          demo:workloads:
            - name: a
              audiences: [x]
          count: 3
          enabled: true
          demo:apiKey:
            secure: v1:AAAABBBBCCCC
          demo:nested:
            password:
              secure: v1:DDDDEEEE
            user: admin
        """)
    return tmp_path


def test_stack_values_override_project_defaults(project_dir):
    project = load_project(project_dir, "dev")
    assert project.config["aws:region"] == "eu-west-1"
    assert project.config["demo:greeting"] == "hello"


def test_bare_keys_get_the_project_namespace(project_dir):
    assert load_project(project_dir, "dev").config["demo:count"] == "3"


def test_scalars_are_strings_and_objects_are_json(project_dir):
    project = load_project(project_dir, "dev")
    assert project.config["demo:enabled"] == "true"
    assert json.loads(project.config["demo:workloads"]) == [{"name": "a", "audiences": ["x"]}]
    assert project.object("limits") == {"max": 3}


def test_secrets_are_replaced_by_a_placeholder_and_listed(project_dir):
    project = load_project(project_dir, "dev")
    assert project.config["demo:apiKey"] == SECRET_PLACEHOLDER
    assert json.loads(project.config["demo:nested"]) == {"password": SECRET_PLACEHOLDER, "user": "admin"}
    assert sorted(project.secret_keys) == ["demo:apiKey", "demo:nested"]
    assert "v1:" not in json.dumps(project.config)


def test_a_stack_without_a_file_is_refused_listing_the_stacks_that_exist(project_dir):
    with pytest.raises(ProjectError) as caught:
        load_project(project_dir, "prod")
    assert caught.value.exit_code == 2 and "the stacks here: dev" in str(caught.value)


def test_a_stack_named_in_the_wrong_case_is_refused_with_the_right_spelling(project_dir):
    with pytest.raises(ProjectError) as caught:
        load_project(project_dir, "Dev")
    assert "did you mean --stack dev?" in str(caught.value)


def test_a_top_level_key_the_cli_does_not_know_is_refused_with_a_suggestion(project_dir):
    write(project_dir, "Pulumi.typo.yaml", "confg:\n  aws:region: eu-west-1\n")
    with pytest.raises(ProjectError) as caught:
        load_project(project_dir, "typo")
    assert "'confg' is not a stack setting" in str(caught.value) and "did you mean 'config'?" in str(caught.value)


def test_a_config_key_under_a_misspelt_namespace_is_refused_with_a_suggestion(project_dir):
    write(project_dir, "Pulumi.typo.yaml", "config:\n  awss:region: eu-west-1\n")
    with pytest.raises(ProjectError) as caught:
        load_project(project_dir, "typo")
    assert "did you mean 'aws'?" in str(caught.value)


def test_a_namespace_of_a_provider_that_is_not_installed_is_left_alone(project_dir):
    write(project_dir, "Pulumi.other.yaml", "config:\n  cloudflare:apiToken: x\n")
    assert load_project(project_dir, "other").config["cloudflare:apiToken"] == "x"


def test_a_directory_without_pulumi_yaml_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="no Pulumi.yaml"):
        load_project(tmp_path, "dev")


def test_stacks_are_found_by_their_files(project_dir):
    write(project_dir, "Pulumi.pr-123.yaml", "config: {}\n")
    assert stack_names(project_dir) == ["dev", "pr-123"]
