import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bharnet.cli.main import main
from bharnet.data.sample import Sample
from bharnet.data.store import DatasetFile, write_dataset
from tests.skeleton_files import two_actor_recording


@pytest.fixture
def ntu_folder(tmp_path):
    folder = tmp_path / "skeletons"
    folder.mkdir()
    for name in ("S001C001P001R001A010", "S001C002P002R001A011", "S002C003P003R002A010", "S001C001P004R001A012"):
        two_actor_recording(folder / f"{name}.skeleton")
    return folder


def test_convert_ntu_folder_with_extra_splits(ntu_folder, tmp_path, capsys):
    extra = tmp_path / "splits.json"
    extra.write_text(json.dumps({"mine/val": ["S001C002P002R001A011"]}))
    out = tmp_path / "ntu.bhd"
    args = ["convert", str(ntu_folder), "-f", "ntu", "-o", str(out), "--splits", str(extra), "-q", "--workers", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 samples, 60 classes" in printed and "split xview/train: 2" in printed
    dataset = DatasetFile(out)
    assert dataset.split_indices("mine/val").tolist() == [dataset.names.index("S001C002P002R001A011")]
    assert dataset.split_indices("xsub/train").size == 3  # performers 1, 2, 4 train; 3 tests
    assert dataset.layout_name == "ntu25" and dataset.classes[9] == "clapping"
    assert main(["inspect", str(out)]) == 0
    assert "class   9 clapping: 2" in capsys.readouterr().out


def test_convert_stops_or_skips_on_a_bad_file(ntu_folder, tmp_path, capsys):
    bad = ntu_folder / "S001C001P005R001A013.skeleton"
    bad.write_text("3\n1\n")
    out = tmp_path / "ntu.bhd"
    assert main(["convert", str(ntu_folder), "-f", "ntu", "-o", str(out), "-q"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("bharnet convert: error: ") and str(bad) in error and "truncated" in error
    assert "Traceback" not in error and not out.exists()
    assert main(["convert", str(ntu_folder), "-f", "ntu", "-o", str(out), "-q", "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable items" in printed and str(bad) in printed
    assert len(DatasetFile(out)) == 4


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "none.bhd")]) == 2
    assert "not found" in capsys.readouterr().err
    pickle_file = tmp_path / "a.pkl"
    pickle_file.write_bytes(b"junk")
    assert main(["convert", str(pickle_file), "-f", "pyskl", "-o", str(tmp_path / "o.bhd")]) == 2
    assert "--trust" in capsys.readouterr().err


def test_layouts_and_ntu_splits_commands(shared_data, capsys):
    assert main(["layouts"]) == 0
    printed = capsys.readouterr().out
    assert "mediapipe_holistic75" in printed and "226" in printed
    assert main(["layouts", "hand21"]) == 0
    assert "pinky_tip" in capsys.readouterr().out
    assert main(["ntu-splits", str(shared_data / "ntu-metadata/ntu60")]) == 0
    assert "xsub: train 40091, test 16487" in capsys.readouterr().out


def test_every_command_has_help(capsys):
    for command in ("convert", "inspect", "layouts", "ntu-splits"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert "usage: bharnet " + command in capsys.readouterr().out


def test_mediapipe_convert_through_cli(tmp_path, capsys):
    for action in ("hello", "bye"):
        for seq in range(3):
            folder = tmp_path / "mp" / action / str(seq)
            folder.mkdir(parents=True)
            for t in range(4):
                np.save(folder / f"{t}.npy", np.random.default_rng(t).random(226))
    out = tmp_path / "mp.bhd"
    assert main(["convert", str(tmp_path / "mp"), "-f", "mediapipe", "-o", str(out), "-q", "--vector", "226"]) == 0
    dataset = DatasetFile(out)
    assert dataset.classes == ["bye", "hello"] and len(dataset) == 6
    assert (dataset[0].scores[0, :, 25:33] == 0).all()  # MSL-150 frames carry no lower-body pose


def test_a_closed_output_pipe_ends_quietly(tmp_path):
    """`bharnet inspect x.bhd | head`: the reader closes the pipe early; no BrokenPipeError traceback."""
    samples = [Sample(np.ones((1, 4, 20, 3), np.float32), np.ones((1, 4, 20), np.float32), k % 50, f"s{k}")
               for k in range(200)]
    dataset = write_dataset(tmp_path / "x.bhd", samples, [f"class {k}" for k in range(50)], {}, "nucla20")
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, as after `head` has exited
    try:
        done = subprocess.run([sys.executable, "-m", "bharnet.cli.main", "inspect", str(dataset)], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == "", done.stderr


def test_benchmark_scripts_report_bad_input_in_one_line(tmp_path):
    """A benchmark script given a missing file says so on one line and exits 2, as the CLI does."""
    script = Path(__file__).parent.parent / "benchmarks" / "signs_label_audit.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "absent.bhd")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("signs_label_audit.py: error: ") and "absent.bhd" in done.stderr
    assert "Traceback" not in done.stderr


def test_seed_summary_averages_each_model_over_its_seeds(tmp_path):
    """Seeds' robustness folders and cv folders are matched by model name (`_s<seed>` dropped)."""
    import runpy

    script = runpy.run_path(str(Path(__file__).parent.parent / "benchmarks" / "seed_summary.py"), run_name="summary")
    levels = {"noise": [0, 0.02], "hands_missing": [1]}
    seeds = [("", 0.60, 0.90), ("_s2", 0.70, 0.80)]
    for suffix, body, fused in seeds:
        folder = tmp_path / f"robustness{suffix}"
        folder.mkdir()
        top1 = {f"body{suffix}": {"noise": [body, body], "hands_missing": [body]},
                f"bharnet{suffix}": {"noise": [fused, fused], "hands_missing": [0.5]},
                f"bharnet{suffix}: body expert": {"noise": [fused, fused], "hands_missing": [0.5]}}
        (folder / "robustness.json").write_text(json.dumps({"levels": levels, "top1": top1}))
        cv = tmp_path / f"bharnet{suffix}"
        cv.mkdir()
        (cv / "cv.json").write_text(json.dumps({"mean": fused, "hands_missing": {"top1": body, "samples": 40}}))
    found_levels, models = script["by_model"]([tmp_path / "robustness", tmp_path / "robustness_s2"])
    assert found_levels == levels and set(models) == {"body", "bharnet", "bharnet: body expert"}
    assert models["body"]["noise"] == [[0.60, 0.60], [0.70, 0.70]]
    assert script["cv_figures"]([tmp_path / "bharnet", tmp_path / "bharnet_s2"]) == {
        "bharnet": {"top1": [0.90, 0.80], "hands_missing": [0.60, 0.70]}}
    assert script["mean_spread"]([0.90, 0.80]) == "0.850 +- 0.071"


def test_keep_scores_copies_what_paired_tests_read_and_no_checkpoint(tmp_path):
    """benchmarks/keep_scores.sh keeps cv.json and each fold's result and scores; an unfinished run is refused."""
    script = Path(__file__).parent.parent / "benchmarks" / "keep_scores.sh"
    run = tmp_path / "runs" / "hand_s2"
    for fold in ("fold0", "fold1"):
        (run / fold / "checkpoints").mkdir(parents=True)
        (run / fold / "checkpoints" / "last.safetensors").write_bytes(b"weights")
        (run / fold / "result.json").write_text("{}")
        (run / fold / "scores.safetensors").write_bytes(b"scores")
    (run / "cv.json").write_text("{}")
    kept = tmp_path / "kept"
    done = subprocess.run(["bash", str(script), str(kept), str(run)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    files = sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file())
    assert files == ["hand_s2/cv.json", "hand_s2/fold0/result.json", "hand_s2/fold0/scores.safetensors",
                     "hand_s2/fold1/result.json", "hand_s2/fold1/scores.safetensors"]
    (run / "cv.json").unlink()
    done = subprocess.run(["bash", str(script), str(kept), str(run)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cv.json not found" in done.stderr


def test_collect_results_counts_the_paired_lead_per_hand_presence_bin(tmp_path, capsys):
    """Each clip lands in the bin of its fraction of frames with a hand seen; the cells count the clips right,
    and those right only in one of the two models."""
    import runpy

    from safetensors.numpy import save_file

    script = runpy.run_path(str(Path(__file__).parent.parent / "benchmarks" / "collect_results.py"), run_name="x")
    seen_frames = [0, 1, 3, 4]  # of 4 frames: no hand seen, under half, half to 90%, every frame
    samples = []
    for k, seen in enumerate(seen_frames):
        keypoints = np.ones((1, 4, 75, 3), np.float32)
        scores = np.ones((1, 4, 75), np.float32)
        scores[0, seen:, 33:] = 0  # hands lost after the first `seen` frames
        samples.append(Sample(keypoints, scores, 0, f"clip{k}"))
    data = write_dataset(tmp_path / "d.bhd", samples, ["a", "b"], {}, "mediapipe_holistic75")
    names = [f"clip{k}" for k in range(4)]
    for model, right in (("hand", [False, True, True, True]), ("bharnet", [True, False, True, True])):
        fold = tmp_path / model / "fold0"
        fold.mkdir(parents=True)
        scores = np.array([[1.0, 0.0] if r else [0.0, 1.0] for r in right], np.float32)
        save_file({"test/labels": np.zeros(4, np.int64), "test/indices": np.arange(4), "test/heads/fused": scores},
                  str(fold / "scores.safetensors"), metadata={"bharnet_scores": json.dumps({"names": {"test": names}})})
    script["presence_table"](tmp_path, ["hand", "bharnet"], "hand", data)
    table = capsys.readouterr().out.splitlines()
    assert table[0] == ("| config | no hand seen (n=1) | under half (n=1) | half to 90% (n=1) | 90% to all (n=0) "
                        "| every frame (n=1) |")
    assert table[3] == "| hand | 0 | 1 | 1 | 0 | 1 |"
    assert table[4] == "| bharnet | 1; 1 : 0 | 0; 0 : 1 | 1; 0 : 0 | 0; 0 : 0 | 1; 0 : 0 |"


def test_collect_results_ceiling_counts_a_clip_right_when_any_head_is(tmp_path, capsys):
    """The oracle row: a clip is right when one head of one config gets it; a single stream's duplicate head
    is listed once; the (person, sign) cells under half right by every head are named."""
    import runpy

    from safetensors.numpy import save_file

    script = runpy.run_path(str(Path(__file__).parent.parent / "benchmarks" / "collect_results.py"), run_name="x")
    names = ["p1_a", "p1_b", "p2_a", "p2_b"]
    labels = np.array([0, 1, 0, 1], np.int64)

    def one_hot(predicted):
        return np.eye(2, dtype=np.float32)[predicted]

    runs = {"hand": {"fused": [0, 0, 0, 0], "hand": [0, 0, 0, 0]},  # the same predictions twice
            "bharnet": {"fused": [1, 0, 1, 0], "body": [1, 1, 1, 0]}}
    for model, heads in runs.items():
        fold = tmp_path / model / "fold0"
        fold.mkdir(parents=True)
        tensors = {"test/labels": labels, "test/indices": np.arange(4)}
        tensors.update({f"test/heads/{head}": one_hot(predicted) for head, predicted in heads.items()})
        save_file(tensors, str(fold / "scores.safetensors"),
                  metadata={"bharnet_scores": json.dumps({"names": {"test": names}})})
    script["ceiling_table"](tmp_path, ["hand", "bharnet"], ["a", "b"])
    table = capsys.readouterr().out.splitlines()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table if line.startswith("| ") and "---" not in line}
    assert set(rows) == {"head", "hand fused", "bharnet body", "bharnet fused", "any head right"}
    assert rows["hand fused"] == "| hand fused | 0.500 | **0.500** |"
    # p1_a by hand, p1_b by bharnet body, p2_a by hand; p2_b by no head
    assert rows["any head right"] == "| any head right | 0.750 | **0.750** |"
    assert table[-1] == "(person, sign) cells where under half the clips are right by any head: p2 b 0.00 of 1"
