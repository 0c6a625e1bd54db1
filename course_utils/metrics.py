"""Binary classification metrics from a confusion matrix, with the formulas written out.

Taught in 07_monkeypox_classifier; reused by 08_breast_histopathology and the cats-vs-dogs
notebooks. Conventions: the *positive* class is label 1 (07 and 08 choose which class that is);
a 2x2 confusion matrix has rows = true class, columns = predicted class, in the order
``[negative, positive]`` -- scikit-learn's ``confusion_matrix(y_true, y_pred)`` order::

                 predicted 0   predicted 1
    true 0  [[      TN    ,       FP     ],
    true 1   [      FN    ,       TP     ]]

A ratio whose denominator is 0 (no positives predicted, say) is reported as 0.0, as
scikit-learn does with ``zero_division=0``.
"""
from __future__ import annotations

import math

import numpy as np

#: The formulas, as shown in 07 (TP, FP, FN, TN are counts).
FORMULAS = {
    "sensitivity": "TP / (TP + FN)          (recall, true positive rate)",
    "specificity": "TN / (TN + FP)          (true negative rate)",
    "precision": "TP / (TP + FP)          (positive predictive value)",
    "f1": "2 * precision * sensitivity / (precision + sensitivity)",
    "mcc": "(TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))",
    "accuracy": "(TP + TN) / (TP + TN + FP + FN)",
    "balanced_accuracy": "(sensitivity + specificity) / 2",
}


def _div(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def _check_counts(tp, fp, fn, tn) -> tuple[int, int, int, int]:
    vals = []
    for name, v in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn)):
        if float(v) != int(v) or int(v) < 0:
            raise ValueError(f"{name}={v!r}: confusion-matrix counts must be non-negative integers")
        vals.append(int(v))
    if sum(vals) == 0:
        raise ValueError("the confusion matrix is empty (all counts are 0)")
    return tuple(vals)


def binary_metrics(tp, fp, fn, tn) -> dict:
    """Sensitivity, specificity, precision, F1, MCC, accuracy and balanced accuracy from the four
    counts, by the formulas in :data:`FORMULAS`. Returns a dict of floats (plus the counts)."""
    tp, fp, fn, tn = _check_counts(tp, fp, fn, tn)
    sens = _div(tp, tp + fn)
    spec = _div(tn, tn + fp)
    prec = _div(tp, tp + fp)
    f1 = _div(2 * prec * sens, prec + sens)
    denom = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = _div(tp * tn - fp * fn, denom)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "sensitivity": sens, "specificity": spec, "precision": prec, "f1": f1, "mcc": mcc,
            "accuracy": _div(tp + tn, tp + tn + fp + fn), "balanced_accuracy": (sens + spec) / 2}


def counts_from_cm(cm) -> tuple[int, int, int, int]:
    """``(TP, FP, FN, TN)`` from a 2x2 matrix in scikit-learn's order (rows true, columns predicted,
    negative first)."""
    cm = np.asarray(cm)
    if cm.shape != (2, 2):
        raise ValueError(f"a binary confusion matrix is 2x2, got shape {cm.shape}")
    (tn, fp), (fn, tp) = cm.tolist()
    return tp, fp, fn, tn


def metrics_from_cm(cm) -> dict:
    """:func:`binary_metrics` of a 2x2 confusion matrix (rows true, columns predicted, ``[neg, pos]``)."""
    return binary_metrics(*counts_from_cm(cm))


def confusion_matrix_2x2(y_true, y_pred) -> np.ndarray:
    """The 2x2 matrix of 0/1 labels, counted by hand (rows true, columns predicted)."""
    y_true, y_pred = _check_labels(y_true), _check_labels(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.shape} labels but y_pred has {y_pred.shape}")
    cm = np.zeros((2, 2), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def _check_labels(y) -> np.ndarray:
    y = np.asarray(y).ravel()
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"binary labels must be 0 or 1, got values {sorted(set(np.unique(y).tolist()))[:5]}")
    return y.astype(int)


def positive_scores(probs) -> np.ndarray:
    """The predicted probability of the positive class (label 1) from a model's output:
    shape (N,) or (N, 1) from a sigmoid unit, (N, 2) from a 2-unit softmax (column 1)."""
    p = np.asarray(probs, dtype=float)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    elif p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    elif p.ndim != 1:
        raise ValueError(f"expected probabilities of shape (N,), (N, 1) or (N, 2), got {p.shape}")
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError("probabilities must lie in [0, 1] (pass softmax/sigmoid outputs, not logits)")
    return p


def auc_from_scores(y_true, scores) -> float:
    """ROC AUC as the probability that a random positive scores higher than a random negative
    (ties count half) -- the Mann-Whitney form, equal to the area under the ROC curve."""
    y = _check_labels(y_true)
    s = np.asarray(scores, dtype=float).ravel()
    if s.shape != y.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("AUC needs both classes among the true labels")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))  # average ranks handle ties
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def binary_report(y_true, probs, threshold: float = 0.5) -> dict:
    """Everything 07 and 08 report for a binary classifier: predictions ``score >= threshold``,
    the confusion matrix, :func:`binary_metrics`, and the AUC from the *probabilities* (not from
    thresholded labels, which would leave one point of the ROC curve)."""
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold={threshold} must be in [0, 1]")
    y = _check_labels(y_true)
    s = positive_scores(probs)
    if s.shape != y.shape:
        raise ValueError(f"{y.size} labels but {s.size} probabilities")
    y_pred = (s >= threshold).astype(int)
    cm = confusion_matrix_2x2(y, y_pred)
    out = metrics_from_cm(cm)
    out["auc"] = auc_from_scores(y, s) if 0 < y.sum() < y.size else float("nan")
    out["threshold"] = float(threshold)
    out["confusion_matrix"] = cm.tolist()
    out["n"] = int(y.size)
    return out


