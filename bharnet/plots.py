"""Result pictures: confusion matrix, learning curves, per-class accuracy, accuracy vs corruption."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def confusion_matrix(confusion: np.ndarray, classes: Sequence[str], path: Path, title: str = "") -> Path:
    """Row-normalized (recall per true class); counts written in the cells when there are few classes."""
    k = len(classes)
    rows = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    size = min(4 + 0.25 * k, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(k)
    labels = list(classes) if k <= 60 else [str(i) for i in ticks]
    ax.set_xticks(ticks, labels, rotation=90, fontsize=max(4, 10 - k // 12))
    ax.set_yticks(ticks, labels, fontsize=max(4, 10 - k // 12))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 15:
        for i in range(k):
            for j in range(k):
                if confusion[i, j]:
                    ax.text(j, i, str(confusion[i, j]), ha="center", va="center",
                            color="white" if rows[i, j] > 0.5 else "black", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title or "confusion matrix (rows: recall)")
    return save(fig, path)


def learning_curves(history: list[dict], path: Path, title: str = "") -> Path:
    epochs = [row["epoch"] for row in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    loss_ax.plot(epochs, [row["train_loss"] for row in history], label="train loss")
    loss_ax.set_xlabel("epoch")
    loss_ax.legend()
    acc_ax.plot(epochs, [row["train_top1"] for row in history], label="train top-1")
    acc_ax.plot(epochs, [row["val_top1"] for row in history], label="validation top-1 (fused)")
    for key in sorted(k for k in history[-1] if k.startswith("val_top1_")):
        acc_ax.plot(epochs, [row.get(key, np.nan) for row in history], "--", label=f"validation {key[9:]} head")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylim(0, 1.02)
    acc_ax.legend(fontsize=8)
    fig.suptitle(title or "learning curves")
    return save(fig, path)


def per_class_bars(per_class: dict[str, np.ndarray], classes: Sequence[str], path: Path, title: str = "") -> Path:
    """Grouped bars: one group per class, one bar per series (e.g. body head vs fused)."""
    k, series = len(classes), list(per_class)
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * k * max(1, len(series) / 2)), 4))
    x = np.arange(k)
    for i, name in enumerate(series):
        ax.bar(x + i * width - 0.4 + width / 2, per_class[name], width, label=name)
    ax.set_xticks(x, list(classes) if k <= 60 else [str(i) for i in x], rotation=90, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    ax.set_title(title or "per-class accuracy")
    return save(fig, path)


def draw_curves(ax, levels: Sequence[float], curves: dict[str, Sequence[float]], xlabel: str) -> None:
    """Accuracy vs level, a line per model, on ``ax``."""
    for name, values in curves.items():  # a dual-stream model's experts ("M: body expert") dashed
        ax.plot(levels, values, marker="o", label=name, linestyle="--" if ": " in name else "-",
                markersize=3 if ": " in name else 6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def accuracy_front(points: dict[str, tuple[float, float, float]], path: Path, xlabel: str, title: str = "") -> Path:
    """Accuracy against cost: ``points`` {name: (cost, mean accuracy, std)}, error bars of one std, and the
    front of configurations that no other one beats at lower or equal cost drawn as a line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (cost, mean, std) in points.items():
        ax.errorbar(cost, mean, yerr=std, fmt="o", capsize=3)
        ax.annotate(name, (cost, mean), textcoords="offset points", xytext=(5, 4), fontsize=8)
    front, best = [], -1.0
    for cost, mean, _ in sorted(points.values(), key=lambda point: (point[0], -point[1])):
        if mean > best:
            front.append((cost, mean))
            best = mean
    ax.plot(*zip(*front, strict=True), color="grey", alpha=0.5, zorder=0, label="front")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("top-1 accuracy (mean over folds, +- std)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save(fig, path)
