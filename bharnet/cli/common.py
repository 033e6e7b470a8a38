"""What the command modules share: the --set and --precision options, config-built models, plain and Markdown
tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from torch import nn

from bharnet.config import ExperimentConfig, load_config
from bharnet.data.store import DatasetFile
from bharnet.engine.inputs import check_pipeline, input_spec
from bharnet.errors import ConfigError
from bharnet.models import InputSpec, build_model
from bharnet.runtime import PRECISIONS


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set optim.lr=0.05 (repeatable; YAML values)")


def add_precision_argument(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--precision``: what inference runs at (bharnet.runtime.inference_precision); None by default means
    as trained (fp32 on a CPU, train.amp on CUDA)."""
    usual = default or "fp32 on a CPU, as trained on CUDA"
    parser.add_argument("--precision", choices=PRECISIONS, default=default,
                        help=f"run the model at this precision (default {usual}; bf16 is faster on CPUs with "
                        "AVX512-BF16 or AMX and on GPUs from Ampere on for NTU-sized models and batches, slower "
                        "for small models at batch 1: docs/performance.md)")


def precision_suffix(precision: str | None) -> str:
    """What a default output folder gets appended for a precision other than as trained, so that its results
    sit beside the fp32 ones instead of overwriting them."""
    return f"-{precision}" if precision not in (None, "fp32") else ""


def add_precisions_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision`` for measurements: each model at each precision given."""
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["fp32"],
                        help="inference precisions, each model timed at each (default fp32; bf16: convolutions "
                        "and matmuls in bfloat16; training, --compile and --onnx are timed in fp32, in the fp32 row)")


def config_for_checkpoint(path: str, overrides: list[str], recipe: str, checkpoint: str | Path) -> ExperimentConfig:
    """The config at ``path`` with the checkpoint's own model and input (see
    :func:`bharnet.engine.checkpoint.checkpoint_config`); says so on stderr where the file differs."""
    from bharnet.engine.checkpoint import checkpoint_config

    declared = load_config(path, (), recipe)
    config, differences = checkpoint_config(declared, load_config(path, overrides, recipe), checkpoint)
    if differences:
        print(f"{checkpoint}: using the checkpoint's model and input where {path} differs ("
              + "; ".join(differences) + ")", file=sys.stderr)
    return config


def config_input_spec(config: ExperimentConfig, ntu_sized: bool = False) -> InputSpec:
    """The input of a config's model: from its dataset file when present, else from data.layout and
    data.num_classes, or NTU-sized."""
    pipeline = config.data.pipeline
    if ntu_sized:
        return input_spec("ntu25_hands67", pipeline, 60)
    if config.data.file and config.dataset_path().is_file():
        file = DatasetFile(config.dataset_path())
        return input_spec(file.layout_name, pipeline, len(file.classes), file.coordinates)
    if config.data.layout and config.data.num_classes:
        return input_spec(config.data.layout, pipeline, config.data.num_classes)
    raise ConfigError(f"{config.source}: the dataset file {config.data.file or '(unset)'} is absent and "
                      "data.layout / data.num_classes are not set; or use --ntu-sized")


def configured_models(paths: list[str], overrides: list[str], ntu_sized: bool = False, recipe: str = ""
                      ) -> Iterator[tuple[ExperimentConfig, InputSpec, nn.Module]]:
    """Each config (with ``recipe`` applied) with its input and its freshly initialized model, built one at a
    time; every config is read at the call, so a bad one fails before any model is measured."""
    configs = [load_config(path, overrides, recipe) for path in paths]
    for config in configs:
        check_pipeline(config.model, config.data.pipeline)
    return ((config, spec, build_model(config.model, spec))
            for config in configs for spec in [config_input_spec(config, ntu_sized)])


def format_table(columns: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    return "\n".join(lines + ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows])
