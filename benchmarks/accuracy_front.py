"""Accuracy against compute of cross-validated configurations (benchmarks/cv.sh): one point per run folder,
its cost counted on the model each fold trained (the run's own resolved config: its widths, frames and input),
for docs/performance.md.

Usage: .venv/bin/python benchmarks/accuracy_front.py DATASET [NAME...] [--plot PNG] [--json FILE]
  NAME: folders under runs/<DATASET>-cv/ (default: every folder there with a cv.json)
Prints a Markdown table: parameters, MACs per sample (the inference path, counted with
torch.utils.flop_counter), mean +- std top-1 and mean class accuracy over the folds, top-1 on the clips with
hands missing in most frames, and the training minutes over the folds (median epoch x epochs).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from bharnet import plots
from bharnet.cli.common import config_input_spec, format_table
from bharnet.config import load_config
from bharnet.errors import exit_on_error
from bharnet.models import build_model
from bharnet.models.profile import profile_model

RUNS = Path("runs")


def training_seconds(run: Path) -> float:
    """Seconds of training over every fold: each fold's median epoch times its epochs (evaluation and start-up
    excluded; the median, so that an epoch slowed by other work on the machine does not count)."""
    total = 0.0
    for metrics in run.glob("fold*/metrics.csv"):
        with metrics.open() as f:
            seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
        total += statistics.median(seconds) * len(seconds)
    return total


def describe(run: Path) -> dict:
    result = json.loads((run / "cv.json").read_text())
    config = load_config(run / "fold0" / "config.yaml")
    spec = config_input_spec(config)
    size = profile_model(build_model(config.model, spec), spec, config.data.pipeline.num_frames, threads=None)
    return {"name": run.name, "model": config.model.name, "parameters": size.parameters["total"],
            "macs": size.macs["total"], "frames": config.data.pipeline.num_frames,
            "width": config.model.width_multiplier, "hand_width": config.model.hand_width_multiplier,
            "top1": result["mean"], "top1_std": result["std"], "mean_class": result["mean_class"],
            "hands_missing": result["hands_missing"]["top1"], "folds": len(result["folds"]),
            "training_s": training_seconds(run)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    root = RUNS / f"{args.dataset}-cv"
    runs = [root / n for n in args.names] if args.names else sorted(p.parent for p in root.glob("*/cv.json"))
    rows = [describe(run) for run in runs]
    columns = ["config", "model", "widths (body / hand)", "params", "MMACs", "top-1", "mean class",
               "hands missing", "training min"]
    print(format_table(columns, [
        [r["name"], r["model"], f"{r['width']:g} / {r['hand_width'] or r['width']:g}",
         f"{r['parameters'] / 1e6:.3f}M", f"{r['macs'] / 1e6:.0f}", f"{r['top1']:.3f} +- {r['top1_std']:.3f}",
         f"{r['mean_class']:.3f}", f"{r['hands_missing']:.3f}",
         f"{r['training_s'] / 60:.1f}" if r["training_s"] else "- (rescored)"] for r in rows],
        markdown=True))
    if args.plot:
        points = {r["name"]: (r["macs"] / 1e6, r["top1"], r["top1_std"]) for r in rows}
        plots.accuracy_front(points, args.plot, f"MMACs per sample ({rows[0]['frames']} frames, as trained)",
                             f"{args.dataset}: {rows[0]['folds']} person folds, CPU recipe")
        print(f"plot written to {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
