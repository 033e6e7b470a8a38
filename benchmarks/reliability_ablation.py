"""The fusion's reliability rule, or the fusion itself, swapped at test time on the same trained checkpoints.

For each fold of a cross-validated dual-stream config, the last checkpoint is evaluated on that fold's
held-out people with its hand reliability computed three ways: ``learned`` (as trained), ``presence`` (the
fraction of frames with a hand) and ``none`` (r = 1: hands always trusted, the fusion without reliability),
under lost hands and hand-only keypoint noise. The weights are the same in all three; only r changes.
With ``--swap fusion`` the learned r stays and the fusion rule changes instead (noisy_or, sum, mixture):
a reading of how each rule combines the same two experts, not a trained comparison (each rule's loss
shapes the experts differently).

Usage: .venv/bin/python benchmarks/reliability_ablation.py [CV_DIR] [--swap reliability|fusion] [--out FILE.json]
  (default runs/signs-cv/bharnet; run benchmarks/cv.sh first). Add "--set train.workers=0" style overrides
  after --set if needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bharnet.config import load_config
from bharnet.engine.checkpoint import load_checkpoint
from bharnet.engine.experiment import Experiment
from bharnet.engine.robustness import corrupted_accuracy
from bharnet.errors import exit_on_error

LEVELS = {"hands_missing": [0.0, 0.5, 0.75, 1.0], "hand_noise": [0.01, 0.02, 0.05]}
MODES = {"reliability": ("learned", "presence", "none"), "fusion": ("noisy_or", "sum", "mixture")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cv_dir", nargs="?", type=Path, default=Path("runs/signs-cv/bharnet"))
    parser.add_argument("--swap", choices=sorted(MODES), default="reliability")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=["train.workers=0"])
    args = parser.parse_args()
    modes = MODES[args.swap]
    per_fold: dict[str, list[dict]] = {mode: [] for mode in modes}
    for fold in sorted(args.cv_dir.glob("fold*")):
        experiment = Experiment(load_config(fold / "config.yaml", args.overrides))
        load_checkpoint(fold / "checkpoints" / "last", experiment.model, device=experiment.device)
        model = experiment.model
        trained = model.reliability.mode, model.fusion
        for mode in modes:
            # the learned gate's weights stay loaded; presence and none ignore them
            if args.swap == "reliability":
                model.reliability.mode = mode
            else:
                model.fusion = mode
            per_fold[mode].append(corrupted_accuracy(experiment, LEVELS)["fused"])
        model.reliability.mode, model.fusion = trained
        print(fold.name, "done", flush=True)
    mean = {mode: {kind: np.mean([f[kind] for f in folds], axis=0).round(4).tolist() for kind in LEVELS}
            for mode, folds in per_fold.items()}
    print(f"mean fused top-1 over {len(per_fold[modes[0]])} folds; levels {LEVELS}")
    for mode, results in mean.items():
        print(f"{mode:>9}", results)
    if args.out:
        args.out.write_text(json.dumps({"swap": args.swap, "levels": LEVELS, "top1": mean}, indent=1))


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
