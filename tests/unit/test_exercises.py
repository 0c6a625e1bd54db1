"""The exercise registry, its checkers and the `exercises` command.

Every registered exercise: the course's reference passes, a stub is "not attempted", and two wrong
answers written here (plausible mistakes, in files as a learner would hand them in) fail with a
message. Fast: no notebook is executed.
"""
import contextlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_utils.exercises import EXERCISES, REGISTRY, check, check_file, grade, use
from course_utils.exercises.cli import add_subparser  # noqa: F401  (imported: the hook cli.py uses)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "course_utils", "exercises"]

# Two wrong answers per exercise: mistakes learners make, not derived from the checkers' messages.
WRONG = {
    "01.l2_no_loops": [
        """import numpy as np
def l2_no_loops(X_test, X_train):
    A, B = X_test.reshape(len(X_test), -1), X_train.reshape(len(X_train), -1)   # no float conversion
    return np.sqrt(np.maximum((A**2).sum(1)[:, None] + (B**2).sum(1)[None] - 2 * A @ B.T, 0))""",
        """import numpy as np
def l2_no_loops(X_test, X_train):
    A = X_test.reshape(len(X_test), -1).astype(float); B = X_train.reshape(len(X_train), -1).astype(float)
    return np.sqrt(np.maximum((A**2).sum(1)[None] + (B**2).sum(1)[:, None] - 2 * B @ A.T, 0))   # transposed""",
        """import numpy as np
def l2_no_loops(X_test, X_train):
    A = X_test.reshape(len(X_test), -1).astype(float); B = X_train.reshape(len(X_train), -1).astype(float)
    return (A**2).sum(1)[:, None] + (B**2).sum(1)[None] - 2 * A @ B.T      # squared, no sqrt""",
    ],
    "01.majority_vote": [
        """import numpy as np
def majority_vote(neighbour_labels):
    return np.array([max(set(r.tolist()), key=r.tolist().count) for r in neighbour_labels])"""
        "  # set order decides ties",
        """import numpy as np
def majority_vote(neighbour_labels):
    return np.asarray(neighbour_labels)[:, 0]          # the nearest neighbour's label""",
    ],
    "02.linear_scores": [
        "def linear_scores(X, W, b):\n    return X @ W.T",
        "def linear_scores(X, W, b):\n"
        "    return (W @ X.T).T + b if X.ndim == 2 and X.shape[0] == W.shape[0] else W @ X + b",
    ],
    "02.add_bias_column": [
        "import numpy as np\ndef add_bias_column(X):\n    return np.hstack([np.ones((len(X), 1)), X])",
        "import numpy as np\ndef add_bias_column(X):\n    return np.vstack([X, np.ones((1, X.shape[1]))])",
    ],
    "03.svm_loss": [
        """import numpy as np
def svm_loss(W, X, y, reg):
    s = X @ W; n = len(y)
    m = np.maximum(0, s - s[np.arange(n), y][:, None] + 1)          # correct class's margin kept
    c = (m > 0).astype(float); c[np.arange(n), y] -= c.sum(1)
    return m.sum() / n + reg * np.sum(W * W), X.T @ c / n + 2 * reg * W""",
        """import numpy as np
def svm_loss(W, X, y, reg):
    s = X @ W; n = len(y)
    m = np.maximum(0, s - s[np.arange(n), y][:, None] + 1); m[np.arange(n), y] = 0
    c = (m > 0).astype(float); c[np.arange(n), y] = -c.sum(1)
    return m.sum() / n, X.T @ c / n                                  # no regularization""",
    ],
    "03.softmax_loss": [
        """import numpy as np
def softmax_loss(W, X, y, reg):
    s = X @ W; n = len(y)
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)                 # no max shift
    loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
    p[np.arange(n), y] -= 1
    return loss, X.T @ p / n + 2 * reg * W""",
        """import numpy as np
def softmax_loss(W, X, y, reg):
    s = X @ W; s = s - s.max(1, keepdims=True); n = len(y)
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
    p[np.arange(n), y] -= 1
    return loss, X.T @ p / n                                         # regularization gradient missing""",
    ],
    "03.sgd_step": [
        "def sgd_step(W, dW, learning_rate):\n    return W + learning_rate * dW",
        "def sgd_step(W, dW, learning_rate):\n    return W - dW",
    ],
    "04.conv_output_size": [
        "def conv_output_size(size, kernel, pad=0, stride=1):\n    return (size - kernel + 2 * pad) / stride + 1",
        "def conv_output_size(size, kernel, pad=0, stride=1):\n    return (size - kernel + pad) // stride + 1",
    ],
    "04.conv_forward_naive": [
        """import numpy as np
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape; F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3]))    # bias forgotten
    return out""",
        """import numpy as np
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape; F, _, HH, WW = w.shape
    Ho, Wo = (H - HH) // stride + 1, (W - WW) // stride + 1                      # padding ignored
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out""",
    ],
    "04.max_pool_forward": [
        """import numpy as np
def max_pool_forward(x, size=2, stride=2):
    N, C, H, W = x.shape; Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            for a in range(size):
                for c in range(size):
                    out[:, :, i, j] = np.maximum(out[:, :, i, j], x[:, :, i * stride + a, j * stride + c])
    return out""",
        """def max_pool_forward(x, size=2, stride=2):
    N, C, H, W = x.shape
    return x[:, :, :H // size * size, :W // size * size].reshape(N, C, H // size, size, W // size, size)"""
        ".max(axis=(3, 5))",
    ],
    "04.batchnorm_forward": [
        """import numpy as np
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    m, v = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True, ddof=1)
    return gamma.reshape(1, -1, 1, 1) * (x - m) / np.sqrt(v + eps) + beta.reshape(1, -1, 1, 1)""",
        """import numpy as np
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    m, s = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - m) / s + beta.reshape(1, -1, 1, 1)      # eps forgotten""",
    ],
    "05.conv_params": [
        "def conv_params(in_channels, out_channels, kernel_size, bias=True):\n"
        "    return out_channels * kernel_size ** 2 + out_channels",
        "def conv_params(in_channels, out_channels, kernel_size, bias=True):\n"
        "    return in_channels * out_channels * kernel_size ** 2 + out_channels",
    ],
    "05.receptive_field": [
        "def receptive_field(layers):\n    return 1 + sum(k - 1 for k, s in layers)",
        "def receptive_field(layers):\n    r = 1\n    for k, s in layers:\n        r = r * s + k - 1\n    return r",
    ],
    "06.accuracy": [
        "def accuracy(logits, targets):\n    return (logits.argmax(dim=1) == targets).float().mean()",
        "def accuracy(logits, targets):\n    return 100.0 * (logits.argmax(dim=1) == targets).float().mean().item()",
    ],
    "06.train_step": [
        """def train_step(model, x, y, optimizer, loss_fn):
    model.train()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()                       # zero_grad forgotten
    return loss.item()""",
        """def train_step(model, x, y, optimizer, loss_fn):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()                     # no optimizer.step()""",
    ],
    "07.binary_metrics": [
        """def binary_metrics(tp, fp, fn, tn):
    sens, spec, prec = tp / (tp + fn), tn / (tn + fp), tp / (tp + fp)     # divides by zero
    return {"sensitivity": sens, "specificity": spec, "precision": prec,
            "f1": 2 * prec * sens / (prec + sens),
            "mcc": (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5}""",
        """import math
def binary_metrics(tp, fp, fn, tn):
    d = lambda a, b: a / b if b else 0.0
    sens, spec, prec = d(tp, tp + fn), d(tn, tn + fp), d(tp, tp + fp)
    return {"sensitivity": sens, "specificity": spec, "precision": prec, "f1": (prec + sens) / 2,
            "mcc": d(tp * tn - fp * fn, math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))}""",
    ],
    "07.confusion_counts": [
        """import numpy as np
def confusion_counts(y_true, y_pred):
    t, p = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    return int((t & p).sum()), int((t & (1 - p)).sum()), int(((1 - t) & p).sum()), int(((1 - t) & (1 - p)).sum())""",
        """from sklearn.metrics import confusion_matrix
def confusion_counts(y_true, y_pred):
    return tuple(int(v) for v in confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())   # (tn, fp, fn, tp)""",
    ],
    "08.balanced_accuracy": [
        "import numpy as np\ndef balanced_accuracy(y_true, y_pred):\n"
        "    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))",
        """import numpy as np
def balanced_accuracy(y_true, y_pred):
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(t[p == c] == c) for c in np.unique(p)]))     # per predicted class""",
    ],
    "08.class_weights": [
        "import numpy as np\ndef class_weights(y):\n    c, n = np.unique(y, return_counts=True)\n"
        "    return {int(k): 1 / v for k, v in zip(c, n)}",
        "import numpy as np\ndef class_weights(y):\n    c, n = np.unique(y, return_counts=True)\n"
        "    return {int(k): len(y) / v for k, v in zip(c, n)}",
    ],
    "09.flatten_length": [
        "def flatten_length(image_size):\n    s = image_size\n    for _ in range(4):\n        s = s // 2\n"
        "    return s * s * 128",
        "def flatten_length(image_size):\n    s = image_size\n    for _ in range(4):\n        s = (s - 2) / 2\n"
        "    return int(s * s * 128)",
    ],
    "10.feature_head": [
        "import numpy as np\ndef feature_head(feature_maps, w, b):\n"
        "    return 1 / (1 + np.exp(-(feature_maps.mean(axis=(1, 2)) @ w)))",
        "import numpy as np\ndef feature_head(feature_maps, w, b):\n"
        "    return 1 / (1 + np.exp(-(feature_maps.max(axis=(1, 2)) @ w + b)))",
    ],
    "11.layers_to_unfreeze": [
        "def layers_to_unfreeze(layer_names, block):\n    return [n for n in layer_names if n.startswith(block)]",
        "def layers_to_unfreeze(layer_names, block):\n    return [n for n in layer_names if n == block + '_conv1']",
        """def layers_to_unfreeze(layer_names, block):
    for i, n in enumerate(layer_names):
        if n.startswith(block):
            return list(layer_names[i:])
    return []""",
    ],
    "12.cam_from_maps": [
        "def cam_from_maps(feature_maps, weights):\n    return feature_maps.mean(axis=2)",
        "import numpy as np\ndef cam_from_maps(feature_maps, weights):\n"
        "    return np.tensordot(weights, feature_maps.T, axes=1)",
    ],
    "12.normalize_cam": [
        "import numpy as np\ndef normalize_cam(heatmap):\n    h = np.maximum(heatmap, 0)\n    return h / h.max()",
        "def normalize_cam(heatmap):\n    return (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())",
    ],
}

