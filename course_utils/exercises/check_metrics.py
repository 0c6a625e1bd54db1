"""Checkers of the metrics exercises (07, 08), cross-checked with scikit-learn where installed."""
from __future__ import annotations

import math

import numpy as np

from .checking import Wrong, call, check_number

KEYS = ("sensitivity", "specificity", "precision", "f1", "mcc")


def _sklearn_metrics():
    try:
        from sklearn import metrics
    except ImportError:
        return None
    return metrics


def _expected(tp, fp, fn, tn):
    tp, fp, fn, tn = (int(v) for v in (tp, fp, fn, tn))
    div = lambda a, b: a / b if b else 0.0  # noqa: E731
    sens, spec, prec = div(tp, tp + fn), div(tn, tn + fp), div(tp, tp + fp)
    return {"sensitivity": sens, "specificity": spec, "precision": prec, "f1": div(2 * prec * sens, prec + sens),
            "mcc": div(tp * tn - fp * fn, math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))}


def _labels(tp, fp, fn, tn):
    return (np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn), np.array([1] * tp + [1] * fp + [0] * fn + [0] * tn))


def binary_metrics(fn) -> int:
    cases = [("case 1 (tp=35, fp=10, fn=5, tn=50)", (35, 10, 5, 50)),
             ("case 2 (nothing predicted positive: tp = fp = 0, precision's denominator is 0)", (0, 0, 8, 12)),
             ("case 3 (no negatives at all: tn = fp = 0)", (9, 0, 3, 0)),
             ("case 4 (perfect)", (20, 0, 0, 30)),
             ("case 5 (large counts as numpy int32: tp * tn exceeds 2**31)",
              tuple(np.int32(v) for v in (60000, 1000, 2000, 70000)))]
    skm = _sklearn_metrics()
    for case, counts in cases:
        expected = _expected(*counts)
        if skm is not None and case.startswith(("case 1", "case 2")):
            y, p = _labels(*(int(v) for v in counts))
            ref = {"sensitivity": skm.recall_score(y, p, zero_division=0),
                   "precision": skm.precision_score(y, p, zero_division=0),
                   "f1": skm.f1_score(y, p, zero_division=0), "mcc": skm.matthews_corrcoef(y, p)}
            assert all(abs(ref[k] - expected[k]) < 1e-12 for k in ref), (ref, expected)
        got = call(case, fn, *counts)
        if not isinstance(got, dict):
            raise Wrong(f"{case}: expected a dict with keys {', '.join(KEYS)}, got {type(got).__name__}")
        missing = [k for k in KEYS if k not in got]
        if missing:
            raise Wrong(f"{case}: the dict lacks the key(s) {', '.join(missing)} (it has {', '.join(map(str, got))})")
        tp, fp, fn_, tn = (int(v) for v in counts)
        swaps = {"sensitivity": {"that is the specificity, TN / (TN + FP)": expected["specificity"],
                                 "that is the precision, TP / (TP + FP)": expected["precision"]},
                 "specificity": {"that is the sensitivity, TP / (TP + FN)": expected["sensitivity"],
                                 "that is TN / (TN + FN), the negative predictive value":
                                 tn / (tn + fn_) if tn + fn_ else 0.0},
                 "precision": {"that is the sensitivity, TP / (TP + FN)": expected["sensitivity"]},
                 "f1": {"F1 is the HARMONIC mean 2PR / (P + R), not the arithmetic mean":
                        (expected["precision"] + expected["sensitivity"]) / 2},
                 "mcc": {}}
        for key in KEYS:
            value = got[key]
            if hasattr(value, "item") and np.ndim(value) == 0:
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                raise Wrong(f"{case}: {key} is nan: a ratio whose denominator is 0 is reported as 0.0 (as "
                            "scikit-learn's zero_division=0)")
            check_number(case, value, expected[key], name=key, rtol=1e-9, atol=1e-12, variants=swaps[key])
    return len(cases)


