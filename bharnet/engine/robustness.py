"""Accuracy of trained models under test-time corruptions, and its picture."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt

from bharnet import plots
from bharnet.atomic import atomic_write_text
from bharnet.data.corruptions import KINDS, XLABELS, Corruption
from bharnet.data.dataset import BodyHandDataset
from bharnet.engine.experiment import Experiment
from bharnet.engine.metrics import summarize

HEADS = ("fused", "body", "hand")  # the curves drawn: the prediction, and a dual-stream model's two experts


def corrupted_accuracy(experiment: Experiment, levels: dict[str, Sequence[float]],
                       progress: bool = False) -> dict[str, dict[str, list[float]]]:
    """Top-1 on the test split per head (``fused``, and ``body`` and ``hand`` for a dual-stream model), per
    corruption kind and level: ``{head: {kind: [top1 per level]}}`` (the clean score computed once)."""
    config, base = experiment.config, experiment.test_set
    clean: dict[str, float] | None = None
    results: dict[str, dict[str, list[float]]] = {}
    for kind, values in levels.items():
        for level in values:
            if level == 0 and clean is not None:
                top1 = clean
            else:
                corruption = Corruption(kind, level, base.split)
                dataset = BodyHandDataset(base.file, config.data.test_split, config.data.pipeline, train=False,
                                          seed=config.train.seed, corruption=corruption)
                predictions = experiment.predict(dataset, progress=progress, desc=f"{kind} {level:g}")
                top1 = {head: summarize(scores, predictions.labels, len(experiment.classes))["top1"]
                        for head, scores in predictions.heads.items() if head in HEADS}
                clean = top1 if level == 0 else clean
            for head, value in top1.items():
                results.setdefault(head, {}).setdefault(kind, []).append(value)
    return results


def curves(name: str, per_head: dict[str, dict[str, list[float]]], dual_stream: bool) -> dict[str, dict]:
    """One model's curves under display names: the prediction as ``name``, the experts as ``name: body``."""
    out = {name: per_head["fused"]}
    if dual_stream:
        out.update({f"{name}: {head} expert": per_head[head] for head in ("body", "hand") if head in per_head})
    return out


def write_robustness(out: Path, levels: dict[str, Sequence[float]], models: dict[str, dict[str, list[float]]],
                     title: str = "") -> None:
    """robustness.json, robustness.csv (model, corruption, level, top1) and robustness.png (a panel per kind)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "robustness.json", json.dumps({"levels": levels, "top1": models}, indent=1))
    with (out / "robustness.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "corruption", "level", "top1"])
        for name, results in models.items():
            for kind, values in results.items():
                writer.writerows([name, kind, level, f"{top1:.4f}"] for level, top1 in zip(levels[kind], values,
                                                                                             strict=True))
    kinds = [k for k in KINDS if k in levels]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        plots.draw_curves(ax, levels[kind], {name: results[kind] for name, results in models.items()},
                          XLABELS[kind])
    # one legend for every panel, beside them: inside a panel it hides the curves
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(title)
    plots.save(fig, out / "robustness.png")
