"""Checkers of the NumPy exercises (notebooks 01-05). Expected values are computed here, with loops
written independently of the course's helpers, and compared with PyTorch or scikit-learn where that
is cheap (imported inside the case, skipped when not installed)."""
from __future__ import annotations

import itertools

import numpy as np

from .checking import Wrong, call, check_array, check_number, uses_loop


def _optional(module: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        return None


# -- 01 ----------------------------------------------------------------------------------------
def _l2_loops(A, B):
    A = A.reshape(len(A), -1).astype(np.float64)
    B = B.reshape(len(B), -1).astype(np.float64)
    return np.array([[np.sqrt(np.sum((a - b) ** 2)) for b in B] for a in A])


def l2_no_loops(fn) -> int:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 6)), rng.normal(size=(5, 6))
    check_array("case 1 (4 x 6 test rows, 5 x 6 train rows)", call("case 1", fn, A, B), _l2_loops(A, B),
                name="distances")
    Ai = rng.integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
    Bi = rng.integers(0, 256, size=(11, 8, 8, 3), dtype=np.uint8)
    flat_a, flat_b = Ai.reshape(7, -1), Bi.reshape(11, -1)
    with np.errstate(all="ignore"):
        wrapped = np.sqrt(np.maximum(((flat_a ** 2).sum(1)[:, None] + (flat_b ** 2).sum(1)[None]
                                      - 2 * (flat_a @ flat_b.T)).astype(np.float64), 0))
    check_array("case 2 (uint8 images 7x8x8x3 and 11x8x8x3)", call("case 2", fn, Ai, Bi), _l2_loops(Ai, Bi),
                name="distances", variants={"uint8 arithmetic wraps around: convert to float64 first": wrapped})
    C = rng.normal(size=(3, 50)) * 1000 + 1e4        # large values: rounding makes some d^2 slightly negative
    D = np.vstack([C, rng.normal(size=(2, 50)) * 1000 + 1e4])
    check_array("case 3 (test rows that are also train rows, large values)", call("case 3", fn, C, D),
                _l2_loops(C, D), name="distances", rtol=1e-6, atol=0.05)
    pairwise = _optional("sklearn.metrics.pairwise")
    if pairwise is not None:
        check_array("case 4 (against scikit-learn's euclidean_distances)", call("case 4", fn, B, A),
                    pairwise.euclidean_distances(B, A), name="distances", atol=1e-7)
    if uses_loop(fn):
        raise Wrong("the distances are right, but the function uses a loop (for, while or a comprehension): "
                    "the exercise is to write it with one matrix product and broadcasting")
    return 4


def majority_vote(fn) -> int:
    cases = [
        ("case 1 (clear majorities)", [[7, 7, 2, 9], [1, 1, 1, 0]]),
        ("case 2 (ties between two labels -> the smaller)", [[3, 5, 5, 3], [9, 2, 2, 9]]),
        ("case 3 (four-way tie -> the smallest)", [[9, 1, 4, 6]]),
        ("case 4 (k = 1)", [[4], [0], [8]]),
    ]
    for case, labels in cases:
        labels = np.array(labels)
        expected = []
        for row in labels:
            counts = {c: int(np.sum(row == c)) for c in set(row.tolist())}
            top = max(counts.values())
            expected.append(min(c for c, n in counts.items() if n == top))
        got = call(case, fn, labels)
        check_array(case, got, np.array(expected), name="predicted labels")
        if not np.issubdtype(np.asarray(got).dtype, np.integer):
            raise Wrong(f"{case}: labels have dtype {np.asarray(got).dtype}, expected integers")
    return len(cases)


