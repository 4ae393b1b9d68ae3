"""The ``outbound-federation`` component plugin: serves every component to every Pulumi language.

Consumers add it with ``pulumi package add``, which runs this plugin, reads its schema and
generates a local SDK in their language::

    pulumi package add github.com/<org>/<repo>.git/provider@v0.1.0   # a tag of this repository
    pulumi package add ./path/to/this/repo/provider                   # a checkout

Type tokens are ``outbound-federation:index:<Name>``; the version is pyproject.toml's
(``components.schema.package_version``); the list of components and the offline schema generator
(``python -m components.schema``) live in ``components/schema.py``, so the committed schema.json
and what this plugin serves come from the same list.

Why the plugin is this subdirectory and not the repository root
----------------------------------------------------------------
The root already holds ``Pulumi.yaml`` + ``__main__.py``: the stack program that ``pulumi up``
runs. A ``PulumiPlugin.yaml`` next to them would make Pulumi start that program as the plugin:

1. The engine starts a source-based plugin in ``ExecPlugin`` (pulumi/pulumi
   ``sdk/go/common/resource/plugin/plugin.go``): it reads ``PulumiPlugin.yaml`` in the plugin
   directory for the runtime and its options only, then asks the language host to run the plugin
   with ``NewProgramInfo(pluginDir, pluginDir, ".", options)``: root, program directory and entry
   point are all the plugin directory itself.
2. The Python host's ``RunPlugin`` (``sdk/python/cmd/pulumi-language-python/main.go``) runs
   ``python <plugin dir> <engine address> ...``, i.e. the directory's ``__main__.py``, whenever
   one exists. Only without it does it fall back to ``python -m pulumi.run.plugin <project name>``
   for a buildable pyproject package. With the pip toolchain the virtualenv defaults to ``venv``
   in the plugin directory (ours says ``.venv``, see PulumiPlugin.yaml).
3. ``main:`` cannot redirect it. The PulumiPlugin.yaml reference lists an optional ``main``, but
   the manifest type the CLI loads (``workspace.PluginProject`` in
   ``sdk/go/common/workspace/project.go``) has no such field (only runtime, packages,
   requiredPulumiVersion and template), and ``ExecPlugin`` always passes ``"."`` as the entry
   point. So ``main: provider/`` at the root would be ignored and the root ``__main__.py`` (the
   stack program) would be started as the provider.
4. Moving the stack program instead (``main:`` in Pulumi.yaml does work for programs) would change
   the project everyone deploys. A subdirectory leaves ``Pulumi.yaml``, ``__main__.py`` and
   ``pulumi up`` at the root exactly as they were: the engine never reads PulumiPlugin.yaml for a
   program.

``pulumi package add`` takes a path inside a Git repository as ``<host>/<org>/<repo>.git/<path>``
(its help text: ``example.org/org/repo.git/path[@<version>]``) and clones the whole repository, so
the modules this file imports (``components/``, ``pyproject.toml``, ``requirements.txt``) are there
beside it, as they are in a checkout. Python puts the script's own directory (``provider/``), not
the repository root, on ``sys.path``, hence the insert below.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from components.schema import PACKAGE_NAME, components, package_version  # noqa: E402


def main() -> None:
    """Serve the components until the engine disconnects (the engine address is in ``sys.argv``)."""
    component_provider_host(components=components(), name=PACKAGE_NAME, version=package_version())


if __name__ == "__main__":
    main()
