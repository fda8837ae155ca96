"""Hatchling build hook that compiles a package's cffi extension.

The canonical copy lives in ``tools/hatch_cffi_hook.py``; each codec package
carries an identical ``hatch_build.py`` so that its sdist builds on its own
(``tests/test_repo.py`` keeps the copies identical).

Configuration, in the package's ``pyproject.toml``::

    [tool.hatch.build.targets.wheel.hooks.custom]
    path = "hatch_build.py"
    dependencies = ["cffi>=1.17", "setuptools"]
    builder = "cffi_build.py"     # defines ``ffibuilder``
    package = "spice_quic"        # import package under src/

The compiled module is copied into ``src/<package>/`` so that editable
installs import it too, and listed as a wheel artifact.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CffiBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile the cffi module for wheel and editable builds."""

    PLUGIN_NAME = "custom"

    def _package_dir(self) -> Path:
        return Path(self.root, "src", str(self.config["package"]))

    def _load_builder(self) -> Any:
        path = Path(self.root, str(self.config.get("builder", "cffi_build.py")))
        spec = importlib.util.spec_from_file_location("_spice_cffi_builder", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load cffi builder {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ffibuilder

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        ffibuilder = self._load_builder()
        package_dir = self._package_dir()
        for stale in package_dir.glob("_*.so"):
            stale.unlink()
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(ffibuilder.compile(tmpdir=tmp, verbose=False))
            target = package_dir / built.name
            shutil.copy2(built, target)
        build_data["artifacts"].append(str(target.relative_to(self.root)))

    def clean(self, versions: list[str]) -> None:
        for stale in self._package_dir().glob("_*.so"):
            stale.unlink()
