"""``bharnet bench``: speed and memory of the models in configs, side by side with CTR-GCN's own code and with
what a plain matmul achieves on the same machine, in one process."""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from bharnet.cli.common import add_config_arguments, add_precisions_argument, configured_models, format_table
from bharnet.engine.inputs import ntu_sized_spec
from bharnet.errors import ConfigError
from bharnet.models import InputSpec
from bharnet.models.bench import DEFAULT_REFERENCE, Bench, ReferenceCTRGCN, matmul_flops
from bharnet.models.inference import folded_for_inference
from bharnet.models.profile import profile_model
from bharnet.runtime import PRECISION_DTYPES, inference_precision

REFERENCE_NAME = "CTR-GCN (reference code)"


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "bench", help="inference and training speed, peak memory, against CTR-GCN's code and a plain matmul",
        description="For each config's model, on NTU-sized input by default: parameters, MACs per sample, "
        "inference samples/s (eval, inference mode) at each --batch, training samples/s (forward, loss, "
        "backward, SGD step, train mode) at --train-batch, and the peak memory of both. In the same run, with "
        "the same threads, batches and allocator setting: CTR-GCN's own model from --reference (when present) "
        "and the FLOP/s of a plain matmul at each --precision, so that every model's speed reads as a ratio to "
        "CTR-GCN's at the same precision (timed in turns with it, so that a drifting machine slows both alike) and "
        "its achieved FLOP/s as a fraction of the matmul's. Speeds are the best of --repeats timed calls after "
        "one warm-up.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="experiment YAML file(s)")
    p.add_argument("--dataset-sized", action="store_true",
                   help="measure on the configs' own input shape instead of NTU-sized input (25 body joints, "
                   "2x21 hand joints, 2 persons, 60 classes)")
    p.add_argument("--frames", type=int, help="frames per sample (default 64; with --dataset-sized, each "
                   "config's data.num_frames)")
    p.add_argument("--recipe", default="", help="apply a named recipe of each config (e.g. cpu: the CPU budget)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--persons-seen", type=int, metavar="K",
                   help="only the first K persons of each sample (and their hands) are there, the others absent "
                   "(default: all; NTU-sized input holds 2, and most NTU clips show 1). PyTorch inference skips "
                   "the absent ones; --compile and --onnx compute every instance")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16], help="inference batch sizes (default 1 16)")
    p.add_argument("--train-batch", type=int, default=16, help="training batch size (default 16; 0 skips)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per figure, best counts (default 5)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, or auto (cuda when present)")
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                   help="CTR-GCN's code (default ../shared/reference/ctrgcn beside the repository)")
    p.add_argument("--no-reference", action="store_true", help="leave CTR-GCN out")
    p.add_argument("--compile", action="store_true", help="also time torch.compile'd inference")
    p.add_argument("--onnx", action="store_true", help="also time onnxruntime inference on the CPU (bharnet[onnx])")
    add_precisions_argument(p)
    p.add_argument("--system-allocator", action="store_true",
                   help="keep glibc's default malloc settings (bharnet.runtime.reuse_freed_memory not applied)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--json", type=Path, help="also write every figure, the input and the machine here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_config_arguments(p)
    p.set_defaults(run=run_bench)


@dataclass
class ModelFigures:
    """One model's figures; speeds in samples/s keyed by batch size, memory in bytes."""

    config: str
    model: str
    parameters: int
    macs: float | None  # per sample; None where torch's flop counter cannot trace the model
    frames: int
    precision: str = "fp32"  # of inference; training is always timed in fp32, in the fp32 row
    inference: dict[int, float] = field(default_factory=dict)
    compiled: dict[int, float] = field(default_factory=dict)
    onnxruntime: dict[int, float] = field(default_factory=dict)
    training: float | None = None
    round_robin: dict[int, float] = field(default_factory=dict)  # inference samples/s, timed in turns with the others
    # the median over those rounds of CTR-GCN's time over this model's in the same round: each ratio pairs two
    # calls made seconds apart, so it does not pair one model's luckiest round with another's ordinary one
    paired_ratio: dict[int, float] = field(default_factory=dict)
    inference_peak: int | None = None  # at the largest inference batch
    training_peak: int | None = None


class ModelBench:
    """Measures models one after another on the same input, device, threads and batches."""

    def __init__(self, args: argparse.Namespace, device: torch.device):
        self.args, self.device = args, device
        self.bench = Bench(device, args.threads, args.repeats)
        self.calls: list[tuple[ModelFigures, dict[int, Callable[[], None]]]] = []  # inference at each batch

    def round_robin(self, references: dict[str, ModelFigures]) -> None:
        """Every model's inference at each batch again, at every precision, timed in turns (4 x --repeats
        rounds per batch); each is paired with CTR-GCN's code at the same precision and batch."""
        for batch in self.args.batch:
            self.progress(f"all models in turns, batch {batch}")
            rounds = self.bench.rounds_in_turns([calls[batch] for _, calls in self.calls], 4 * self.args.repeats)
            timed = {id(f): r for (f, _), r in zip(self.calls, rounds, strict=True)}
            for (figures, _), seconds in zip(self.calls, rounds, strict=True):
                reference_rounds = timed[id(references[figures.precision])]
                figures.round_robin[batch] = batch / min(seconds)
                figures.paired_ratio[batch] = statistics.median(
                    r / s for r, s in zip(reference_rounds, seconds, strict=True))

    def progress(self, text: str) -> None:
        if not self.args.quiet:
            print(f"bench: {text}", file=sys.stderr, flush=True)

    def inputs(self, spec: InputSpec, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
        return self.bench.inputs(self.example(spec, batch, frames))

    def example(self, spec: InputSpec, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
        """The same samples for every model: random, with only --persons-seen persons there when given."""
        self.check_persons_seen(spec)
        return spec.example(batch, frames, torch.Generator().manual_seed(0), self.args.persons_seen)

    def check_persons_seen(self, spec: InputSpec) -> None:
        seen = self.args.persons_seen
        if seen is not None and seen < 1:
            raise ConfigError(f"--persons-seen {seen}: at least one person must be there")
        if seen is not None and seen >= spec.persons:
            raise ConfigError(f"--persons-seen {seen}: the input holds {spec.persons} person(s), so nobody would "
                              "be absent")

    def measure(self, config: str, name: str, model: nn.Module, spec: InputSpec, frames: int
                ) -> list[ModelFigures]:
        """One row of figures per --precision."""
        args = self.args
        self.progress(f"{config}: parameters and MACs")
        try:
            size = profile_model(model, spec, frames, threads=None)
            macs = size.macs["total"]
        except (RuntimeError, AssertionError):  # the flop counter's tracing fails on some foreign code
            macs = None
        model = model.to(self.device)
        # inference as bharnet predict runs it (BatchNorms folded), CTR-GCN's code prepared the same way
        inference = folded_for_inference(model)
        rows = []
        for precision in args.precision:
            figures = ModelFigures(config, name, sum(p.numel() for p in model.parameters()), macs, frames, precision)
            run = self._at_precision(inference, precision)
            inputs = {batch: self.inputs(spec, batch, frames) for batch in args.batch}
            for batch in args.batch:
                self.progress(f"{config}: inference, {precision}, batch {batch}")
                figures.inference[batch] = self.bench.inference(run, inputs[batch])
            calls = {batch: partial(self._infer, run, inputs[batch]) for batch in args.batch}
            figures.inference_peak = self.bench.peak_bytes(calls[max(args.batch)])
            self.calls.append((figures, calls))
            rows.append(figures)
        figures = next((f for f in rows if f.precision == "fp32"), None)
        if figures is None:  # compiled, onnxruntime and training figures belong to the fp32 row
            if args.compile or args.onnx or args.train_batch:
                self.progress(f"{config}: training, --compile and --onnx are timed in fp32 only: add fp32 to "
                              "--precision for them")
            return rows
        if args.compile:
            self.progress(f"{config}: torch.compile (compiling takes a while)")
            compiled = torch.compile(inference)
            for batch in args.batch:
                figures.compiled[batch] = self.bench.inference(compiled, self.inputs(spec, batch, frames))
        if args.onnx:
            figures.onnxruntime = self.onnxruntime(config, model, spec, frames)
        if args.train_batch:
            self.progress(f"{config}: training, batch {args.train_batch}")
            step = self.bench.training_step(model, self.inputs(spec, args.train_batch, frames))
            figures.training = self.bench.training(step, args.train_batch)
            figures.training_peak = self.bench.peak_bytes(step)
        return rows

    def _at_precision(self, model: nn.Module, precision: str) -> Callable[..., object]:
        context = inference_precision(self.device, precision)

        def run(*inputs: torch.Tensor) -> object:
            with context:
                return model(*inputs)

        return run

    @staticmethod
    def _infer(model: Callable[..., object], inputs: tuple[torch.Tensor, ...]) -> None:
        with torch.inference_mode():
            model(*inputs)

    def onnxruntime(self, config: str, model: nn.Module, spec: InputSpec, frames: int) -> dict[int, float]:
        from bharnet.export import OnnxModel, export_onnx

        self.progress(f"{config}: ONNX export and onnxruntime")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.onnx"
            export_onnx(copy.deepcopy(model).cpu(), spec, path, frames=frames)
            session = OnnxModel(path, self.args.threads)
        cpu = Bench(torch.device("cpu"), self.args.threads, self.args.repeats)
        return {batch: cpu.inference(session, self.example(spec, batch, frames)) for batch in self.args.batch}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device here")
    return device


def machine(device: torch.device) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        lines = info.read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    described = {"cpu": f"{cpu}, {os.cpu_count()} logical cores", "torch": torch.__version__}
    if device.type == "cuda":
        described["gpu"] = torch.cuda.get_device_name(device)
    return described


def run_bench(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    args.precision = list(dict.fromkeys(args.precision))  # each once: a row per (model, precision)
    runner = ModelBench(args, device)
    if not args.dataset_sized:  # a bad --persons-seen is refused before anything is measured
        runner.check_persons_seen(ntu_sized_spec())
    runner.progress(f"matmul FLOP/s on {device}")
    matmul = {precision: matmul_flops(runner.bench, dtype=PRECISION_DTYPES[precision]) for precision in args.precision}
    models = configured_models(args.configs, args.overrides, not args.dataset_sized, args.recipe)  # read all first
    references: list[ModelFigures] = []
    if not args.no_reference and args.reference.is_dir():
        # first, on a fresh heap: a process that has run larger models runs later ones slower, so the ratios
        # to it can only understate our speed
        references = runner.measure(REFERENCE_NAME, "CTR-GCN", ReferenceCTRGCN(args.reference.resolve()),
                                    ntu_sized_spec(), args.frames or 64)
    elif not args.no_reference:
        runner.progress(f"no CTR-GCN reference code at {args.reference}: measured without it")
    results = [row for config, spec, model in models
               for row in runner.measure(config.name, config.model.name, model, spec, args.frames
                                         or (config.data.pipeline.num_frames if args.dataset_sized else 64))]
    by_precision = {f.precision: f for f in references}
    if references:
        runner.round_robin(by_precision)
    report = BenchReport(args, device, matmul, results + references, by_precision)
    print(report.header())
    print(format_table(report.columns(), report.rows(), args.markdown))
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=1))
        print(f"figures written to {args.json}")
    return 0


class BenchReport:
    def __init__(self, args: argparse.Namespace, device: torch.device, matmul: dict[str, float],
                 figures: list[ModelFigures], references: dict[str, ModelFigures]):
        """``matmul``: a plain matmul's FLOP/s at each precision; ``references``: CTR-GCN's code at each
        precision (empty without it)."""
        self.args, self.device, self.matmul, self.figures, self.references = args, device, matmul, figures, references
        self.batch = max(args.batch)  # the batch that achieved FLOP/s and peak memory are stated at

    def header(self) -> str:
        args = self.args
        shape = "the configs' own input shape" if args.dataset_sized else "NTU-sized input (25 body joints, " \
            "2x21 hand joints, 2 persons, 60 classes)"
        if args.persons_seen is not None:
            shape += f", only the first {args.persons_seen} person(s) of each sample there"
        described = "; ".join(f"{k}: {v}" for k, v in machine(self.device).items())
        frames = args.frames or ("each config's data.num_frames" if args.dataset_sized else 64)
        recipe = f", recipe {args.recipe}" if args.recipe else ""
        return (f"{described}\ndevice {self.device}, {args.threads} threads; {shape}{recipe}, {frames} frames; "
                f"best of {args.repeats}; allocator: {self.allocator()}\n"
                f"matmul (1024^3): {', '.join(f'{p} {f / 1e9:.1f}' for p, f in self.matmul.items())} GFLOP/s. "
                "Peak memory: "
                f"{'CUDA max_memory_allocated' if self.device.type == 'cuda' else 'torch.profiler allocations'} "
                f"above the model's own, during one call at batch {self.batch} / one training step.")

    def allocator(self) -> str:
        if self.device.type == "cuda":
            return "PyTorch's CUDA caching allocator"
        return "glibc defaults" if self.args.system_allocator else "freed memory reused (reuse_freed_memory)"

    def columns(self) -> list[str]:
        args = self.args
        columns = ["config", "model"] + (["precision"] if self.precisions_shown else []) + ["params", "GMACs"]
        columns += [f"infer/s b{b}" for b in args.batch]
        columns += [f"compiled/s b{b}" for b in args.batch] if args.compile else []
        columns += [f"onnxruntime/s b{b}" for b in args.batch] if args.onnx else []
        columns += [f"train/s b{args.train_batch}"] if args.train_batch else []
        columns += [f"peak MB infer b{self.batch}"] + (["peak MB train"] if args.train_batch else [])
        columns += [f"% matmul b{self.batch}"]
        if self.references:
            for b in args.batch:
                columns += [f"in turns/s b{b}", f"x CTR-GCN infer b{b}", f"x CTR-GCN paired b{b}"]
            columns += ["x CTR-GCN train"] if args.train_batch else []
        return columns

    @property
    def precisions_shown(self) -> bool:
        return self.args.precision != ["fp32"]

    def achieved(self, figures: ModelFigures) -> float | None:
        """Achieved FLOP/s at the stated batch as a fraction of the matmul's at the same precision (not with
        --persons-seen: the MACs count every instance, and absent ones are not computed)."""
        if not figures.macs or self.args.persons_seen is not None:
            return None
        return 2 * figures.macs * figures.inference[self.batch] / self.matmul[figures.precision]

    def rows(self) -> list[list[str]]:
        args = self.args
        rows = []
        for f in self.figures:
            row = [f.config, f.model] + ([f.precision] if self.precisions_shown else [])
            row += [f"{f.parameters / 1e6:.3f}M", _text(f.macs and f.macs / 1e9, "{:.3f}")]
            row += [f"{f.inference[b]:.1f}" for b in args.batch]
            row += [_text(f.compiled.get(b), "{:.1f}") for b in args.batch] if args.compile else []
            row += [_text(f.onnxruntime.get(b), "{:.1f}") for b in args.batch] if args.onnx else []
            row += [_text(f.training, "{:.1f}")] if args.train_batch else []
            row += [_text(f.inference_peak and f.inference_peak / 2**20, "{:.0f}")]
            row += [_text(f.training_peak and f.training_peak / 2**20, "{:.0f}")] if args.train_batch else []
            achieved = self.achieved(f)
            row += [_text(achieved and 100 * achieved, "{:.1f}%")]
            if self.references:
                ref = self.references[f.precision]
                for b in args.batch:
                    row += [f"{f.round_robin[b]:.1f}", f"{f.round_robin[b] / ref.round_robin[b]:.2f}",
                            f"{f.paired_ratio[b]:.2f}"]
                row += [_text(f.training and f.training / ref.training, "{:.2f}")] if args.train_batch else []
            rows.append(row)
        return rows

    def as_dict(self) -> dict:
        args = self.args
        return {
            "machine": machine(self.device),
            "device": str(self.device),
            "threads": args.threads,
            "frames": args.frames,  # None: each config's data.num_frames (dataset-sized) or 64
            "recipe": args.recipe,
            "input": "dataset-sized" if args.dataset_sized else "ntu-sized",
            "repeats": args.repeats,
            "persons_seen": args.persons_seen,
            "precisions": args.precision,
            "allocator": self.allocator(),
            "matmul_flops": self.matmul,
            "models": [{**asdict(f), "matmul_fraction": self.achieved(f)} for f in self.figures],
        }


def _text(value: float | None, pattern: str) -> str:
    return pattern.format(value) if value else "-"
