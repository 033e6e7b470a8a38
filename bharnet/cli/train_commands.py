"""Training commands: ``bharnet train``, ``eval``, ``fuse``, ``cv``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bharnet.cli.common import (
    add_config_arguments,
    add_precision_argument,
    config_for_checkpoint,
    format_table,
    precision_suffix,
)
from bharnet.config import load_config
from bharnet.data.corruptions import DEFAULT_LEVELS


def _config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG", help="experiment YAML file")
    p.add_argument("--recipe", default="", help="apply a named recipe of the config (e.g. cpu: the CPU budget)")
    add_config_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train", help="train a model from a YAML config (also under torchrun for several GPUs/nodes)",
        description="Trains CONFIG into a run folder: config.yaml (resolved), metrics.csv, TensorBoard event "
        "files, checkpoints/last (and checkpoints/best when data.val_split is set: never chosen on test data; "
        "safetensors + json), scores.safetensors and test/ "
        "(metrics.json, per_class.csv, confusion.png, per_class.png, learning_curves.png). Validation runs "
        "every epoch on data.val_split (or the test split when none is set). Under `torchrun "
        "--nproc_per_node N bharnet train ...` it trains with DistributedDataParallel (NCCL on GPUs, gloo on "
        "CPU); train.batch_size is the global batch.",
    )
    _config_arguments(p)
    p.add_argument("--out", type=Path, help="run folder (default runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.set_defaults(run=run_train)

    p = commands.add_parser(
        "eval", help="evaluate a checkpoint: top-1/5, mean class and per-class accuracy, per head, pictures",
        description="Scores the test split (and data.val_split when set) with CHECKPOINT and writes, into "
        "--out: scores.safetensors (every head's scores, for bharnet fuse), metrics.json (top-1, top-5, mean "
        "class accuracy, accuracy on data.hand_classes, per head: body, hand, fused), per_class.csv, "
        "confusion.png, per_class.png (body head vs fused), learning_curves.png when the checkpoint belongs to "
        "a run folder.",
    )
    _config_arguments(p)
    p.add_argument("--checkpoint", required=True, type=Path, help="checkpoint (.safetensors, .json or stem)")
    p.add_argument("--out", type=Path, help="output folder (default: <run folder>/eval-<checkpoint name>, with "
                   "-bf16 appended under --precision bf16)")
    add_precision_argument(p)
    p.set_defaults(run=run_eval)

    p = commands.add_parser(
        "fuse", help="late fusion of several models' scores (J, B, JM, BM, ...), weights fit on validation",
        description="Each SCORES file comes from bharnet train/eval with the same dataset and splits. Fusion "
        "is log-linear: fused = sum_i w_i log p_i with w_i >= 0, the weights fit by minimizing the "
        "cross-entropy on the validation split (L-BFGS), then applied unchanged to the test split. Prints "
        "validation and test top-1 per input, for equal weights, and for the fitted weights. With --weights "
        "the given weights are used as they are (no validation split needed).",
    )
    p.add_argument("scores", nargs="+", metavar="SCORES", help="score files (.safetensors)")
    p.add_argument("--head", default="fused", help="which head of each file to fuse (default fused)")
    p.add_argument("--weights", type=_numbers,
                   help="fixed weights, one per file (e.g. 1,1,1,1) instead of fitting them on validation; "
                   "score files without validation scores then fuse on test alone")
    p.add_argument("--out", type=Path, help="write the method, weights and table here (.json)")
    p.set_defaults(run=run_fuse)

    p = commands.add_parser(
        "cv", help="cross-validation by group (signers, subjects): K folds of whole held-out groups",
        description="Splits the groups (the dataset's group/<name> splits, e.g. signers) of the config's "
        "train and test splits into K folds (sorted, dealt round-robin; groups named together by --together "
        "stay in one fold, and every fold's training groups hold every class), trains one model per fold with "
        "that fold's groups held out for testing, and reports the last-epoch test top-1 and mean class "
        "accuracy per fold, their mean and standard deviation, and the figures pooled over the folds. No "
        "fold's test groups are ever seen in its training.",
    )
    _config_arguments(p)
    p.add_argument("--folds", type=int, default=4, help="number of folds (default 4)")
    p.add_argument("--together", action="append", default=[], metavar="G1+G2",
                   help="groups that must share a fold, e.g. signer13+signer14 (repeatable)")
    p.add_argument("--only", type=int, nargs="*", help="run only these fold numbers (0-based)")
    p.add_argument("--out", type=Path, help="folder for the fold runs (default runs/<config name>-cv<K>)")
    p.set_defaults(run=run_cv)

    _register_robustness(commands)


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers, e.g. 0,0.1,0.2") from None


def _register_robustness(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "robustness", help="accuracy under keypoint noise, frame drop and lost hands, per model, with a plot",
        description="Evaluates each CONFIG with its --checkpoint (given in the same order) on the test split "
        "corrupted before preprocessing: Gaussian keypoint noise (std as a fraction of the person's size) on "
        "every joint, on the hands only and on the body only, random frame drop, and both hands removed in a "
        "fraction of frames (1 = no hands at all). Writes robustness.json, robustness.csv and robustness.png "
        "(a panel per corruption; a line per model, dashed lines for a dual-stream model's body and hand "
        "experts) into --out. "
        "Corruptions are seeded by train.seed and the sample, so every model sees the same corrupted data.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="experiment YAML file(s)")
    p.add_argument("--checkpoint", nargs="+", required=True, type=Path,
                   help="one checkpoint per CONFIG (.safetensors, .json or stem)")
    p.add_argument("--recipe", default="", help="apply a named recipe of each config (e.g. cpu)")
    p.add_argument("--labels", nargs="+", help="one name per CONFIG for the table and plot (default: the model's "
                   "name, with the config path where two models share it)")
    add_config_arguments(p)
    for kind in DEFAULT_LEVELS:
        default = ",".join(f"{v:g}" for v in DEFAULT_LEVELS[kind])
        p.add_argument("--" + kind.replace("_", "-"), type=_numbers, default=DEFAULT_LEVELS[kind],
                       help=f"levels (default {default}; an empty string leaves the panel out)")
    p.add_argument("--out", type=Path, help="output folder (default runs/robustness, with -bf16 appended under "
                   "--precision bf16)")
    add_precision_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run_robustness)


def run_robustness(args: argparse.Namespace) -> int:
    from bharnet.engine.checkpoint import load_checkpoint
    from bharnet.engine.experiment import Experiment
    from bharnet.engine.robustness import corrupted_accuracy, curves, write_robustness
    from bharnet.errors import ConfigError

    if len(args.checkpoint) != len(args.configs):
        raise ConfigError(f"{len(args.configs)} configs but {len(args.checkpoint)} checkpoints; give one each")
    if args.labels and (len(args.labels) != len(args.configs) or len(set(args.labels)) != len(args.labels)):
        raise ConfigError(f"{len(args.configs)} configs but labels {args.labels}; give one distinct label each")
    requested = {kind: getattr(args, kind) for kind in DEFAULT_LEVELS}
    models: dict[str, dict[str, list[float]]] = {}
    levels: dict | None = None
    for index, (path, checkpoint) in enumerate(zip(args.configs, args.checkpoint, strict=True)):
        config = config_for_checkpoint(path, args.overrides, args.recipe, checkpoint)
        experiment = Experiment(config, precision=args.precision)
        load_checkpoint(checkpoint, experiment.model, device=experiment.device)
        if levels is None:  # a dataset without hands cannot lose them: that panel is left out
            has_hands = experiment.test_set.split.has_hands
            levels = {k: v for k, v in requested.items() if v and (k in ("noise", "frame_drop") or has_hands)}
        name = experiment.config.model.name
        name = args.labels[index] if args.labels else name if name not in models else f"{name} ({path})"
        models.update(curves(name, corrupted_accuracy(experiment, levels, progress=not args.quiet),
                             experiment.config.model.dual_stream))
    out = args.out or Path(f"runs/robustness{precision_suffix(args.precision)}")
    write_robustness(out, levels, models, "accuracy under corruption (test split)")
    header = ["model", *(f"{kind} {level:g}" for kind, values in levels.items() for level in values)]
    rows = [[name, *(f"{v:.3f}" for kind in levels for v in results[kind])] for name, results in models.items()]
    print(format_table(header, rows))
    print(f"written to {out}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from bharnet.engine.trainer import Trainer

    config = load_config(args.config, args.overrides, args.recipe)
    out = args.out or Path("runs") / config.name
    trainer = Trainer(config, out, resume=args.resume, progress=not args.quiet)
    metrics = trainer.fit()
    if trainer.group.is_main:
        heads = ", ".join(f"{h} {m['top1']:.4f}" for h, m in metrics.items() if h != "fused")
        print(f"{config.name}: test top-1 {metrics['fused']['top1']:.4f}" + (f" ({heads})" if heads else "")
              + f"; run folder {out}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from bharnet.engine.checkpoint import load_checkpoint
    from bharnet.engine.evaluation import save_scores, write_report
    from bharnet.engine.experiment import Experiment, predict_splits

    config = config_for_checkpoint(args.config, args.overrides, args.recipe, args.checkpoint)
    experiment = Experiment(config, precision=args.precision)
    state = load_checkpoint(args.checkpoint, experiment.model, device=experiment.device)
    stem = args.checkpoint.with_suffix("") if args.checkpoint.suffix else args.checkpoint
    out = args.out or stem.parent.parent / f"eval-{stem.name}{precision_suffix(args.precision)}"
    predictions = predict_splits(experiment, experiment.model, not args.quiet)
    out.mkdir(parents=True, exist_ok=True)
    save_scores(out / "scores.safetensors", predictions, experiment)
    summary = write_report(out, predictions["test"], experiment, state.get("history"))
    rows = [[head, f"{m['top1']:.4f}", f"{m['top5']:.4f}", f"{m['mean_class']:.4f}",
             f"{m['subset_top1']:.4f}" if "subset_top1" in m else "-",
             f"{m['hands_missing_top1']:.4f} ({m['hands_missing_samples']})" if "hands_missing_top1" in m else "-"]
            for head, m in summary.items()]
    print(format_table(["head", "top-1", "top-5", "mean class", "hand classes", "hands mostly missing (n)"], rows))
    print(f"written to {out}")
    return 0


def run_fuse(args: argparse.Namespace) -> int:
    from bharnet.engine.late_fusion import fuse_score_files

    report = fuse_score_files([Path(p) for p in args.scores], args.head, args.weights)
    rows = [[name, "-" if val != val else f"{val:.4f}", f"{test:.4f}", weight]  # NaN: no validation split
            for name, val, test, weight in report.rows]
    print(format_table(["input", "val top-1", "test top-1", "weight"], rows))
    if args.out:
        args.out.write_text(json.dumps(report.to_dict(), indent=1))
        print(f"written to {args.out}")
    return 0


def run_cv(args: argparse.Namespace) -> int:
    from bharnet.engine.crossval import cross_validate

    config = load_config(args.config, args.overrides, args.recipe)
    out = args.out or Path("runs") / f"{config.name}-cv{args.folds}"
    together = [group.split("+") for group in args.together]
    summary = cross_validate(config, args.folds, out, progress=not args.quiet, only=args.only, together=together)
    rows = [[str(f["fold"]), ",".join(f["test_groups"]), f"{f['test_top1']:.4f}", f"{f['test_mean_class']:.4f}"]
            for f in summary["folds"]]
    print(format_table(["fold", "held-out groups", "test top-1", "mean class"], rows))
    print(f"top-1 mean {summary['mean']:.4f} +- {summary['std']:.4f}, mean class accuracy "
          f"{summary['mean_class']:.4f} +- {summary['mean_class_std']:.4f} (std over {len(rows)} folds); "
          f"pooled over the folds: top-1 {summary['pooled']['top1']:.4f}, mean class "
          f"{summary['pooled']['mean_class']:.4f}; written to {out}")
    if "hands_missing" in summary:
        missing = summary["hands_missing"]
        print(f"test samples with hands missing in most frames: {missing['samples']}, top-1 {missing['top1']:.4f}")
    return 0
