"""Where a model's CPU time goes: torch.profiler over one inference call and one training step (forward, loss,
backward, SGD step) of a config's model on NTU-sized input, after a warm-up; prints the top operators by self
CPU time.

    .venv/bin/python benchmarks/profile_step.py configs/ntu60_xsub/E_pam.yaml --batch 16 --threads 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from bharnet import runtime
from bharnet.cli.common import configured_models
from bharnet.errors import exit_on_error
from bharnet.models.bench import Bench


def profiled(step, label: str, rows: int) -> None:
    step()  # warm-up
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages)
    print(f"\n## {label}: {total / 1e6:.2f} s of self CPU time")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    runtime.reuse_freed_memory()
    torch.set_num_threads(args.threads)
    (config, spec, model), = configured_models([args.config], args.overrides, ntu_sized=True)
    bench = Bench(torch.device("cpu"), args.threads)
    inputs = spec.example(args.batch, args.frames, torch.Generator().manual_seed(0))
    model.eval()

    def infer() -> None:
        with torch.inference_mode():
            model(*inputs)

    profiled(infer, f"{config.name} ({config.model.name}) inference, batch {args.batch}", args.rows)
    profiled(bench.training_step(model, inputs), f"{config.name} training step, batch {args.batch}", args.rows)


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