# Right answers written independently of the course's code.
RIGHT = {
    "01.l2_no_loops": """import numpy as np
def l2_no_loops(X_test, X_train):
    a = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    b = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    sq = np.einsum('ij,ij->i', a, a)[:, None] - 2.0 * a @ b.T + np.einsum('ij,ij->i', b, b)
    return np.sqrt(np.clip(sq, 0.0, None))""",
    "03.softmax_loss": """import numpy as np
def softmax_loss(W, X, y, reg):
    z = X @ W
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = X.shape[0]
    g = np.exp(logp)
    g[np.arange(n), y] -= 1
    return -logp[np.arange(n), y].mean() + reg * (W ** 2).sum(), X.T @ g / n + 2 * reg * W""",
    "04.conv_forward_naive": """import numpy as np
def conv_forward_naive(x, w, b, stride=1, pad=0):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, wd = xp.shape
    f, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.empty((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum('nchw,fchw->nf', patch, w) + b
    return out""",
    "06.accuracy": "def accuracy(logits, targets):\n"
                   "    return float((logits.max(dim=1).indices == targets).sum()) / len(targets)",
    "07.binary_metrics": """import math
def binary_metrics(tp, fp, fn, tn):
    tp, fp, fn, tn = map(int, (tp, fp, fn, tn))
    r = lambda a, b: a / b if b else 0.0
    se, sp, pr = r(tp, tp + fn), r(tn, tn + fp), r(tp, tp + fp)
    return dict(sensitivity=se, specificity=sp, precision=pr, f1=r(2 * tp, 2 * tp + fp + fn),
                mcc=r(tp * tn - fp * fn, math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))))""",
    "09.flatten_length": "def flatten_length(image_size):\n    s = image_size\n    for _ in range(4):\n"
                         "        s = (s - 2) // 2\n    return 128 * s * s",
}


