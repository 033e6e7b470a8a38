"""Score files and evaluation reports (metrics json, per-class csv, pictures)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from bharnet import plots
from bharnet.atomic import atomic_write, atomic_write_text
from bharnet.errors import DataFormatError

if TYPE_CHECKING:
    from bharnet.engine.experiment import Experiment, Predictions


def save_scores(path: Path, predictions: dict[str, Predictions], experiment: Experiment) -> None:
    """One file per model: for each split (``val``, ``test``) every head's scores, labels, sample names."""
    tensors, names = {}, {}
    file = experiment.train_set.file
    for split, pred in predictions.items():
        tensors[f"{split}/labels"] = pred.labels.astype(np.int64)
        tensors[f"{split}/indices"] = pred.indices.astype(np.int64)
        for head, scores in pred.heads.items():
            tensors[f"{split}/heads/{head}"] = scores.astype(np.float32)
        names[split] = [file.names[i] for i in pred.indices]
    meta = {"classes": experiment.classes, "names": names, "config": experiment.config.name,
            "modality": experiment.config.data.pipeline.modality, "model": experiment.config.model.name}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"bharnet_scores": json.dumps(meta)}))


def load_scores(path: str | Path) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """(meta, {split: {'labels', 'names', 'heads/<name>'...}}) of a score file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "score file not found (bharnet eval and bharnet train write them)")
    try:
        with safe_open(str(path), framework="np") as f:
            meta = json.loads((f.metadata() or {})["bharnet_scores"])
        tensors = load_file(str(path))
    except (SafetensorError, KeyError, OSError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not a bharnet score file ({error})") from None
    splits: dict[str, dict] = {}
    for key, value in tensors.items():
        split, rest = key.split("/", 1)
        splits.setdefault(split, {})[rest] = value
    for split in splits:
        splits[split]["names"] = meta["names"][split]
    return meta, splits


def write_report(folder: Path, predictions: Predictions, experiment: Experiment, history: list[dict] | None = None,
                 title: str = "") -> dict:
    """metrics.json, per_class.csv, confusion.png, per_class.png (and learning_curves.png given a history)."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = experiment.classes
    metrics = experiment.test_metrics(predictions)
    summary = {head: {k: v for k, v in m.items() if k not in ("per_class", "confusion")}
               for head, m in metrics.items()}
    atomic_write_text(folder / "metrics.json", json.dumps(summary, indent=1))
    with (folder / "per_class.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", "samples", *(f"{head}_top1" for head in metrics)])
        counts = np.bincount(predictions.labels, minlength=len(classes))
        for i, name in enumerate(classes):
            writer.writerow([name, counts[i], *(f"{m['per_class'][i]:.4f}" for m in metrics.values())])
    title = title or experiment.config.name
    plots.confusion_matrix(metrics["fused"]["confusion"], classes, folder / "confusion.png", f"{title}: confusion")
    bars = {("fused" if head == "fused" else f"{head} head"): m["per_class"] for head, m in metrics.items()
            if head in ("fused", "body", "hand")}
    plots.per_class_bars(bars, classes, folder / "per_class.png", f"{title}: per-class accuracy")
    if history:
        plots.learning_curves(history, folder / "learning_curves.png", title)
    return summary
