"""Model commands: ``bharnet info`` (size per stream) and ``bharnet export`` (ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bharnet.cli.common import (
    add_config_arguments,
    config_for_checkpoint,
    config_input_spec,
    configured_models,
    format_table,
)
from bharnet.engine.inputs import input_spec
from bharnet.models import build_model
from bharnet.models.profile import profile_model


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "info",
        help="parameters, MACs and CPU samples/s of the models in one or more configs",
        description="For each config: parameters and multiply-accumulates per stream (body, hand, "
        "cross-attention) and in total, counted with torch.utils.flop_counter on one sample, and CPU "
        "inference speed in eval mode. The input shape comes from the config's dataset file (or its "
        "data.layout / data.num_classes when the file is absent), or is NTU-sized with --ntu-sized.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="experiment YAML file(s)")
    p.add_argument("--ntu-sized", action="store_true",
                   help="measure on NTU-sized input: 25 body joints, 2x21 hand joints, 2 persons, 60 classes")
    p.add_argument("--frames", type=int, default=64, help="frames per sample (default 64)")
    p.add_argument("--batch", type=int, default=16, help="batch size for the speed measurement (default 16)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the speed measurement (default 2)")
    p.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    p.add_argument("--recipe", default="", help="apply a named recipe of each config (e.g. cpu: the CPU budget)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    add_config_arguments(p)
    p.set_defaults(run=run_info)

    p = commands.add_parser(
        "export", help="a trained model as ONNX (bharnet[onnx]), for onnxruntime and bharnet predict",
        description="Writes the config's model with the checkpoint's weights as an ONNX file: inputs body, "
        "hands, body_mask, hand_mask with a dynamic batch axis and data.num_frames frames; outputs fused (class "
        "probabilities) and every head's logits (body, hand, body_expert, hand_expert, or the single stream's). "
        "The checkpoint's config and classes are stored in the file, so bharnet predict --backend onnx can use "
        "it alone.",
    )
    p.add_argument("config", metavar="CONFIG", help="experiment YAML file of the checkpoint's model")
    p.add_argument("--checkpoint", "-c", required=True, help="checkpoint file (or bundled name, e.g. neat11)")
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx file")
    add_config_arguments(p)
    p.set_defaults(run=run_export)


def run_info(args: argparse.Namespace) -> int:
    columns = ["config", "model", "params body", "params hand", "params x-attn", "params total",
               "GMACs body", "GMACs hand", "GMACs x-attn", "GMACs total", "samples/s"]
    # a unified graph is one stream over body and hands: it shows in the totals only
    rows = []
    for config, spec, model in configured_models(args.configs, args.overrides, args.ntu_sized, args.recipe):
        stats = profile_model(model, spec, args.frames, args.batch, None if args.no_speed else args.threads)
        speed = f"{stats.samples_per_second:.1f}" if stats.samples_per_second else "-"
        parts = ("body", "hand", "cross-attention", "total")
        rows.append([config.name, config.model.name, *(_figure(stats.parameters.get(p), 1e6, "{:.3f}M") for p in parts),
                     *(_figure(stats.macs.get(p), 1e9, "{:.3f}") for p in parts), speed])
    print(f"input: {args.frames} frames{', NTU-sized' if args.ntu_sized else ''}; MACs per sample; "
          f"speed: eval, batch {args.batch}, {args.threads} CPU threads")
    print(format_table(columns, rows, args.markdown))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from bharnet.engine.checkpoint import load_checkpoint, read_checkpoint_state
    from bharnet.export import export_onnx, predictor_state
    from bharnet.video.predict import resolve_checkpoint

    checkpoint = resolve_checkpoint(args.checkpoint)
    config = config_for_checkpoint(args.config, args.overrides, "", checkpoint)
    state = read_checkpoint_state(checkpoint)
    described = "source_layout" in state  # written by a bharnet that records its input
    spec = (input_spec(state["source_layout"], config.data.pipeline, len(state["classes"]), state["coordinates"])
            if described else config_input_spec(config))
    model = build_model(config.model, spec)
    load_checkpoint(checkpoint, model)
    outputs = export_onnx(model, spec, args.onnx, predictor_state(state) if described else None,
                          config.data.pipeline.num_frames)
    print(f"{config.model.name} written to {args.onnx}: inputs body, hands, body_mask, hand_mask (batch x "
          f"{config.data.pipeline.num_frames} frames); outputs {', '.join(outputs)}")
    if not described:
        print("the checkpoint does not record its input layout: bharnet predict cannot use this file alone")
    return 0


def _figure(value: float | None, unit: float, pattern: str) -> str:
    return pattern.format(value / unit) if value else "-"
