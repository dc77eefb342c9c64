"""mlflow, shap, matplotlib and lightgbm each have one home module (DESIGN.md section 4); mlflow's is the
tracking package (grown past one module) and the pyfunc file."""

from __future__ import annotations

import ast
from pathlib import Path

import churnml

PACKAGE = Path(churnml.__file__).parent

HOMES = {
    # scorer.py: the models-from-code file MLflow loads
    "mlflow": {"tracking/runs.py", "tracking/promotion.py", "tracking/versions.py", "scorer.py"},
    "shap": {"explain.py"},
    "matplotlib": {"plots.py"},
    "lightgbm": {"model.py"},
}


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    type_checking_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in ast.walk(node):
                type_checking_lines.add(getattr(sub, "lineno", -1))
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in type_checking_lines:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_heavy_libraries_are_imported_only_in_their_home_module():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        imports = _runtime_imports(path)
        for lib, homes in HOMES.items():
            if lib in imports and path.relative_to(PACKAGE).as_posix() not in homes:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {lib}")
    assert offenders == []


def test_the_library_never_prints():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in {"__main__.py", "train.py", "score.py", "registry.py", "cli.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_importing_churnml_does_not_import_heavy_libraries():
    import subprocess
    import sys

    code = (
        "import sys, churnml, churnml.config, churnml.features, churnml.labels;"
        "print(sorted(m for m in ('mlflow','shap','matplotlib','lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_examples_in_docstrings_run_and_give_what_they_show():
    import doctest
    import importlib

    failed, tried = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>> " not in path.read_text(encoding="utf-8") or "spark" in path.relative_to(PACKAGE).parts:
            continue
        name = ".".join(("churnml", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
        tried += result.attempted
        if result.failed:
            failed.append(name)
    assert failed == [] and tried >= 10
