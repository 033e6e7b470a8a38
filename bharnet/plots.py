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
    """Accuracy vs level, a line per model, on ``ax`` (no legend: the caller places one for all its panels).
    A dual-stream model's experts ("M: body expert", "M: hand expert") take its colour, thinner, dashed and
    dotted, so a dozen curves stay tellable apart."""
    models = list(dict.fromkeys(name.split(": ")[0] for name in curves))
    palette = plt.get_cmap("tab10" if len(models) <= 10 else "tab20").colors
    for name, values in curves.items():
        model, _, expert = name.partition(": ")
        style = {"": "-", "body expert": "--"}.get(expert, ":")
        ax.plot(levels, values, marker="o", label=name, color=palette[models.index(model) % len(palette)],
                linestyle=style, linewidth=1 if expert else 2, markersize=3 if expert else 6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)


def _label_places(points: dict[str, tuple[float, float, float]]
                  ) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """(name, point, label position) per point: labels right of their points, those of points at nearly the
    same cost stacked at least a twentieth of the accuracy range apart, so that none overlaps another."""
    costs = [p[0] for p in points.values()]
    means = [p[1] for p in points.values()]
    dx = (max(costs) - min(costs)) or 1.0
    dy = (max(means) - min(means)) or 1.0
    placed: list[tuple[str, tuple[float, float], tuple[float, float]]] = []
    groups: list[tuple[float, list[float]]] = []  # per group of close costs: its lowest cost, its label heights
    for name, (cost, mean, _) in sorted(points.items(), key=lambda item: (item[1][0], -item[1][1])):
        group = next((g for g in groups if abs(cost - g[0]) < 0.05 * dx), None)
        if group is None:
            group = (cost, [])
            groups.append(group)
        anchor, heights = group
        y = mean
        for taken in sorted(heights, reverse=True):
            if abs(y - taken) < dy / 20:
                y = taken - dy / 20
        heights.append(y)
        placed.append((name, (cost, mean), (anchor + 0.06 * dx, y)))  # right of the group's points
    return placed


def accuracy_front(points: dict[str, tuple[float, float, float]], path: Path, xlabel: str, title: str = "") -> Path:
    """Accuracy against cost: ``points`` {name: (cost, mean accuracy, std)}, error bars of one std, and the
    front of configurations that no other one beats at lower or equal cost drawn as a line."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for cost, mean, std in points.values():
        ax.errorbar(cost, mean, yerr=std, fmt="o", capsize=3)
    for name, (cost, mean), (x, y) in _label_places(points):  # apart from each other, a line to each point
        ax.annotate(name, (cost, mean), xytext=(x, y), fontsize=8, va="center",
                    arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})
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