# -- 02 ----------------------------------------------------------------------------------------
def linear_scores(fn) -> int:
    rng = np.random.default_rng(2)
    n = 0
    for case, (N, D, C) in (("case 1 (N=5 rows, D=4, C=3)", (5, 4, 3)), ("case 2 (N=2, D=6, C=10)", (2, 6, 10))):
        X, W, b = rng.normal(size=(N, D)), rng.normal(size=(C, D)), rng.normal(size=C) + 3.0
        check_array(case, call(case, fn, X, W, b), X @ W.T + b, name="scores",
                    variants={"the bias b is missing": X @ W.T})
        n += 1
    x = np.array([56.0, 231.0, 24.0, 2.0])
    W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
    b = np.array([1.1, 3.2, -1.2])
    check_array("case 3 (one example x of shape (4,), CS231n's cat)", call("case 3", fn, x, W, b),
                np.array([sum(W[c, d] * x[d] for d in range(4)) + b[c] for c in range(3)]), name="scores")
    return n + 1


def add_bias_column(fn) -> int:
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    before = X.copy()
    got = call("case 1 (4 x 3)", fn, X)
    expected = np.hstack([X, np.ones((4, 1))])
    check_array("case 1 (4 x 3)", got, expected, name="X with bias column",
                variants={"the ones must be the LAST column (as in the notebook)": np.hstack([np.ones((4, 1)), X])})
    if not np.array_equal(X, before):
        raise Wrong("case 1: the function changed its input X; return a new array")
    W, b = np.random.default_rng(1).normal(size=(3, 2)), np.array([0.5, -1.0])
    folded = np.vstack([W, b])
    X2 = np.random.default_rng(3).normal(size=(6, 3))
    got2 = call("case 2 (6 x 3)", fn, X2)
    check_array("case 2 ([X, 1] @ [W; b] == X @ W + b)", np.asarray(got2) @ folded if np.shape(got2) == (6, 4)
                else got2, X2 @ W + b, name="X1 @ [W; b]")
    return 2


# -- 03 ----------------------------------------------------------------------------------------
def _loss_and_grad(case, out):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Wrong(f"{case}: expected a pair (loss, dW), got {type(out).__name__}"
                    + (f" of length {len(out)}" if hasattr(out, "__len__") else ""))
    loss, dW = out
    if hasattr(loss, "item") and np.ndim(loss) == 0:
        loss = loss.item()
    return loss, dW


def _softmax_expected(W, X, y, reg):
    torch = _optional("torch")
    if torch is not None:            # an independent reference: autograd
        Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(torch.tensor(X, dtype=torch.float64) @ Wt, torch.tensor(y))
        loss = loss + reg * (Wt * Wt).sum()
        (grad,) = torch.autograd.grad(loss, Wt)
        return loss.item(), grad.numpy()
    s = X @ W
    s = s - s.max(1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y])) + reg * np.sum(W * W)
    p[np.arange(len(y)), y] -= 1
    return loss, X.T @ p / len(y) + 2 * reg * W


def softmax_loss(fn) -> int:
    rng = np.random.default_rng(3)
    cases = []
    W, X, y = rng.normal(size=(5, 3)) * 0.1, rng.normal(size=(4, 5)), np.array([0, 2, 1, 2])
    cases.append(("case 1 (D=5, C=3, N=4, reg=0)", W, X, y, 0.0))
    W2, X2, y2 = rng.normal(size=(6, 4)) * 0.5, rng.normal(size=(7, 6)), rng.integers(0, 4, size=7)
    cases.append(("case 2 (reg=0.1)", W2, X2, y2, 0.1))
    cases.append(("case 3 (W = 0: all scores tie, loss = log C)", np.zeros((5, 3)), X, y, 0.05))
    Xbig = rng.normal(size=(4, 5)) * 1000.0
    cases.append(("case 4 (large scores, up to about 1e3)", W2[:5, :3] * 2, Xbig, y, 0.0))
    for case, W, X, y, reg in cases:
        loss, dW = _loss_and_grad(case, call(case, fn, W.copy(), X.copy(), y.copy(), reg))
        exp_loss, exp_dW = _softmax_expected(W, X, y, reg)
        if np.ndim(loss) == 0 and not np.isfinite(float(loss)) and "large" in case:
            raise Wrong(f"{case}: the loss is {float(loss)}: exp of a large score overflows; subtract each row's "
                        "maximum score before taking exp (softmax does not change)")
        check_number(case, loss, exp_loss, name="loss", rtol=1e-6, atol=1e-9,
                     variants={"the regularization term reg * sum(W**2) is missing": exp_loss - reg * np.sum(W * W),
                               "the regularization term is reg * sum(W**2) here, not 0.5 * reg * sum(W**2)":
                                   exp_loss - 0.5 * reg * np.sum(W * W),
                               "the loss is summed over the examples, not averaged":
                                   (exp_loss - reg * np.sum(W * W)) * len(y) + reg * np.sum(W * W)})
        check_array(case, dW, exp_dW, name="dW", rtol=1e-5, atol=1e-8,
                    variants={"the gradient of the regularization term, 2 * reg * W, is missing": exp_dW - 2 * reg * W,
                              "the regularization gradient is 2 * reg * W, not reg * W": exp_dW - reg * W,
                              "the gradient is summed over the examples, not averaged":
                                  (exp_dW - 2 * reg * W) * len(y) + 2 * reg * W})
    return len(cases)


