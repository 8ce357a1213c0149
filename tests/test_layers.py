"""Import hygiene: the app layering (import-linter, as `make lint` runs it) and two rules on app code's imports."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("denpasar_checkin", "offices", "screening", "visitors", "door", "reports")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    """`lint-imports` with the pyproject.toml in `where`, importing the apps found there."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_apps_import_downward_only():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The apps' Python code and pyproject.toml, copied so a test can add an import without touching the tree."""
    for app in APPS:
        shutil.copytree(
            ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "locale")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        pytest.param("offices/upward.py", "visitors.models", id="offices-imports-visitors"),
        pytest.param("screening/upward.py", "visitors.models", id="screening-imports-visitors"),
        pytest.param("denpasar_checkin/upward.py", "offices.models", id="shared-helpers-import-offices"),
        pytest.param("visitors/upward.py", "door.views", id="visitors-imports-door"),
        pytest.param("door/sibling.py", "reports.views", id="door-imports-reports"),
        pytest.param("reports/sibling.py", "door.views", id="reports-imports-door"),
    ],
)
def test_an_import_against_the_layers_fails_lint(tree_copy: Path, module: str, imported: str):
    (tree_copy / module).write_text(f"import {imported}  # noqa: F401\n")
    done = lint_imports(tree_copy)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout
    assert module.removesuffix(".py").replace("/", ".") in done.stdout


def test_the_wiring_may_name_every_app(tree_copy: Path):
    urls = tree_copy / "denpasar_checkin" / "urls.py"
    urls.write_text(urls.read_text() + "\nimport door.views\nimport reports.views\n")
    celery = tree_copy / "denpasar_checkin" / "celery.py"
    celery.write_text(celery.read_text() + "\nimport visitors.tasks\n")
    done = lint_imports(tree_copy)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_cycle_between_modules_of_an_app_fails_lint(tree_copy: Path):
    selectors = tree_copy / "screening" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom . import services  # noqa: E402, F401\n")
    done = lint_imports(tree_copy)
    assert done.returncode != 0, done.stdout
    assert "No cycles are allowed in screening." in done.stdout


# --- imports in app code ----------------------------------------------------------------------------------------


def app_modules() -> Iterator[tuple[str, ast.Module]]:
    """(path relative to the project, parsed module) for the apps' code, without migrations and tests."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "tests" in parts or path.name.startswith("test_"):
                continue
            yield "/".join(parts), ast.parse(path.read_text(), filename=str(path))


def test_no_module_imports_another_modules_private_name():
    offenders = [
        f"{path}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}"
        for path, tree in app_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == [], "private names imported from another module:\n" + "\n".join(offenders)


class _FunctionImports(ast.NodeVisitor):
    """Every import statement inside a function body, with the functions around it (outermost first)."""

    def __init__(self) -> None:
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.found: list[tuple[list[ast.FunctionDef | ast.AsyncFunctionDef], ast.Import | ast.ImportFrom]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self.functions:
            self.found.append((list(self.functions), node))

    visit_ImportFrom = visit_Import


def _allowed(path: str, functions: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> bool:
    # App registries are complete only inside AppConfig.ready(); a management command is its own entry point.
    in_ready = path.endswith("/apps.py") and any(function.name == "ready" for function in functions)
    return in_ready or "/management/commands/" in path


def test_no_import_inside_a_function():
    offenders = []
    for path, tree in app_modules():
        visitor = _FunctionImports()
        visitor.visit(tree)
        offenders.extend(
            f"{path}:{node.lineno}: in {functions[-1].name}()"
            for functions, node in visitor.found
            if not _allowed(path, functions)
        )
    assert offenders == [], "imports inside functions:\n" + "\n".join(offenders)
