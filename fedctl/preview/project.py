"""Read a Pulumi project's ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the CLI would.

The result is the config map the engine hands a program: keys namespaced (``project:key``,
``aws:region``), scalars as strings, object values as JSON strings, project defaults merged
under stack values. Secrets (``secure: v1:...``) cannot be decrypted without the CLI; they are
replaced by a placeholder and their keys listed, so nothing secret is ever printed.

Example::

    project = load_project(".", "dev")
    pulumi.runtime.set_all_config(project.config, project.secret_keys)
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.rules.errors import ConfigurationError

SECRET_PLACEHOLDER = "[secret]"


class ProjectError(ConfigurationError):
    """The project or stack files are missing or malformed: the preview cannot run (exit 2)."""

    code = "project"


# The keys a stack settings file may hold (the Pulumi CLI's stack settings reference).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


@dataclass(frozen=True)
class PulumiProject:
    name: str
    stack: str
    directory: Path
    main: Path
    """The program: the directory holding ``__main__.py`` (``main:`` in Pulumi.yaml, if set)."""
    runtime: str
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    stack_file: Path | None = None

    def object(self, key: str) -> Any:
        """A config value decoded from its string form (``outbound-federation:workloads`` -> list)."""
        raw = self.config.get(key if ":" in key else f"{self.name}:{key}")
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ProjectError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ProjectError(f"{path.name}: expected a map at the top level")
    return data


def _hide_secrets(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: ...}`` leaves by a placeholder; report whether any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        hidden, any_secret = {}, False
        for key, item in value.items():
            hidden[key], secret = _hide_secrets(item)
            any_secret = any_secret or secret
        return hidden, any_secret
    if isinstance(value, list):
        items = [_hide_secrets(item) for item in value]
        return [item for item, _ in items], any(secret for _, secret in items)
    return value, False


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def load_project(directory: str | Path, stack: str) -> PulumiProject:
    """Load the project in ``directory`` with the config of ``stack``."""
    directory = Path(directory).resolve()
    project_file = next((directory / n for n in ("Pulumi.yaml", "Pulumi.yml") if (directory / n).exists()), None)
    if project_file is None:
        raise ProjectError(f"no Pulumi.yaml in {directory.name or directory}: is this a Pulumi project?")
    project = _read_yaml(project_file)
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError("Pulumi.yaml: 'name' is required")
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    main = directory / project["main"] if project.get("main") else directory

    config: dict[str, str] = {}
    secret_keys: list[str] = []

    def put(key: str, value: Any) -> None:
        full = _namespaced(key, name)
        hidden, secret = _hide_secrets(value)
        config[full] = _as_config_string(hidden)
        if secret and full not in secret_keys:
            secret_keys.append(full)
        elif not secret and full in secret_keys:
            secret_keys.remove(full)

    # Project-level defaults: `key: value`, or `key: {value: ...}` / `key: {default: ...}` with a type.
    for key, declared in (project.get("config") or {}).items():
        if isinstance(declared, dict) and ("value" in declared or "default" in declared):
            put(key, declared.get("value", declared.get("default")))
        elif not isinstance(declared, dict) or set(declared) == {"secure"}:
            put(key, declared)

    stack_dir = directory / project["stackConfigDir"] if project.get("stackConfigDir") else directory
    stack_file = _stack_file(stack_dir, stack)
    settings = _read_yaml(stack_file)
    _check_stack_keys(settings, stack_file.name)
    for key, value in (settings.get("config") or {}).items():
        put(key, value)
    _check_namespaces(config, name, stack_file.name)

    return PulumiProject(
        name=name, stack=stack, directory=directory, main=main, runtime=str(runtime_name or ""),
        config=config, secret_keys=secret_keys, stack_file=stack_file,
    )


def _stack_file(stack_dir: Path, stack: str) -> Path:
    """``Pulumi.<stack>.yaml``, spelt exactly so (also on case-insensitive file systems), or ProjectError."""
    existing = stack_names(stack_dir)
    if stack in existing:
        return stack_dir / f"Pulumi.{stack}.yaml"
    hint = next((s for s in existing if s.lower() == stack.lower()), None) or \
        next(iter(difflib.get_close_matches(stack, existing, n=1)), None)
    where = f"the stacks here: {', '.join(existing)}" if existing else "there is no Pulumi.<stack>.yaml here"
    raise ProjectError(f"stack {stack!r} has no Pulumi.{stack}.yaml ({where})"
                       + (f"; did you mean --stack {hint}?" if hint else ""))


def _suggestion(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_stack_keys(settings: dict[str, Any], file_name: str) -> None:
    unknown = [key for key in settings if key not in STACK_FILE_KEYS]
    if unknown:
        key = unknown[0]
        raise ProjectError(f"{file_name}: {key!r} is not a stack setting the Pulumi CLI knows "
                           f"(known: {', '.join(STACK_FILE_KEYS)}){_suggestion(str(key), list(STACK_FILE_KEYS))}")


def known_namespaces(project: str) -> list[str]:
    """Config namespaces that mean something here: the project, ``pulumi``, and every installed provider SDK."""
    from importlib import metadata

    names = {(dist.metadata["Name"] or "").lower().replace("_", "-") for dist in metadata.distributions()}
    providers = {name[len("pulumi-"):] for name in names if name.startswith("pulumi-") and name != "pulumi-policy"}
    return sorted({project, "pulumi"} | providers)


def _check_namespaces(config: dict[str, str], project: str, file_name: str) -> None:
    """A key under a namespace one typo away from a real one is read by nobody: refuse it."""
    known = known_namespaces(project)
    for key in config:
        namespace = key.split(":", 1)[0]
        if namespace in known:
            continue
        hint = _suggestion(namespace, known)
        if hint:
            raise ProjectError(f"{file_name}: config key {key!r} is under the namespace {namespace!r}, which nothing "
                               f"reads{hint}")


def stack_names(directory: str | Path) -> list[str]:
    """The stacks that have a ``Pulumi.<stack>.yaml`` beside the project file."""
    directory = Path(directory)
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in directory.glob("Pulumi.*.yaml"))