def _svm_loops(W, X, y, reg):
    n, C = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(n):
        s = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            margin = s[j] - s[y[i]] + 1.0
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def svm_loss(fn) -> int:
    rng = np.random.default_rng(4)
    W, X, y = rng.normal(size=(5, 3)) * 0.1, rng.normal(size=(6, 5)), np.array([0, 2, 1, 2, 0, 1])
    Wi = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])       # integer scores: a margin of exactly 0 occurs
    Xi = np.array([[2.0, 3.0], [1.0, 1.0], [0.0, 2.0]])
    yi = np.array([1, 0, 1])
    cases = [("case 1 (D=5, C=3, N=6, reg=0)", W, X, y, 0.0), ("case 2 (reg=0.5)", W * 5, X, y, 0.5),
             ("case 3 (W = 0: every score ties, each margin is exactly 1)", np.zeros((5, 3)), X, y, 0.0),
             ("case 4 (a margin of exactly 0 does not count)", Wi, Xi, yi, 0.0)]
    for case, W, X, y, reg in cases:
        loss, dW = _loss_and_grad(case, call(case, fn, W.copy(), X.copy(), y.copy(), reg))
        exp_loss, exp_dW = _svm_loops(W, X, y, reg)
        n_other = len(y) * (W.shape[1] - 1)
        check_number(case, loss, exp_loss, name="loss", rtol=1e-7,
                     variants={"the regularization term reg * sum(W**2) is missing": exp_loss - reg * np.sum(W * W),
                               "the correct class's own margin (always 1) is counted too: set it to 0":
                                   exp_loss + 1.0,
                               "margins are averaged over all N*C entries, not summed per example":
                                   (exp_loss - reg * np.sum(W * W)) * len(y) / n_other + reg * np.sum(W * W)})
        check_array(case, dW, exp_dW, name="dW", rtol=1e-6, atol=1e-9,
                    variants={"the gradient of the regularization term, 2 * reg * W, is missing": exp_dW - 2 * reg * W})
    return len(cases)


def sgd_step(fn) -> int:
    rng = np.random.default_rng(5)
    n = 0
    for case, lr in (("case 1 (learning_rate=0.1)", 0.1), ("case 2 (learning_rate=1e-3)", 1e-3)):
        W, dW = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
        got = call(case, fn, W.copy(), dW.copy(), lr)
        check_array(case, got, W - lr * dW, name="new W",
                    variants={"it moves WITH the gradient (that climbs the loss): subtract lr * dW": W + lr * dW,
                              "it returns the step, not the new weights": -lr * dW})
        n += 1
    return n


