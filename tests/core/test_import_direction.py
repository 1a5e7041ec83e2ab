"""Layers point one way: the core never imports the napari adapter or the Qt docks; only the CLI imports commands.

Read from the source (every ``import`` statement of every module, also the
ones inside functions), so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "napari_licell"
#: Top-level packages that are not the Qt-free core.
ADAPTERS = ("_napari", "_qt")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, source: str | None = None, module: str | None = None) -> list[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names]
    return names


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "napari_licell" else ""


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_core_never_imports_the_adapter_or_the_docks():
    offences = []
    for path in _sources():
        module = _module_name(path)
        if _layer(module) in ADAPTERS or module == "napari_licell.cli":
            continue
        for name in _imports(path):
            if _layer(name) in ADAPTERS:
                offences.append(f"{module} imports {name}")
    assert offences == []


def test_the_napari_adapter_never_imports_the_docks():
    offences = [
        f"{_module_name(p)} imports {n}"
        for p in _sources()
        if _layer(_module_name(p)) == "_napari"
        for n in _imports(p)
        if _layer(n) == "_qt"
    ]
    assert offences == []


def test_only_the_cli_imports_the_commands():
    offences = []
    for path in _sources():
        module = _module_name(path)
        if module == "napari_licell.cli" or _layer(module) == "commands":
            continue
        for name in _imports(path):
            if _layer(name) == "commands":
                offences.append(f"{module} imports {name}")
    assert offences == []


def test_the_rule_sees_lazy_and_relative_imports():
    """The checker itself: imports inside functions and relative imports are resolved to absolute names."""
    source = "def f():\n    from .._qt.notify import report_error\n    from ..commands import analyze\n"
    names = _imports(PACKAGE / "measure" / "probe.py", source, "napari_licell.measure.probe")
    assert "napari_licell._qt.notify" in names and "napari_licell.commands.analyze" in names
    assert {_layer(n) for n in names} >= {"_qt", "commands"}