def sklearn_crosscheck(y_true, probs, threshold: float = 0.5, atol: float = 1e-9) -> dict:
    """Recompute :func:`binary_report`'s numbers with scikit-learn; returns ``{metric: |ours - sklearn|}``
    and raises ``AssertionError`` if any differs by more than ``atol``."""
    from sklearn import metrics as skm

    ours = binary_report(y_true, probs, threshold)
    y = _check_labels(y_true)
    s = positive_scores(probs)
    y_pred = (s >= threshold).astype(int)
    ref = {
        "sensitivity": skm.recall_score(y, y_pred, zero_division=0),
        "specificity": skm.recall_score(y, y_pred, pos_label=0, zero_division=0),
        "precision": skm.precision_score(y, y_pred, zero_division=0),
        "f1": skm.f1_score(y, y_pred, zero_division=0),
        "mcc": skm.matthews_corrcoef(y, y_pred),
        "accuracy": skm.accuracy_score(y, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred) if len(set(y.tolist())) > 1
        else ours["balanced_accuracy"],
    }
    if 0 < y.sum() < y.size:
        ref["auc"] = skm.roc_auc_score(y, s)
    diffs = {k: abs(float(ours[k]) - float(v)) for k, v in ref.items()}
    bad = {k: d for k, d in diffs.items() if d > atol}
    assert not bad, f"metrics disagree with scikit-learn: {bad}"
    return diffs


def majority_baseline(y_train, y_test) -> dict:
    """The classifier that always answers the training set's most frequent class: its class,
    test accuracy and balanced accuracy (always 0.5 for two classes). The number to beat (08)."""
    y_train, y_test = _check_labels(y_train), _check_labels(y_test)
    if y_train.size == 0 or y_test.size == 0:
        raise ValueError("majority_baseline needs non-empty training and test labels")
    major = int(np.bincount(y_train, minlength=2).argmax())
    pred = np.full_like(y_test, major)
    acc = float((pred == y_test).mean())
    present = sorted(set(y_test.tolist()))
    bal = float(np.mean([(pred[y_test == c] == c).mean() for c in present]))
    return {"majority_class": major, "accuracy": acc, "balanced_accuracy": bal}


def threshold_table(y_true, probs, thresholds=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)):
    """A pandas DataFrame of sensitivity, specificity, precision, F1 and balanced accuracy at each
    threshold: the trade-off behind choosing one (07)."""
    import pandas as pd

    rows = []
    for t in thresholds:
        r = binary_report(y_true, probs, t)
        rows.append({"threshold": t, **{k: r[k] for k in ("tp", "fp", "fn", "tn", "sensitivity", "specificity",
                                                        "precision", "f1", "balanced_accuracy")}})
    return pd.DataFrame(rows).set_index("threshold")


def threshold_for_sensitivity(y_true, probs, target: float = 0.95) -> float:
    """The highest threshold whose sensitivity on ``(y_true, probs)`` reaches ``target``: how a
    screening test is tuned (on validation data, never on the test set)."""
    if not 0 < target <= 1:
        raise ValueError("target sensitivity must be in (0, 1]")
    y = _check_labels(y_true)
    s = positive_scores(probs)
    pos = np.sort(s[y == 1])
    if pos.size == 0:
        raise ValueError("no positives: sensitivity is undefined")
    # keep at least ceil(target * n_pos) positives at or above the threshold
    k = int(math.ceil(target * pos.size - 1e-9))
    return float(pos[pos.size - k])


def threshold_youden(y_true, probs) -> float:
    """The threshold that maximises Youden's J = sensitivity + specificity - 1 on ``(y_true, probs)``:
    the point of the ROC curve furthest above the diagonal, where neither sensitivity nor
    specificity is given up for nothing. Chosen on validation data (07, 08), never on the test set.
    Ties go to the highest threshold; the result lies halfway between two neighbouring scores, so
    a slightly different score on new data does not flip the decision by accident."""
    y = _check_labels(y_true)
    s = positive_scores(probs)
    if not 0 < y.sum() < y.size:
        raise ValueError("Youden's J needs both classes")
    cand = np.unique(s)
    best_j, best_t = -np.inf, 0.5
    for i in range(len(cand) - 1, -1, -1):   # from the highest threshold down
        pred = s >= cand[i]
        sens, spec = pred[y == 1].mean(), (~pred[y == 0]).mean()
        if sens + spec - 1 > best_j + 1e-12:
            best_j = sens + spec - 1
            best_t = (cand[i] + cand[i - 1]) / 2 if i > 0 else cand[i] / 2
    return float(best_t)