# -- 04 ----------------------------------------------------------------------------------------
def conv_output_size(fn) -> int:
    cases = [(32, 3, 0, 1), (32, 3, 1, 1), (32, 5, 2, 2), (7, 3, 0, 2), (227, 11, 0, 4), (8, 3, 0, 2),
             (28, 5, 0, 1), (5, 5, 0, 1)]
    for i, (w, f, p, s) in enumerate(cases, 1):
        case = f"case {i} (size={w}, kernel={f}, pad={p}, stride={s})"
        got = call(case, fn, w, f, pad=p, stride=s)
        expected = (w - f + 2 * p) // s + 1
        check_number(case, got, expected, name="output size", integer=True,
                     variants={"the padding counts twice (both sides): + 2 * pad": (w - f + p) // s + 1,
                               "the + 1 is missing (the first window position counts)": (w - f + 2 * p) // s,
                               "round down, as the frameworks do": -(-(w - f + 2 * p) // s) + 1})
    torch = _optional("torch")
    if torch is not None:          # the framework agrees, including the floor of (8 - 3) / 2
        shape = torch.nn.functional.conv2d(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 3), stride=2).shape
        assert shape[-1] == 3
    return len(cases)


def _conv_loops(x, w, b, stride, pad):
    N, C, H, W_ = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W_ + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n, f, i, j in itertools.product(range(N), range(F), range(Ho), range(Wo)):
        out[n, f, i, j] = np.sum(xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f]) + b[f]
    return out


def conv_forward_naive(fn) -> int:
    rng = np.random.default_rng(6)
    # H != W and HH != WW catch swapped axes; every size fits its stride exactly
    combos = [((2, 3, 7, 8), (4, 3, 3, 2), 1, 0), ((2, 3, 7, 8), (4, 3, 3, 2), 2, 1),
              ((2, 3, 7, 8), (4, 3, 3, 2), 1, 2), ((2, 3, 7, 8), (4, 3, 3, 2), 2, 2),
              ((1, 2, 9, 12), (3, 2, 3, 3), 3, 0), ((1, 1, 5, 5), (2, 1, 5, 5), 1, 0)]
    torch = _optional("torch")
    for i, (xs, ws, stride, pad) in enumerate(combos, 1):
        x, w = rng.normal(size=xs), rng.normal(size=ws)
        b = rng.normal(size=ws[0]) + 1.0
        case = (f"case {i} (x {'x'.join(map(str, xs))}, w {'x'.join(map(str, ws))}, stride={stride}, pad={pad})")
        expected = _conv_loops(x, w, b, stride, pad)
        if torch is not None:                       # independent check of the loops above
            t = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride,
                                           padding=pad).numpy()
            assert np.allclose(t, expected)
        got = call(case, fn, x.copy(), w.copy(), b.copy(), stride=stride, pad=pad)
        check_array(case, got, expected, name="output", rtol=1e-6, atol=1e-8,
                    variants={"the bias b is missing": expected - b.reshape(1, -1, 1, 1),
                              "the kernel is flipped: CNN layers compute cross-correlation, no flip":
                                  _conv_loops(x, w[:, :, ::-1, ::-1], b, stride, pad)})
    return len(combos)


def _pool_loops(x, size, stride):
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.empty((N, C, Ho, Wo))
    for i, j in itertools.product(range(Ho), range(Wo)):
        out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out


def max_pool_forward(fn) -> int:
    rng = np.random.default_rng(7)
    cases = [("case 1 (2x2 windows, stride 2, 1x2x4x6)", rng.normal(size=(1, 2, 4, 6)), 2, 2),
             ("case 2 (all values negative)", -np.abs(rng.normal(size=(2, 3, 4, 4))) - 1, 2, 2),
             ("case 3 (overlapping 3x3 windows, stride 2, 5x7 input)", rng.normal(size=(2, 2, 5, 7)), 3, 2),
             ("case 4 (odd 5x5 input, 2x2 stride 2: the last row and column are dropped)",
              rng.normal(size=(1, 1, 5, 5)), 2, 2)]
    for case, x, size, stride in cases:
        expected = _pool_loops(x, size, stride)
        torch = _optional("torch")
        if torch is not None:
            assert np.allclose(torch.nn.functional.max_pool2d(torch.tensor(x), size, stride).numpy(), expected)
        got = call(case, fn, x.copy(), size=size, stride=stride)
        check_array(case, got, expected, name="pooled",
                    variants={"a window's maximum starts from 0 instead of the first value (wrong for negatives)":
                              np.maximum(expected, 0)})
    return len(cases)


