"""Which install gives a missing module: the exact ``pip install 'outbound-federation[...]'`` to run.

The extras are read from the installed package's own metadata (``pyproject.toml``'s optional
dependencies), so a relying party's extra is found without this module naming it.

Example::

    >>> missing_dependency_for(ModuleNotFoundError("No module named 'celpy'", name="celpy")).install
    "pip install 'outbound-federation[preview]'"
"""

from __future__ import annotations

import re
from importlib import metadata

from components.rules.errors import MissingDependencyError
from components.rules.facts import PACKAGE_NAME

# Modules whose distribution is not named after them.
DISTRIBUTIONS = {"celpy": "cel-python", "grpc": "grpcio", "jwt": "PyJWT", "yaml": "PyYAML", "google": "google-auth",
                 "azure": "azure-identity", "pulumi_policy": "pulumi-policy", "hvac": "hvac"}
# The extras that group others: a more precise one is named first.
BROAD_EXTRAS = ("provision",)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_for(module: str, prefer: str | None = None) -> str | None:
    """The extra of this package that installs ``module``'s distribution (``prefer`` if it does), or None."""
    distribution = _normal(DISTRIBUTIONS.get(module, module))
    try:
        requirements = metadata.requires(PACKAGE_NAME) or []
    except metadata.PackageNotFoundError:
        return None
    extras = []
    for requirement in requirements:
        name = _normal(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        found = re.search(r"""extra\s*==\s*['"]([^'"]+)['"]""", requirement)
        if name == distribution and found:
            extras.append(found.group(1))
    if prefer in extras:
        return prefer
    precise = [e for e in extras if e not in BROAD_EXTRAS]
    return (precise or extras or [None])[0]


def missing_dependency_for(error: ImportError, location: str | None = None,
                           prefer: str | None = None) -> MissingDependencyError:
    """The error to show for a failed import: the extra that installs it, else the package to install."""
    module = (getattr(error, "name", None) or str(error).rsplit(" ", 1)[-1].strip("'\"")).split(".")[0]
    extra = extra_for(module, prefer)
    if extra is not None:
        missing = MissingDependencyError(module, extra)
    else:
        missing = MissingDependencyError(module, "")
        missing.install = f"pip install {DISTRIBUTIONS.get(module, module.replace('_', '-'))}"
        missing.args = (f"this needs the Python module '{module}', which is not installed: run {missing.install}",)
    if location:
        missing.args = (f"{location}: {missing.args[0]}",)
    return missing
