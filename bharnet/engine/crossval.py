"""Cross-validation by group: whole groups (signers, subjects) held out per fold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from bharnet.config import ExperimentConfig
from bharnet.data.store import DatasetFile
from bharnet.errors import ConfigError


def group_folds(groups: list[str], folds: int) -> list[list[str]]:
    """Sorted groups dealt round-robin into ``folds`` lists."""
    ordered = sorted(groups)
    if not 2 <= folds <= len(ordered):
        raise ConfigError(f"--folds {folds}: needs 2..{len(ordered)} (the number of groups)")
    return [ordered[i::folds] for i in range(folds)]


def cross_validate(config: ExperimentConfig, folds: int, out: Path, progress: bool = True,
                   only: list[int] | None = None) -> dict:
    from bharnet.engine.trainer import Trainer

    file = DatasetFile(config.dataset_path())
    pool = set(file.split_indices(f"{config.data.train_split}+{config.data.test_split}").tolist())
    groups = sorted(name[6:] for name in file.splits if name.startswith("group/")
                    and pool & set(file.splits[name].tolist()))
    if not groups:
        raise ConfigError(f"{file.path}: no group/<name> splits; convert with group metadata (signer, subject)")
    results = []
    for fold, held_out in enumerate(group_folds(groups, folds)):
        if only is not None and fold not in only:
            continue
        train = [g for g in groups if g not in held_out]
        data = dataclasses.replace(config.data, train_split="+".join(f"group/{g}" for g in train),
                                   test_split="+".join(f"group/{g}" for g in held_out), val_split="")
        fold_config = config.replace(data=data, name=f"{config.name}-fold{fold}")
        run = out / f"fold{fold}"
        resume = (run / "checkpoints" / "last.safetensors").exists()
        metrics = Trainer(fold_config, run, resume=resume, progress=progress).fit()
        fused = metrics["fused"]
        results.append({"fold": fold, "test_groups": held_out, "test_top1": fused["top1"],
                        "per_head": {h: m["top1"] for h, m in metrics.items()},
                        **({"hands_missing": [fused["hands_missing_top1"], fused["hands_missing_samples"]]}
                           if "hands_missing_top1" in fused else {})})
    accuracies = np.array([r["test_top1"] for r in results])
    summary = {"config": config.name, "folds": results, "mean": float(accuracies.mean()),
               "std": float(accuracies.std(ddof=1)) if len(accuracies) > 1 else 0.0}
    if all("hands_missing" in r for r in results):  # pooled over folds: every sample counted once
        correct = sum(top1 * n for (top1, n) in (r["hands_missing"] for r in results) if n)
        total = sum(r["hands_missing"][1] for r in results)
        summary["hands_missing"] = {"top1": correct / total if total else float("nan"), "samples": total}
    out.mkdir(parents=True, exist_ok=True)
    (out / "cv.json").write_text(json.dumps(summary, indent=1))
    return summary
