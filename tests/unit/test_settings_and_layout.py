"""One source for each setting and each notebook name, and the package's layering rules."""
import ast
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_utils.setup import profiles
from course_utils.setup.contract import METRIC_KEYS
from course_utils.tools.runner import toc_notebooks

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "course_utils"
STEMS = toc_notebooks(ROOT / "_toc.yml")
STANDARD = ["profile", "data_source", "data_dir", "output_dir", "seed", "tiny"]


def _code_cells(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_list_comes_from_the_toc_and_everything_agrees():
    on_disk = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert STEMS == on_disk, "the _toc.yml lists every notebook, in the order of their numbers"
    assert list(profiles.TABLE) == STEMS, "profiles.TABLE: one entry per notebook, in _toc.yml order"
    assert list(METRIC_KEYS) == STEMS, "contract.METRIC_KEYS: one entry per notebook, in _toc.yml order"


@pytest.mark.parametrize("stem", STEMS)
def test_parameters_cell_declares_exactly_the_table_knobs_and_setup_passes_them(stem):
    cells = _code_cells(stem)
    i = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    declared = [n.targets[0].id for n in ast.parse(cells[i].source).body
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
    knobs = list(profiles.TABLE[stem]["smoke"])
    assert declared[:6] == STANDARD, f"{stem}: the parameters cell starts with {STANDARD}"
    assert sorted(declared[6:]) == sorted(knobs), (
        f"{stem}: parameters cell knobs {sorted(declared[6:])} != profiles.TABLE knobs {sorted(knobs)}")
    call = next(n for n in ast.walk(ast.parse(cells[i + 1].source))
                if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "setup_notebook")
    passed = {k.arg: k.value.id for k in call.keywords if isinstance(k.value, ast.Name)}
    assert passed == {k: k for k in STANDARD + knobs}, f"{stem}: setup_notebook(...) must pass each knob as knob=knob"


@pytest.mark.parametrize("stem", STEMS)
def test_notebooks_read_only_declared_knobs(stem):
    code = "\n".join(c.source for c in _code_cells(stem))
    assert "cfg.get(" not in code, f"{stem}: read a knob as cfg.NAME after declaring it in the parameters cell"
    read = set(re.findall(r"\bcfg\.([a-z_][a-z0-9_]*)\b", code))
    allowed = set(profiles.TABLE[stem]["smoke"]) | set(profiles.COMMON["smoke"]) | set(dir(dict))
    assert read <= allowed, f"{stem}: reads settings the table does not declare: {sorted(read - allowed)}"


def _package_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_helper_outside_the_run_module_takes_the_run():
    offenders = []
    for path in _package_files():
        if path == PACKAGE / "setup" / "notebook.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
                if "run" in names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not offenders, "helpers take data and return provenance; only Run records it: " + ", ".join(offenders)


def test_one_training_loop_one_grad_cam_one_receptive_field_gradient():
    hits = [f"{p.relative_to(ROOT)}" for p in _package_files() for line in p.read_text().splitlines()
            if ".backward(" in line]
    assert sorted(hits) == ["course_utils/torch_/cam.py", "course_utils/torch_/models.py",
                            "course_utils/torch_/train.py"], hits


def test_framework_neutral_modules_import_no_framework():
    neutral = [PACKAGE / "arch.py", PACKAGE / "cam.py", PACKAGE / "metrics.py", PACKAGE / "plots.py",
               *sorted((PACKAGE / "data").glob("*.py")), *sorted((PACKAGE / "numpy_").glob("*.py"))]
    for path in neutral:
        for node in ast.walk(ast.parse(path.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for m in mods:
                top = m.split(".")[0]
                assert top not in ("torch", "torchvision", "tensorflow", "keras", "timm"), f"{path.name} imports {m}"
                assert not m.startswith(("course_utils.torch_", "course_utils.keras_")), f"{path.name} imports {m}"


def test_ruff_is_clean_on_the_whole_repository():
    ruff = shutil.which("ruff") or (str(Path(ROOT / ".venv" / "bin" / "ruff"))
                                    if (ROOT / ".venv" / "bin" / "ruff").exists() else None)
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the dev extra: pip install -e '.[dev]')")
    proc = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