def _write(tmp_path, source, name="answer.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source) + "\n")
    return path


def _cli(*args):
    """`python -m course_utils exercises ARGS` in this process (the course's parser and exit codes;
    a new interpreter per call would import PyTorch again each time)."""
    from course_utils.tools.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["exercises", *args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _cli_process(*args):
    """The same in a new interpreter, as a learner or an instructor runs it."""
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=ROOT)


def test_registry_covers_every_notebook_and_the_required_six():
    assert len(EXERCISES) >= 20
    numbers = {ex.number for ex in EXERCISES}
    assert numbers == {f"{n:02d}" for n in range(1, 13)}
    for n in ("01", "02", "03", "04"):
        assert 2 <= sum(ex.number == n for ex in EXERCISES), n
    required = {"01.l2_no_loops": "l2_no_loops(X_test, X_train)",
                "03.softmax_loss": "softmax_loss(W, X, y, reg) -> (loss, dW)",
                "04.conv_forward_naive": "conv_forward_naive(x, w, b, stride=1, pad=0)",
                "06.accuracy": "accuracy(logits, targets) -> float",
                "07.binary_metrics": "binary_metrics(tp, fp, fn, tn) -> dict",
                "09.flatten_length": "flatten_length(image_size) -> int"}
    for ex_id, signature in required.items():
        assert REGISTRY[ex_id].signature == signature
    assert set(WRONG) == set(REGISTRY), "every exercise needs wrong variants in this file"


@pytest.mark.parametrize("ex_id", sorted(REGISTRY))
def test_reference_passes(ex_id):
    result = check(ex_id, REGISTRY[ex_id].reference_fn())
    assert result.status == "right", result.message


@pytest.mark.parametrize("ex_id", sorted(REGISTRY))
def test_stub_is_not_attempted(ex_id):
    ex = REGISTRY[ex_id]
    ns = {}
    exec(f"def {ex.function}(*args, **kwargs):\n    '''doc'''\n    raise NotImplementedError\n", ns)
    assert check(ex_id, ns[ex.function]).status == "not attempted"
    exec(f"def {ex.function}(*args, **kwargs):\n    '''doc'''\n    ...\n", ns)
    result = check(ex_id, ns[ex.function])
    assert result.status == "not attempted" and result.exit_code == 2


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_wrong_variants_fail_with_a_message(ex_id, tmp_path):
    for i, source in enumerate(WRONG[ex_id]):
        result = check_file(ex_id, _write(tmp_path, source, f"wrong{i}.py"))
        assert result.status == "wrong", (i, result)
        assert result.exit_code == 1
        assert "case" in result.message and len(result.message) > 20, result.message


@pytest.mark.parametrize("ex_id", sorted(RIGHT))
def test_independent_right_answers_pass(ex_id, tmp_path):
    result = check_file(ex_id, _write(tmp_path, RIGHT[ex_id]))
    assert result.status == "right", result.message


def test_messages_say_how_it_is_wrong(tmp_path):
    msg = lambda ex_id, i: check_file(ex_id, _write(tmp_path, WRONG[ex_id][i], f"m{i}.py")).message  # noqa: E731
    assert "overflow" in msg("03.softmax_loss", 0) or "max" in msg("03.softmax_loss", 0)
    assert "regularization" in msg("03.softmax_loss", 1)
    assert "transpose" in msg("01.l2_no_loops", 1) and "(5, 4)" in msg("01.l2_no_loops", 1)
    assert "uint8" in msg("01.l2_no_loops", 0)
    assert "bias" in msg("04.conv_forward_naive", 0)
    assert "shape" in msg("04.conv_forward_naive", 1)
    assert "Tensor" in msg("06.accuracy", 0)
    assert "zero_grad" in msg("06.train_step", 0)
    assert "step() is missing" in msg("06.train_step", 1)
    assert "eps" in msg("04.batchnorm_forward", 1)
    assert "denominator" in msg("07.binary_metrics", 0) or "ZeroDivision" in msg("07.binary_metrics", 0)
    assert "harmonic" in msg("07.binary_metrics", 1).lower()
    assert "expected" in msg("09.flatten_length", 0) and "6272" in msg("09.flatten_length", 0)


def test_use_returns_the_learners_function_only_when_right(capsys):
    ref = REGISTRY["09.flatten_length"].reference_fn()

    def flatten_length(image_size):
        raise NotImplementedError

    assert use("09.flatten_length", flatten_length) is ref
    assert "not attempted" in capsys.readouterr().out
    ns = {}
    exec(WRONG["09.flatten_length"][0], ns)
    assert use("09.flatten_length", ns["flatten_length"]) is ref
    assert "✗" in capsys.readouterr().out
    exec(RIGHT["09.flatten_length"], ns)
    assert use("09.flatten_length", ns["flatten_length"]) is ns["flatten_length"]
    assert "✓" in capsys.readouterr().out


def test_cli_check_exit_codes(tmp_path):
    right = _cli("check", "09.flatten_length", str(_write(tmp_path, RIGHT["09.flatten_length"], "r.py")))
    assert right.returncode == 0, right.stderr
    wrong = _cli("check", "09.flatten_length", str(_write(tmp_path, WRONG["09.flatten_length"][1], "w.py")))
    assert wrong.returncode == 1 and "wrong" in wrong.stderr and "expected" in wrong.stderr
    for ex in ("01.l2_no_loops", "07.binary_metrics", "12.normalize_cam"):
        fn = REGISTRY[ex].function
        stub = _cli("check", ex, str(_write(tmp_path, f"def {fn}(*a):\n    '''doc'''\n    raise NotImplementedError\n",
                                            "s.py")))
        assert stub.returncode == 2 and "not attempted" in stub.stderr, stub.stderr
    none = _cli("check", "09.flatten_length", str(_write(tmp_path, "def flatten_length(s):\n    pass\n", "n.py")))
    assert none.returncode == 2 and "not attempted" in none.stderr
    missing = _cli("check", "09.flatten_length", str(_write(tmp_path, "def other():\n    return 1\n", "o.py")))
    assert missing.returncode == 2 and "flatten_length" in missing.stderr
    broken = _cli("check", "09.flatten_length", str(_write(tmp_path, "def flatten_length(s:\n", "b.py")))
    assert broken.returncode == 2 and "syntax" in broken.stderr
    absent = _cli("check", "09.flatten_length", str(tmp_path / "nope.py"))
    assert absent.returncode == 2 and "does not exist" in absent.stderr


def test_cli_in_a_new_process(tmp_path):
    stub = tmp_path / "stub.py"
    stub.write_text("def softmax_loss(W, X, y, reg):\n    \"\"\"Softmax loss.\"\"\"\n    raise NotImplementedError\n")
    out = _cli_process("check", "03.softmax_loss", str(stub))
    assert out.returncode == 2 and "not attempted" in out.stderr, out.stderr
    out = _cli_process("list", "--json")
    assert out.returncode == 0 and len(json.loads(out.stdout)) == len(EXERCISES)


def test_cli_list_json_and_solution():
    out = _cli("list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) >= 20
    assert {r["notebook"][:2] for r in rows} == {f"{n:02d}" for n in range(1, 13)}
    for row in rows:
        assert {"id", "notebook", "function", "signature"} <= set(row)
        assert row["id"] == f"{row['notebook'][:2]}.{row['function']}"
        assert (ROOT / "notebooks" / f"{row['notebook']}.ipynb").exists()
    sol = _cli("solution", "01.l2_no_loops")
    assert sol.returncode == 0 and "def l2_distances_no_loops" in sol.stdout and "knn.py" in sol.stdout


def test_listing_imports_no_framework():
    """The registry and the list command import neither PyTorch nor TensorFlow. (`import course_utils`
    itself loads PyTorch on purpose, before TensorFlow: see env.py; so the package's __init__ is
    bypassed here with an empty package object.)"""
    code = textwrap.dedent(f"""
        import sys, types, argparse, io, contextlib
        pkg = types.ModuleType("course_utils"); pkg.__path__ = [{str(ROOT / 'course_utils')!r}]
        sys.modules["course_utils"] = pkg
        from course_utils.exercises import cli
        p = argparse.ArgumentParser(); cli.add_subparser(p.add_subparsers(dest="command"))
        args = p.parse_args(["exercises", "list", "--json"])
        with contextlib.redirect_stdout(io.StringIO()):
            assert args.func(args) == 0
        from course_utils.exercises import registry
        [ex.to_dict() for ex in registry.EXERCISES]
        heavy = sorted(m for m in ("torch", "tensorflow", "keras", "sklearn") if m in sys.modules)
        print("heavy:", heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout, out.stdout


def _notebook(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": src} for src in cells]}


def test_grade_a_generated_notebook(tmp_path):
    nb = _notebook([
        "%pip install nothing\nimport numpy as np\nprint('this top-level code is not run by the grader')\n"
        "raise SystemExit('not run')",
        RIGHT["09.flatten_length"],
    ])
    path = tmp_path / "09_submitted.ipynb"
    path.write_text(json.dumps(nb))
    results = {r.exercise: r for r in grade(path)}
    assert results["09.flatten_length"].status == "right"
    nb01 = _notebook([WRONG["01.l2_no_loops"][1],
                      "def majority_vote(neighbour_labels):\n    raise NotImplementedError"])
    path01 = tmp_path / "01_knn_cifar10.ipynb"
    path01.write_text(json.dumps(nb01))
    out = _cli("grade", str(path01), "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["exercise"]: r for r in json.loads(out.stdout)}
    assert rows["01.l2_no_loops"]["status"] == "wrong" and "transpose" in rows["01.l2_no_loops"]["message"]
    assert rows["01.majority_vote"]["status"] == "not attempted"
    table = _cli("grade", str(path01))
    assert "exercise" in table.stdout and "wrong" in table.stdout and "0 of 2 right" in table.stdout


def _cells(py_path):
    """Code cells of a py:percent notebook."""
    cells, current = [], None
    for line in py_path.read_text().splitlines():
        if line.startswith("# %%"):
            if current is not None:
                cells.append("\n".join(current))
            current = [] if "[markdown]" not in line else None
        elif current is not None:
            current.append(line)
    if current is not None:
        cells.append("\n".join(current))
    return cells


def test_notebook_stubs_are_stubs_and_call_no_course_code():
    import ast

    seen = set()
    for py in sorted((ROOT / "notebooks").glob("[01][0-9]_*.py")):
        number = py.name[:2]
        functions = {ex.function: ex for ex in EXERCISES if ex.number == number}
        for src in _cells(py):
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in functions:
                    seen.add(functions[node.name].id)
                    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                    attrs = {n.value.id for n in ast.walk(node)
                             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
                    assert "course_utils" not in names | attrs, f"{py.name}: stub {node.name} calls course_utils"
                    assert "course_utils" not in ast.unparse(node), f"{py.name}: {node.name}"
                    last = node.body[-1]
                    assert isinstance(last, ast.Raise) and "NotImplementedError" in ast.unparse(last), \
                        f"{py.name}: {node.name} must end with raise NotImplementedError"
                    assert ast.get_docstring(node), f"{py.name}: {node.name} needs a docstring"
                    assert len(node.body) == 2, f"{py.name}: {node.name} should hold only a docstring and the raise"
            if "use(" in src:
                for ex_id in {ex.id for ex in functions.values()}:
                    if f'use("{ex_id}"' in src:
                        seen.add("checked:" + ex_id)
    for ex in EXERCISES:
        assert ex.id in seen, f"no stub of {ex.id} in notebook {ex.notebook}"
        assert "checked:" + ex.id in seen, f"notebook {ex.notebook} never checks {ex.id}"


def test_every_notebook_has_questions_with_collapsed_answers():
    for py in sorted((ROOT / "notebooks").glob("[01][0-9]_*.py")):
        if py.name.startswith("00"):
            continue
        text = py.read_text()
        assert "# ## Questions" in text, py.name
        section = text.split("# ## Questions", 1)[1].split("# %%", 1)[0]
        n = section.count("<details><summary>Answer</summary>")
        assert 2 <= n <= 3 and section.count("</details>") == n, (py.name, n)
