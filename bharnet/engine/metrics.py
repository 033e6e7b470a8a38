"""Classification metrics over score matrices (N, K) and labels (N,)."""

from __future__ import annotations

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    if len(labels) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(1).mean())


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall per class; NaN for classes absent from the labels."""
    totals = confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def summarize(scores: np.ndarray, labels: np.ndarray, classes: int, subset: list[int] | None = None,
              masks: dict[str, np.ndarray] | None = None) -> dict:
    """top1, top5, mean class accuracy, per-class accuracy, confusion matrix, accuracy on ``subset``
    (class indices, e.g. the hand-intensive classes) when given, and for each boolean sample mask in
    ``masks`` its accuracy ``<name>_top1`` and size ``<name>_samples``."""
    predicted = scores.argmax(1)
    confusion = confusion_matrix(predicted, labels, classes)
    per_class = per_class_accuracy(confusion)
    out = {
        "top1": topk_accuracy(scores, labels, 1),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class": float(np.nanmean(per_class)) if np.isfinite(per_class).any() else float("nan"),
        "per_class": per_class,
        "confusion": confusion,
    }
    if subset:
        chosen = np.isin(labels, subset)
        out["subset_top1"] = float((predicted[chosen] == labels[chosen]).mean()) if chosen.any() else float("nan")
    for name, chosen in (masks or {}).items():
        out[f"{name}_top1"] = float((predicted[chosen] == labels[chosen]).mean()) if chosen.any() else float("nan")
        out[f"{name}_samples"] = int(chosen.sum())
    return out
