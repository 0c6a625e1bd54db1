"""Checking a function, a .py file or a whole notebook against the registry."""
from __future__ import annotations

import ast
import inspect
import json
import runpy
from pathlib import Path

from .checking import NOT_ATTEMPTED, RIGHT, UNUSABLE, WRONG, Result, run_checker
from .registry import EXERCISES, for_notebook, get


def check(exercise_id: str, fn) -> Result:
    """Run the exercise's checker on ``fn``; the Result says right, wrong, not attempted or unusable."""
    ex = get(exercise_id)
    return run_checker(ex.id, ex.checker_fn(), fn)


def use(exercise_id: str, fn, quiet: bool = False):
    """Check the learner's ``fn`` and return the function the notebook should go on with: ``fn``
    when it is right, the course's reference otherwise. Prints one short verdict; never raises for a
    wrong or unfinished answer, so "run all" goes through."""
    ex = get(exercise_id)
    result = check(ex.id, fn)
    if not quiet:
        if result.status == RIGHT:
            print(f"✓ {ex.id}: right ({result.message}). The notebook continues with your function.")
        elif result.status == NOT_ATTEMPTED:
            print(f"{ex.id}: not attempted yet ({result.message}). "
                  "No problem: the notebook continues with the course's reference. "
                  "Write the function above and run both cells again.")
        else:
            print(f"✗ {ex.id}: {result.message}\n  The notebook continues with the course's reference; "
                  "fix your function and run both cells again.")
    return fn if result.status == RIGHT else ex.reference_fn()


def _load_file(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return runpy.run_path(str(path), run_name="__exercise__")


def check_file(exercise_id: str, path) -> Result:
    """Check the function of the exercise's name defined in the .py file ``path``."""
    ex = get(exercise_id)
    try:
        namespace = _load_file(path)
    except FileNotFoundError as err:
        return Result(ex.id, UNUSABLE, f"cannot use the file: {err}")
    except SyntaxError as err:
        return Result(ex.id, UNUSABLE, f"cannot use {path}: syntax error line {err.lineno}: {err.msg}")
    except Exception as err:  # the file's top-level code failed
        return Result(ex.id, UNUSABLE, f"cannot use {path}: running it raised {type(err).__name__}: {err}")
    if ex.function not in namespace:
        return Result(ex.id, UNUSABLE, f"{path} defines no function named {ex.function!r}")
    return check(ex.id, namespace[ex.function])


def solution_source(exercise_id: str) -> str:
    """Where the reference of the exercise lives, and its source."""
    ex = get(exercise_id)
    fn = ex.reference_fn()
    try:
        where = f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        where, src = "(source not available)", ""
    return f"{ex.id}: reference {ex.reference_path()}\n{where}\n\n{src}"


# -- grading a notebook -----------------------------------------------------------------------
def _cell_source(cell) -> str:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    # IPython syntax (%pip, !ls) is not Python: comment it out so the rest of the cell parses
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())


def extract_definitions(notebook_path) -> tuple[dict, list[str]]:
    """The learner's imports and top-level function definitions from a notebook's code cells,
    executed in a fresh namespace (nothing else of the notebook runs). Returns (namespace, notes)."""
    nb = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    namespace: dict = {"__name__": "__graded__"}
    notes = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_cell_source(cell))
        except SyntaxError as err:
            notes.append(f"cell {i}: syntax error line {err.lineno}: {err.msg} (skipped)")
            continue
        for node in tree.body:
            if not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
                continue
            code = compile(ast.Module(body=[node], type_ignores=[]), f"<cell {i}>", "exec")
            try:
                exec(code, namespace)
            except Exception as err:  # an import the grading machine lacks, say
                notes.append(f"cell {i}: {type(err).__name__}: {err} (skipped)")
    return namespace, notes


def grade(notebook_path, notebook: str | None = None) -> list[Result]:
    """Check every registered exercise of the notebook (its number from the file name, or
    ``notebook``) on the functions the notebook defines."""
    path = Path(notebook_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    number = (notebook or path.name)[:2]
    exercises = for_notebook(number)
    namespace, _ = extract_definitions(path)
    if not exercises:       # a renamed file: grade every exercise whose function it defines
        exercises = [ex for ex in EXERCISES if ex.function in namespace]
    results = []
    for ex in exercises:
        fn = namespace.get(ex.function)
        if fn is None:
            results.append(Result(ex.id, NOT_ATTEMPTED, f"the notebook defines no function named {ex.function!r}"))
        else:
            results.append(check(ex.id, fn))
    return results


__all__ = ["check", "use", "check_file", "solution_source", "extract_definitions", "grade", "RIGHT", "WRONG",
           "NOT_ATTEMPTED", "UNUSABLE"]
