"""The machinery every checker uses: call the learner's function, compare, and say what is wrong.

A checker is a function ``check(fn) -> int`` (the number of cases it ran) that raises
:class:`NotAttempted` or :class:`Wrong` with a message naming the case. :func:`run_checker` turns
that into a :class:`Result` with an exit status (0 right, 1 wrong, 2 not attempted or unusable).
Only NumPy is imported here; checkers import PyTorch, TensorFlow or scikit-learn inside the case
that needs them.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import asdict, dataclass

import numpy as np

RIGHT, WRONG, NOT_ATTEMPTED, UNUSABLE = "right", "wrong", "not attempted", "unusable"
EXIT_CODES = {RIGHT: 0, WRONG: 1, NOT_ATTEMPTED: 2, UNUSABLE: 2}


class NotAttempted(Exception):
    """The function is still a stub (raises NotImplementedError, returns None, or its body is ``...``)."""


class Wrong(Exception):
    """The function runs but gives a wrong answer; the message says which case and how."""


@dataclass
class Result:
    exercise: str
    status: str
    message: str = ""
    cases: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict:
        return asdict(self)


def _body_is_stub(fn) -> bool:
    """True when the function's body (after its docstring) is only ``...`` or ``pass``."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        node = ast.parse(src).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                           and s.value.value is Ellipsis) for s in body)


def uses_loop(fn) -> bool:
    """True when the function's source has a ``for``/``while`` loop or a comprehension
    (False when the source cannot be read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.AsyncFor)
    return any(isinstance(n, loops) for n in ast.walk(tree))


def call(case: str, fn, *args, **kwargs):
    """Call the learner's function on one case; a stub becomes NotAttempted, a crash Wrong."""
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted("it raises NotImplementedError") from None
    except Exception as err:  # the learner's code may raise anything: report it, with the case
        raise Wrong(f"{case}: raised {type(err).__name__}: {err}") from None
    if out is None:
        if _body_is_stub(fn):
            raise NotAttempted("its body is still `...` (or `pass`)")
        raise NotAttempted("it returned None: write the body, and check it ends with `return`")
    return out


def to_numpy(x) -> np.ndarray:
    """NumPy view of an array, a PyTorch tensor or a TensorFlow tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def _fmt(v) -> str:
    return np.array2string(np.asarray(v), precision=8, threshold=12, edgeitems=2) if np.ndim(v) else f"{v:.8g}"


def check_array(case: str, got, expected, *, name: str = "result", rtol: float = 1e-6, atol: float = 1e-8,
                variants: dict | None = None) -> None:
    """Raise Wrong unless ``got`` has ``expected``'s shape and values. ``variants`` maps a
    diagnosis ("the bias b is missing") to the array that mistake would give."""
    expected = np.asarray(expected)
    try:
        arr = to_numpy(got)
    except Exception:
        raise Wrong(f"{case}: {name} is a {type(got).__name__}, expected an array of shape {expected.shape}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise Wrong(f"{case}: {name} has dtype {arr.dtype}, expected numbers (dtype {expected.dtype})")
    if arr.shape != expected.shape:
        msg = f"{case}: {name} has shape {arr.shape}, expected {expected.shape}"
        if arr.ndim >= 2 and arr.shape == expected.shape[::-1]:
            msg += " (is it transposed?)"
        raise Wrong(msg)
    if np.isfinite(expected).all() and not np.isfinite(arr).all():
        bad = "nan" if np.isnan(arr).any() else "inf"
        raise Wrong(f"{case}: {name} contains {bad} where every expected value is finite "
                    "(an overflow, a division by zero, or the square root of a negative number?)")
    if np.allclose(arr, expected, rtol=rtol, atol=atol):
        return
    for diagnosis, alt in (variants or {}).items():
        alt = np.asarray(alt)
        if alt.shape == arr.shape and np.allclose(arr, alt, rtol=rtol, atol=atol):
            raise Wrong(f"{case}: {name} is wrong: {diagnosis}")
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and np.allclose(arr.T, expected, rtol=rtol, atol=atol):
        raise Wrong(f"{case}: {name} is the transpose of the expected matrix")
    err = np.abs(arr.astype(np.float64) - expected)
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    where = f" at index {tuple(int(i) for i in idx)}" if err.ndim else ""
    raise Wrong(f"{case}: {name} differs from the expected values: largest error {float(err.max()):.3g}{where}: "
                f"expected {_fmt(expected[idx])}, got {_fmt(arr[idx])}"
                + (f"\n  expected {_fmt(expected)}\n  got      {_fmt(arr)}" if expected.size <= 12 else ""))


def check_number(case: str, got, expected, *, name: str = "result", rtol: float = 1e-9, atol: float = 1e-12,
                 integer: bool = False, variants: dict | None = None) -> None:
    """Raise Wrong unless ``got`` is a plain number close to ``expected`` (exactly equal, for ``integer``)."""
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        kind = type(got).__name__
        hint = " (call .item() to get a Python number)" if hasattr(got, "item") else ""
        raise Wrong(f"{case}: {name} is a {kind}, expected a {'int' if integer else 'float'}{hint}")
    if integer:
        if isinstance(got, (float, np.floating)):
            raise Wrong(f"{case}: {name} is the float {got!r}, expected the int {expected} (use // for sizes)")
        ok = int(got) == int(expected)
    else:
        ok = bool(np.isfinite(got)) and abs(float(got) - float(expected)) <= atol + rtol * abs(float(expected))
        if not np.isfinite(got) and np.isfinite(expected):
            raise Wrong(f"{case}: {name} is {got}, expected the finite value {float(expected):.8g} "
                        "(an overflow or a division by zero?)")
    if ok:
        return
    shown = int(expected) if integer else float(expected)
    for diagnosis, alt in (variants or {}).items():
        if abs(float(got) - float(alt)) <= atol + rtol * abs(float(alt)):
            raise Wrong(f"{case}: {name} = {got!r}, expected {shown!r}: {diagnosis}")
    raise Wrong(f"{case}: {name} = {got!r}, expected {shown!r}")


def run_checker(exercise_id: str, checker, fn) -> Result:
    """Run ``checker(fn)`` and return a Result; never raises for a wrong or unfinished answer."""
    if not callable(fn):
        return Result(exercise_id, UNUSABLE, f"expected a function, got {type(fn).__name__}")
    try:
        cases = checker(fn)
    except NotAttempted as err:
        return Result(exercise_id, NOT_ATTEMPTED, str(err))
    except Wrong as err:
        return Result(exercise_id, WRONG, str(err))
    return Result(exercise_id, RIGHT, f"all {cases} cases pass", cases)
