"""`bharnet bench`: every figure is measured (none left empty), CTR-GCN's code joins the same run when it sits
beside the repository, and the CPU peak memory sees what a step allocates."""

from __future__ import annotations

import json

import pytest
import torch

from bharnet.cli.main import main
from bharnet.models.bench import DEFAULT_REFERENCE, Bench
from tests.conftest import require_folder

TINY = ["--set", "model.width_multiplier=0.125", "--set", "model.depth=3", "--frames", "4", "--batch", "1", "2",
        "--train-batch", "2", "--repeats", "1", "--quiet"]


@pytest.fixture
def reference():
    return require_folder(DEFAULT_REFERENCE, "CTR-GCN's reference code")


def test_cpu_peak_memory_counts_a_step_allocation():
    size = 4 * 2**20

    def step():
        kept = torch.ones(size // 4)  # 4 MB, alive while a second 4 MB tensor is made
        return kept + 1

    peak = Bench(torch.device("cpu"), threads=1).peak_bytes(step)
    assert 2 * size <= peak < 4 * size


def test_bench_measures_our_model_and_ctrgcn_in_one_run(tmp_path, reference, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "configs/ntu60_xsub/body.yaml", *TINY, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    ours, ctrgcn = report["models"]
    assert (ours["model"], ctrgcn["model"]) == ("body", "CTR-GCN")
    for figures in (ours, ctrgcn):
        assert figures["frames"] == 4
        assert set(figures["inference"]) == {"1", "2"} and min(figures["inference"].values()) > 0
        assert figures["training"] > 0 and figures["inference_peak"] > 0 and figures["training_peak"] > 0
        # the ratios' own timings, in turns with the other model, at every batch
        assert set(figures["round_robin"]) == {"1", "2"} and min(figures["round_robin"].values()) > 0
    for batch in ("1", "2"):
        best_against_best = ours["round_robin"][batch] / ctrgcn["round_robin"][batch]
        assert ctrgcn["paired_ratio"][batch] == 1.0
        assert best_against_best / 2 < ours["paired_ratio"][batch] < 2 * best_against_best
    assert ours["macs"] > 0 and ours["matmul_fraction"] > 0
    table = capsys.readouterr().out
    assert "x CTR-GCN infer b1" in table and "x CTR-GCN paired b2" in table and "CTR-GCN (reference code)" in table


def test_bench_times_each_model_at_each_precision_against_ctrgcn_at_the_same(tmp_path, reference, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "configs/ntu60_xsub/body.yaml", *TINY, "--precision", "fp32", "bf16",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {(f["model"], f["precision"]): f for f in report["models"]}
    assert set(rows) == {(m, p) for m in ("body", "CTR-GCN") for p in ("fp32", "bf16")}
    assert report["precisions"] == ["fp32", "bf16"] and set(report["matmul_flops"]) == {"fp32", "bf16"}
    for (model, precision), figures in rows.items():
        assert min(figures["inference"].values()) > 0 and min(figures["round_robin"].values()) > 0
        # training is timed once, in fp32
        assert (figures["training"] is not None) == (precision == "fp32")
        if model == "CTR-GCN":
            # paired with itself: each precision has its own reference
            assert set(figures["paired_ratio"].values()) == {1.0}
    lines = capsys.readouterr().out.splitlines()
    assert "matmul (1024^3): fp32 " in lines[2] and "precision" in lines[3]
    assert sum(line.split()[2] == "bf16" for line in lines[5:] if line.startswith("ntu60")) == 1


def test_bench_at_bf16_alone_and_with_a_repeated_precision(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "configs/ntu60_xsub/body.yaml", *TINY, "--no-reference", "--precision", "bf16", "bf16",
                 "--json", str(out)]) == 0
    (figures,) = json.loads(out.read_text())["models"]  # one row: a repeated precision counts once
    assert figures["precision"] == "bf16" and min(figures["inference"].values()) > 0
    assert figures["training"] is None  # training is timed in fp32 only


def test_bench_with_one_person_of_two_gives_ctrgcn_and_ours_the_same_absent_person(tmp_path, reference, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "configs/ntu60_xsub/body.yaml", *TINY, "--persons-seen", "1", "--train-batch", "0",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["persons_seen"] == 1 and len(report["models"]) == 2
    for figures in report["models"]:  # no achieved FLOP/s: the MACs count the absent person too
        assert figures["matmul_fraction"] is None and set(figures["paired_ratio"]) == {"1", "2"}
    assert "only the first 1 person(s) of each sample there" in capsys.readouterr().out
    assert main(["bench", "configs/ntu60_xsub/body.yaml", "--persons-seen", "0", "--quiet"]) == 2
    assert main(["bench", "configs/ntu60_xsub/body.yaml", *TINY, "--persons-seen", "2", "--no-reference"]) == 2
    assert "--persons-seen 2: the input holds 2 person(s), so nobody would be absent" in capsys.readouterr().err


def test_rounds_in_turns_call_every_step_once_per_round_after_a_warm_up_rotating_the_order():
    calls = []
    steps = [lambda name=name: calls.append(name) for name in "abc"]
    seconds = Bench(torch.device("cpu"), threads=1).rounds_in_turns(steps, rounds=3)
    # the warm-up round, then 3 timed, each starting one step further on: every step follows each other one
    assert "".join(calls) == "abc" + "bca" + "cab" + "abc"
    assert [len(s) for s in seconds] == [3, 3, 3] and all(t >= 0 for s in seconds for t in s)


def test_bench_dataset_sized_with_the_cpu_recipe_uses_the_recipe_frames(tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "configs/signs/bharnet.yaml", "--dataset-sized", "--recipe", "cpu", "--no-reference",
            "--batch", "2", "--train-batch", "0", "--repeats", "1", "--quiet", "--json", str(out)]
    assert main(args) == 0
    report = json.loads(out.read_text())
    (figures,) = report["models"]
    assert report["recipe"] == "cpu"
    assert figures["frames"] == 16 and figures["training"] is None  # the CPU recipe's data.num_frames


def test_a_missing_config_fails_before_anything_is_measured(capsys):
    assert main(["bench", "configs/ntu60_xsub/body.yaml", "configs/ntu60_xsub/missing.yaml", "--quiet"]) == 2
    assert "configs/ntu60_xsub/missing.yaml: config file not found" in capsys.readouterr().err
