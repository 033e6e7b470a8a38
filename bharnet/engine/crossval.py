"""Cross-validation by group: whole groups (signers, subjects) held out per fold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from bharnet.atomic import atomic_write_text
from bharnet.config import ExperimentConfig
from bharnet.data.store import DatasetFile
from bharnet.errors import ConfigError


def group_folds(groups: list[str], folds: int, together: list[list[str]] | None = None,
                classes: dict[str, set[int]] | None = None, tries: int = 10_000) -> list[list[str]]:
    """Whole groups dealt into ``folds`` test folds.

    Groups listed together in ``together`` (e.g. people recorded with one setup) form one unit; units are
    sorted and dealt round-robin. When ``classes`` (the classes each group holds) is given, every fold's
    training groups must hold every class: if the round-robin deal leaves a class out, units are dealt in
    seeded shuffled orders until one keeps every class in every training set.
    """
    units = _units(sorted(groups), together or [])
    if not 2 <= folds <= len(units):
        raise ConfigError(f"--folds {folds}: needs 2..{len(units)} (the number of groups kept apart)")
    rng = np.random.default_rng(0)
    order = list(range(len(units)))
    for _ in range(tries):
        dealt = [sorted(g for u in order[i::folds] for g in units[u]) for i in range(folds)]
        if classes is None or _every_class_trained(dealt, classes):
            return dealt
        order = list(rng.permutation(len(units)))
    raise ConfigError(f"no deal of the groups into {folds} folds keeps every class in every training set; "
                      "use fewer folds")


def _units(groups: list[str], together: list[list[str]]) -> list[list[str]]:
    """Groups as units: each ``together`` list one unit, every other group a unit of its own, sorted."""
    linked: dict[str, list[str]] = {}
    for members in together:
        unknown = [g for g in members if g not in groups]
        if unknown:
            raise ConfigError(f"--together {'+'.join(members)}: no group named {', '.join(unknown)}")
        unit = sorted(set(members) | {m for g in members for m in linked.get(g, [])})
        for g in unit:
            linked[g] = unit
    units = {tuple(linked.get(g, [g])) for g in groups}
    return [list(u) for u in sorted(units)]


def _every_class_trained(folds: list[list[str]], classes: dict[str, set[int]]) -> bool:
    every = set().union(*classes.values())
    return all(set().union(*(classes[g] for g in classes if g not in fold)) == every for fold in folds)


def cross_validate(config: ExperimentConfig, folds: int, out: Path, progress: bool = True,
                   only: list[int] | None = None, together: list[list[str]] | None = None) -> dict:
    """Trains one model per fold into ``out``/fold<k> and writes ``out``/cv.json: per fold the held-out groups,
    top-1 and mean class accuracy of each head; over the folds the mean and standard deviation, and the pooled
    figures (every sample counted once: top-1, mean class accuracy, the hands-missing samples)."""
    from bharnet.engine.trainer import Trainer

    file = DatasetFile(config.dataset_path())
    pool = set(file.split_indices(f"{config.data.train_split}+{config.data.test_split}").tolist())
    groups = sorted(name[6:] for name in file.splits if name.startswith("group/")
                    and pool & set(file.splits[name].tolist()))
    if not groups:
        raise ConfigError(f"{file.path}: no group/<name> splits; convert with group metadata (signer, subject)")
    classes = {g: set(file.labels[file.splits[f"group/{g}"]].tolist()) for g in groups}
    results = []
    for fold, held_out in enumerate(group_folds(groups, folds, together, classes)):
        if only is not None and fold not in only:
            continue
        train = [g for g in groups if g not in held_out]
        data = dataclasses.replace(config.data, train_split="+".join(f"group/{g}" for g in train),
                                   test_split="+".join(f"group/{g}" for g in held_out), val_split="")
        fold_config = config.replace(data=data, name=f"{config.name}-fold{fold}")
        run = out / f"fold{fold}"
        resume = (run / "checkpoints" / "last.safetensors").exists()
        metrics = Trainer(fold_config, run, resume=resume, progress=progress).fit()
        results.append(fold_result(fold, held_out, metrics))
    return write_summary(config.name, file.classes, results, out)


def fold_result(fold: int, held_out: list[str], metrics: dict[str, dict]) -> dict:
    """One fold's entry of cv.json from its test metrics (every head's)."""
    fused = metrics["fused"]
    return {"fold": fold, "test_groups": held_out, "test_top1": fused["top1"],
            "test_mean_class": fused["mean_class"], "test_samples": int(fused["confusion"].sum()),
            "per_head": {h: m["top1"] for h, m in metrics.items()},
            "per_head_mean_class": {h: m["mean_class"] for h, m in metrics.items()},
            "confusion": fused["confusion"].tolist(),
            **({"hands_missing": [fused["hands_missing_top1"], fused["hands_missing_samples"]]}
               if "hands_missing_top1" in fused else {})}


def write_summary(name: str, classes: list[str], results: list[dict], out: Path) -> dict:
    """cv.json: the folds, their mean and spread, and the figures pooled over them."""
    accuracies = np.array([r["test_top1"] for r in results])
    mean_class = np.array([r["test_mean_class"] for r in results])
    confusion = np.sum([r["confusion"] for r in results], axis=0)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
    summary = {"config": name, "classes": classes, "folds": results, "mean": float(accuracies.mean()),
               "std": float(accuracies.std(ddof=1)) if len(accuracies) > 1 else 0.0,
               "mean_class": float(mean_class.mean()),
               "mean_class_std": float(mean_class.std(ddof=1)) if len(results) > 1 else 0.0,
               "pooled": {"top1": float(np.trace(confusion) / confusion.sum()),
                          "mean_class": float(per_class[confusion.sum(1) > 0].mean()),
                          "per_class": per_class.tolist(), "confusion": confusion.tolist()}}
    if all("hands_missing" in r for r in results):  # pooled over folds: every sample counted once
        correct = sum(top1 * n for (top1, n) in (r["hands_missing"] for r in results) if n)
        total = sum(r["hands_missing"][1] for r in results)
        summary["hands_missing"] = {"top1": correct / total if total else float("nan"), "samples": total}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "cv.json", json.dumps(summary, indent=1))
    return summary
