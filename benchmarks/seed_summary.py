"""Mean and spread over training seeds of cross-validated robustness results, for docs/results.md.

One signer-fold cross-validation is one training per fold; on 3 held-out signers per fold its accuracy moves
by several points between two seeds of the same config. This script puts several seeds' runs of each model
side by side: each ROBUSTNESS_DIR is one seed's `benchmarks/robustness.sh` output (its robustness.json holds
the mean over the folds), the models named alike in each (a trailing `_s<seed>` is dropped).

With ``--cv``, also the cross-validation folders' own figures per model (named alike): top-1 and the clips
whose hands are missing in most frames, mean and spread over the seeds.

Usage: .venv/bin/python benchmarks/seed_summary.py ROBUSTNESS_DIR [ROBUSTNESS_DIR ...] [--cv CV_DIR ...]
                                                   [--json OUT] [--plot DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

from bharnet.atomic import atomic_write_text
from bharnet.cli.common import format_table
from bharnet.engine.robustness import write_robustness
from bharnet.errors import ConfigError, exit_on_error


def model_name(label: str) -> str:
    """``bharnet_s2`` and ``bharnet_s2: body expert`` -> ``bharnet`` and ``bharnet: body expert``."""
    return re.sub(r"_s\d+(?=:|$)", "", label)


def by_model(paths: list[Path]) -> tuple[dict[str, list[float]], dict[str, dict[str, list[list[float]]]]]:
    """The levels, and per model and corruption kind one list of top-1 per seed (each a list over levels)."""
    levels: dict | None = None
    models: dict[str, dict[str, list[list[float]]]] = {}
    for path in paths:
        file = path / "robustness.json"
        if not file.is_file():
            raise ConfigError(f"{file}: not found (run benchmarks/robustness.sh with ROBUSTNESS_OUT={path})")
        data = json.loads(file.read_text())
        if levels is not None and data["levels"] != levels:
            raise ConfigError(f"{file}: other corruption levels than {paths[0]}; run every seed with the same")
        levels = data["levels"]
        for label, kinds in data["top1"].items():
            for kind, values in kinds.items():
                models.setdefault(model_name(label), {}).setdefault(kind, []).append(values)
    assert levels is not None
    return levels, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--cv", nargs="*", type=Path, default=[], help="cross-validation folders (cv.json)")
    parser.add_argument("--json", type=Path, help="write the per-seed figures and their mean here")
    parser.add_argument("--plot", type=Path, help="a folder for robustness.png/.json/.csv of the seeds' mean")
    args = parser.parse_args()
    cross_validation = cv_figures(args.cv)
    levels, models = by_model(args.dirs)
    header = ["model", "seeds", *(f"{kind} {level:g}" for kind, values in levels.items() for level in values)]
    rows, summary = [], {}
    for name, kinds in models.items():
        columns = {kind: list(zip(*kinds[kind], strict=True)) for kind in levels}  # per level: one top-1 per seed
        summary[name] = {kind: {"per_seed": kinds[kind], "mean": [statistics.mean(c) for c in columns[kind]]}
                         for kind in levels}
        rows.append([name, str(len(kinds[next(iter(levels))])),
                     *(mean_spread(list(column)) for kind in levels for column in columns[kind])])
    print(format_table(header, rows))
    if args.plot:
        means = {name: {kind: figures["mean"] for kind, figures in kinds.items()} for name, kinds in summary.items()}
        seeds = max(int(row[1]) for row in rows)
        write_robustness(args.plot, levels, means, f"signs-crowd, 4 signer folds: mean over {seeds} training seeds")
    if cross_validation:
        print()
        print(format_table(["model", "seeds", "top-1 per seed", "top-1", "hands missing in most frames"],
                           [[name, str(len(f["top1"])), " / ".join(f"{v:.3f}" for v in f["top1"]),
                             mean_spread(f["top1"]), mean_spread(f["hands_missing"])]
                            for name, f in cross_validation.items()]))
    if args.json:
        atomic_write_text(args.json, json.dumps({"levels": levels, "runs": [str(d) for d in args.dirs],
                                                 "models": summary, "cross_validation": cross_validation},
                                                indent=1))


def mean_spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} +- {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"


def cv_figures(folders: list[Path]) -> dict[str, dict[str, list[float]]]:
    """Per model: the mean top-1 over the folds and the top-1 on the clips with hands missing in most
    frames, one entry per seed's folder."""
    out: dict[str, dict[str, list[float]]] = {}
    for folder in folders:
        file = folder / "cv.json"
        if not file.is_file():
            raise ConfigError(f"{file}: not found (run bharnet cv with --out {folder})")
        data = json.loads(file.read_text())
        figures = out.setdefault(model_name(folder.name), {"top1": [], "hands_missing": []})
        figures["top1"].append(data["mean"])
        figures["hands_missing"].append(data["hands_missing"]["top1"])
    return out


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