def confusion_counts(fn) -> int:
    cases = [("case 1 (mixed)", [1, 0, 1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0, 1, 1]),
             ("case 2 (every prediction negative)", [0, 1, 0, 1, 1], [0, 0, 0, 0, 0]),
             ("case 3 (boolean arrays)", np.array([True, False, True]), np.array([True, True, False]))]
    skm = _sklearn_metrics()
    for case, yt, yp in cases:
        yt_i, yp_i = np.asarray(yt).astype(int), np.asarray(yp).astype(int)
        expected = (int(np.sum(yt_i & yp_i)), int(np.sum((1 - yt_i) & yp_i)), int(np.sum(yt_i & (1 - yp_i))),
                    int(np.sum((1 - yt_i) & (1 - yp_i))))
        if skm is not None:
            (tn, fp), (fn_, tp) = skm.confusion_matrix(yt_i, yp_i, labels=[0, 1]).tolist()
            assert (tp, fp, fn_, tn) == expected
        got = call(case, fn, np.asarray(yt), np.asarray(yp))
        try:
            got_t = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            raise Wrong(f"{case}: expected a tuple of four counts (tp, fp, fn, tn), got {got!r}") from None
        if len(got_t) != 4:
            raise Wrong(f"{case}: expected four counts (tp, fp, fn, tn), got {len(got_t)}")
        if got_t != expected:
            tp, fp, fn_, tn = expected
            hint = ""
            if got_t == (tp, fn_, fp, tn):
                hint = ": FP and FN are swapped (FP = predicted positive, truly negative)"
            elif got_t == (tn, fn_, fp, tp):
                hint = ": positive and negative are swapped (label 1 is the positive class)"
            raise Wrong(f"{case}: (tp, fp, fn, tn) = {got_t}, expected {expected}{hint}")
    return len(cases)


def balanced_accuracy(fn) -> int:
    cases = [("case 1 (90 negatives, 10 positives, everything predicted negative)", [0] * 90 + [1] * 10, [0] * 100),
             ("case 2 (mixed)", [0, 0, 0, 0, 1, 1, 1, 0, 1, 0], [0, 1, 0, 0, 1, 0, 1, 0, 1, 1]),
             ("case 3 (three classes)", [0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2]),
             ("case 4 (perfect)", [1, 0, 1], [1, 0, 1])]
    skm = _sklearn_metrics()
    for case, yt, yp in cases:
        yt, yp = np.array(yt), np.array(yp)
        expected = float(np.mean([np.mean(yp[yt == c] == c) for c in np.unique(yt)]))
        if skm is not None:
            assert abs(skm.balanced_accuracy_score(yt, yp) - expected) < 1e-12
        got = call(case, fn, yt.copy(), yp.copy())
        if hasattr(got, "item") and np.ndim(got) == 0:
            got = got.item()
        check_number(case, got, expected, name="balanced accuracy", rtol=1e-9,
                     variants={"that is the plain accuracy; average the recall of each class":
                               float(np.mean(yt == yp))})
    return len(cases)


def class_weights(fn) -> int:
    cases = [("case 1 (80 of class 0, 20 of class 1)", [0] * 80 + [1] * 20),
             ("case 2 (three classes, 1:2:3)", [0] * 2 + [1] * 4 + [2] * 6),
             ("case 3 (balanced classes: every weight 1)", [1, 0, 1, 0])]
    for case, y in cases:
        y = np.array(y)
        labels, counts = np.unique(y, return_counts=True)
        expected = {int(c): len(y) / (len(labels) * n) for c, n in zip(labels, counts)}
        try:
            from sklearn.utils.class_weight import compute_class_weight
            assert np.allclose(compute_class_weight("balanced", classes=labels, y=y), list(expected.values()))
        except ImportError:
            pass
        got = call(case, fn, y.copy())
        if not isinstance(got, dict):
            raise Wrong(f"{case}: expected a dict {{label: weight}}, got {type(got).__name__}")
        keys = sorted(int(k) for k in got)
        if keys != sorted(expected):
            raise Wrong(f"{case}: the labels are {keys}, expected {sorted(expected)}")
        for label, n_c in zip(labels, counts):
            value = got[int(label)] if int(label) in got else got[label]
            check_number(case, float(value), expected[int(label)], name=f"weight of class {int(label)}", rtol=1e-9,
                         variants={"that is 1 / n_c; 'balanced' is n / (k * n_c)": 1 / n_c,
                                   "that is n / n_c; divide also by the number of classes k": len(y) / n_c,
                                   "that is the class frequency, not its inverse": n_c / len(y)})
    return len(cases)
