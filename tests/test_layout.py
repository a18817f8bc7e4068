"""The tree shows the architecture: thin pages, one ui package, core free of Streamlit and of ui."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "streamlit_app.py", *sorted((ROOT / "pages").glob("*.py"))]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_page_is_a_title_and_a_few_calls():
    assert len(PAGES) == 7
    for page in PAGES:
        tree = ast.parse(page.read_text())
        assert len(page.read_text().splitlines()) <= 40, page.name
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.With | ast.For)], page.name


def test_core_never_imports_streamlit_or_ui():
    for path in (ROOT / "core").rglob("*.py"):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        assert not roots & {"streamlit", "ui"}, path.relative_to(ROOT)


def test_charts_import_no_page_plumbing_and_subjects_import_no_charts():
    for path in (ROOT / "core").rglob("*.py"):
        mods = imported_modules(path)
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("core/chain/", "core/training/", "core/recurrent/", "core/chaos/")):
            assert not any(m.startswith(("core.charts", "core.app")) for m in mods), rel


def test_the_top_level_holds_no_loose_modules_and_the_install_holds_core_and_ui():
    loose = sorted(p.name for p in ROOT.glob("*.py"))
    assert loose == ["streamlit_app.py"]
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = project["tool"]["setuptools"]
    assert "py-modules" not in setuptools
    assert setuptools["packages"]["find"]["include"] == ["core", "core.*", "ui", "ui.*"]
    for package in ("core", "ui"):
        assert (ROOT / package / "__init__.py").exists()