def batchnorm_forward(fn) -> int:
    rng = np.random.default_rng(8)
    x1 = rng.normal(size=(4, 3, 5, 2)) * 3 + 2
    x2 = rng.normal(size=(2, 2, 3, 3))
    x2[:, 1] = 7.0                                    # a constant channel: variance 0, only eps saves it
    cases = [("case 1 (gamma=1, beta=0)", x1, np.ones(3), np.zeros(3)),
             ("case 2 (gamma and beta)", x1, np.array([2.0, 0.5, -1.0]), np.array([0.1, -3.0, 1.0])),
             ("case 3 (a constant channel: its variance is 0)", x2, np.array([1.5, 2.0]), np.array([0.0, 0.5]))]
    for case, x, gamma, beta in cases:
        eps = 1e-5
        mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
        g, bb = gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1)
        expected = g * (x - mean) / np.sqrt(var + eps) + bb
        torch = _optional("torch")
        if torch is not None:
            t = torch.nn.functional.batch_norm(torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta),
                                               training=True, eps=eps).numpy()
            assert np.allclose(t, expected, atol=1e-7)
        m = x.shape[0] * x.shape[2] * x.shape[3]
        with np.errstate(all="ignore"):
            variants = {"it uses the unbiased variance (divide by m, not m - 1, in the batch statistics)":
                        g * (x - mean) / np.sqrt(var * m / (m - 1) + eps) + bb,
                        "the statistics are per example, not per channel over (N, H, W)":
                        g * (x - x.mean(axis=(1, 2, 3), keepdims=True))
                        / np.sqrt(x.var(axis=(1, 2, 3), keepdims=True) + eps) + bb,
                        "gamma and beta are not applied": (x - mean) / np.sqrt(var + eps),
                        "eps is missing: divide by sqrt(variance + eps)": g * (x - mean) / np.sqrt(var) + bb}
        got = call(case, fn, x.copy(), gamma.copy(), beta.copy(), eps=eps)
        check_array(case, got, expected, name="output", rtol=1e-6, atol=1e-7, variants=variants)
    return len(cases)


# -- 05 ----------------------------------------------------------------------------------------
def conv_params(fn) -> int:
    cases = [(3, 64, 3, True), (64, 128, 3, True), (1, 16, 5, True), (256, 256, 3, False), (512, 10, 1, True),
             (3, 96, 11, True)]
    torch = _optional("torch")
    for i, (cin, cout, k, bias) in enumerate(cases, 1):
        case = f"case {i} (in={cin}, out={cout}, kernel={k}, bias={bias})"
        expected = cout * cin * k * k + (cout if bias else 0)
        if torch is not None and i <= 2:
            assert expected == sum(p.numel() for p in torch.nn.Conv2d(cin, cout, k, bias=bias).parameters())
        got = call(case, fn, cin, cout, k, bias=bias)
        check_number(case, got, expected, name="parameters", integer=True,
                     variants={"the biases (one per output channel) are missing": cout * cin * k * k,
                               "each kernel spans all input channels: multiply by in_channels":
                               cout * k * k + (cout if bias else 0),
                               "bias=False means no bias parameters": cout * cin * k * k + cout})
    return len(cases)


def receptive_field(fn) -> int:
    cases = [("case 1 (one 3x3 conv)", [(3, 1)], 3), ("case 2 (three 3x3 convs = one 7x7)", [(3, 1)] * 3, 7),
             ("case 3 (no layers)", [], 1),
             ("case 4 (conv3, pool2/2, conv3, pool2/2, conv3)", [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)], 18),
             ("case 5 (ResNet stem: 7x7/2 conv, 3x3/2 pool)", [(7, 2), (3, 2)], 11)]
    for case, layers, expected in cases:
        wrong = 1 + sum(k - 1 for k, _ in layers)
        got = call(case, fn, list(layers))
        check_number(case, got, expected, name="receptive field", integer=True,
                     variants={"strides are ignored: each layer adds (k - 1) times the product of the earlier "
                               "strides (the jump)": wrong} if wrong != expected else None)
    return len(cases)
