"""Score a cross-validated run's fold checkpoints again, with another prediction rule, into a new CV folder.

The weights are the folds' own; what may change is how a dual-stream model combines its two experts
(``--set model.fusion=mixture``), which data it is scored on, or the precision inference runs at
(``--precision bf16``). Each fold's scores, report and result.json
are written under OUT/fold<k>, and OUT/cv.json as `bharnet cv` writes it, so benchmarks/collect_results.py
and benchmarks/robustness.sh read the folder like any other. A model trained through the same objective as
the config it is scored with (``model.training_fusion``) is then exactly that config's cross-validation.

Usage: .venv/bin/python benchmarks/rescore_cv.py CV_DIR --out OUT [--set KEY=VALUE ...] [--precision bf16]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bharnet.atomic import atomic_write_text
from bharnet.cli.common import add_precision_argument, config_for_checkpoint
from bharnet.config import save_config
from bharnet.engine.checkpoint import load_checkpoint
from bharnet.engine.crossval import fold_result, write_summary
from bharnet.engine.evaluation import save_scores, write_report
from bharnet.engine.experiment import Experiment, predict_splits, run_result
from bharnet.errors import exit_on_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cv_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    add_precision_argument(parser)
    args = parser.parse_args()
    results, classes, name = [], None, None
    for number, fold in enumerate(sorted(args.cv_dir.glob("fold*"))):
        checkpoint = fold / "checkpoints" / "last"
        config = config_for_checkpoint(str(fold / "config.yaml"), args.overrides, "", checkpoint)
        experiment = Experiment(config, precision=args.precision)
        state = load_checkpoint(checkpoint, experiment.model, device=experiment.device)
        predictions = predict_splits(experiment, experiment.model)
        metrics = experiment.test_metrics(predictions["test"])
        run = args.out / fold.name
        (run / "checkpoints").mkdir(parents=True, exist_ok=True)
        save_config(config, run / "config.yaml")
        for suffix in (".safetensors", ".json"):  # the weights, for robustness runs on this folder
            shutil.copyfile(checkpoint.with_suffix(suffix), run / "checkpoints" / f"last{suffix}")
        save_scores(run / "scores.safetensors", predictions, experiment)
        write_report(run / "test", predictions["test"], experiment, state.get("history"))
        result = run_result(config, state["epoch"], metrics, rescored_from=str(fold),
                            precision=args.precision or "as trained")
        atomic_write_text(run / "result.json", json.dumps(result, indent=1))
        held_out = [g.removeprefix("group/") for g in config.data.test_split.split("+")]
        results.append(fold_result(number, held_out, metrics))
        classes, name = experiment.classes, config.name.rsplit("-fold", 1)[0]
        print(f"{fold.name}: test top-1 {metrics['fused']['top1']:.4f}", flush=True)
    summary = write_summary(name, classes, results, args.out)
    print(f"mean {summary['mean']:.4f} +- {summary['std']:.4f}; written to {args.out}")


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
