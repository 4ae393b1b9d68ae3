"""Build the Lambda layer the exporter runs on: this repository's runtime (``[runtime]``) for Lambda.

The handler imports ``fedctl`` (the token supplier and the cloud credentials); the function's own
archive holds only ``handler.py``. So the runtime goes in a layer, installed for Lambda's platform
(manylinux x86_64, the function's Python) whatever machine builds it::

    python build_layer.py            # -> build/runtime-layer/python/...

Run it before ``pulumi up`` (and after upgrading the package); the program ships the directory.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
LAYER = HERE / "build" / "runtime-layer"
PYTHON_VERSION = "3.12"
"""Keep in step with the function's runtime in __main__.py (python3.12)."""


def build(target: Path = LAYER, *, python_version: str = PYTHON_VERSION, source: Path = REPOSITORY) -> Path:
    """Install ``outbound-federation[runtime]`` from ``source`` into ``target/python`` for Lambda."""
    site = target / "python"
    if target.exists():
        shutil.rmtree(target)
    site.mkdir(parents=True)
    # The package itself is pure Python: build its wheel here, then let pip pick Lambda's wheels
    # for everything it needs.
    wheels = target / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
                    str(source)], check=True)
    [wheel] = wheels.glob("outbound_federation-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site),
                    "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                    "--python-version", python_version, "--only-binary", ":all:",
                    f"{wheel}[runtime]"], check=True)
    shutil.rmtree(wheels)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=LAYER)
    print(build(parser.parse_args().target))
