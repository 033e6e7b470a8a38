"""Training engine end to end on a small slice of real signs-crowd data: train, eval, resume, DDP, fuse, cv."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bharnet.cli.main import main
from bharnet.config import load_config
from bharnet.data.store import DatasetFile
from bharnet.engine.checkpoint import load_checkpoint, save_checkpoint
from bharnet.engine.evaluation import load_scores
from bharnet.engine.events import EventWriter, read_scalars
from bharnet.errors import ConfigError, DataFormatError

REPO = Path(__file__).resolve().parents[1]
TRAIN = "+".join(f"group/signer{i:02d}" for i in range(6))


def small_config(path: Path, data_file: Path, **sections) -> Path:
    """A tiny B model on 6 signers (train), 1 unseen signer (test), 8 frames: ~4 s per epoch on 2 cores."""
    values = {
        "name": "tiny",
        "data": {"file": str(data_file), "train_split": TRAIN, "test_split": "group/signer06",
                 "num_frames": 8, "max_persons": 1},
        "model": {"variant": "B", "widths": [8, 8, 16, 16], "stride_blocks": [3]},
        "optim": {"name": "sgd", "lr": 0.1},
        "schedule": {"epochs": 3, "warmup_epochs": 1},
        "train": {"batch_size": 16, "workers": 0, "threads": 2, "seed": 3},
    }
    for section, update in sections.items():
        values[section] = {**values.get(section, {}), **update}
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.fixture(scope="module")
def signs(converted):
    return converted("signs")[0]


def test_train_then_eval_writes_every_artifact(signs, tmp_path, capsys):
    config = small_config(tmp_path / "tiny.yaml", signs, data={"val_split": "group/signer07"},
                          schedule={"epochs": 4})
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run), "--quiet"]) == 0
    for name in ("config.yaml", "metrics.csv", "scores.safetensors", "result.json", "checkpoints/last.safetensors",
                 "checkpoints/last.json", "checkpoints/best.safetensors", "checkpoints/best.json",
                 "test/confusion.png", "test/per_class.png", "test/learning_curves.png", "test/metrics.json"):
        assert (run / name).is_file(), name
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[0].startswith("epoch,lr,train_loss")
    events = read_scalars(next(run.glob("events.out.tfevents.*")))
    assert {tag for _, tag, _ in events} >= {"train_loss", "val_top1", "val_top1_body", "val_top1_hand"}
    assert sorted({step for step, _, _ in events}) == [1, 2, 3, 4]
    result = json.loads((run / "result.json").read_text())
    assert result["test_top1"] > 1 / 3 + 0.1, result  # above chance on an unseen signer

    out = tmp_path / "eval"
    capsys.readouterr()
    assert main(["eval", str(config), "--checkpoint", str(run / "checkpoints" / "last"), "--out", str(out),
                 "--quiet", "--set", "data.hand_classes=[thanks]"]) == 0
    printed = capsys.readouterr().out
    assert "fused" in printed and "body" in printed and "hand" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"body", "hand", "fused"}
    assert metrics["fused"]["top1"] == pytest.approx(result["test_top1"])
    for picture in ("confusion.png", "per_class.png", "learning_curves.png"):
        assert (out / picture).stat().st_size > 5000
    # at bf16, into its own folder beside the run's fp32 results, scoring as fp32 does on the 90 test clips
    assert main(["eval", str(config), "--checkpoint", str(run / "checkpoints" / "last"), "--quiet",
                 "--precision", "bf16"]) == 0
    bf16 = json.loads((run / "eval-last-bf16" / "metrics.json").read_text())
    assert bf16["fused"]["top1"] == pytest.approx(result["test_top1"], abs=2 / 90)
    meta, splits = load_scores(out / "scores.safetensors")
    assert set(splits) == {"val", "test"} and meta["classes"] == ["hello", "thanks", "iloveyou"]
    assert splits["test"]["heads/fused"].shape == (90, 3)
    # the hand-class subset (thanks = 1) recomputed from the saved scores
    test = splits["test"]
    thanks = test["labels"] == 1
    assert thanks.any()
    assert metrics["fused"]["subset_top1"] == pytest.approx((test["heads/fused"].argmax(1) == 1)[thanks].mean())
    file = DatasetFile(signs)
    test_indices = file.split_indices("group/signer06")  # small_config's test split
    # independently of the engine: a hand seen (any hand joint scored) in fewer than half the frames
    hand_joints = list(range(33, 75))
    expected = sum((file[int(i)].scores[0][:, hand_joints] > 0).any(1).mean() < 0.5 for i in test_indices)
    assert metrics["fused"]["hands_missing_samples"] == expected

    robust = tmp_path / "robust"
    capsys.readouterr()
    assert main(["robustness", str(config), str(config), "--checkpoint", str(run / "checkpoints" / "last"),
                 str(run / "checkpoints" / "best"), "--noise", "0,0.1", "--frame-drop", "0,0.5",
                 "--hands-missing", "0,1", "--hand-noise", "0.1", "--body-noise", "", "--out", str(robust),
                 "--labels", "last", "best", "--quiet"]) == 0
    report = json.loads((robust / "robustness.json").read_text())
    assert report["levels"] == {"noise": [0, 0.1], "hand_noise": [0.1], "frame_drop": [0, 0.5],
                                "hands_missing": [0, 1]}
    # each model under its label, with its fused, body and hand curves
    names = list(report["top1"])
    assert names == [f"{label}{head}" for label in ("last", "best") for head in ("", ": body expert", ": hand expert")]
    clean = report["top1"][names[0]]
    assert clean["noise"][0] == clean["frame_drop"][0] == pytest.approx(result["test_top1"])
    body_expert = report["top1"][f"{names[0]}: body expert"]
    assert clean["hands_missing"][1] == pytest.approx(body_expert["hands_missing"][1])  # no hands: the body decides
    assert all(0 <= v <= 1 for results in report["top1"].values() for vs in results.values() for v in vs)
    assert len((robust / "robustness.csv").read_text().splitlines()) == 1 + 6 * 7
    assert (robust / "robustness.png").stat().st_size > 10000
    assert main(["robustness", str(config), str(config), "--checkpoint", str(run / "checkpoints" / "last")]) == 2
    assert "2 configs but 1 checkpoints" in capsys.readouterr().err
    assert main(["robustness", str(config), str(config), "--checkpoint", str(run / "checkpoints" / "last"),
                 str(run / "checkpoints" / "best"), "--labels", "same", "same"]) == 2
    assert "give one distinct label each" in capsys.readouterr().err
    # a model or input other than the checkpoint's is refused, every difference named
    assert main(["eval", str(config), "--checkpoint", str(run / "checkpoints" / "last"), "--set", "data.modality=BM",
                 "--set", "data.num_frames=5", "--out", str(tmp_path / "wrong")]) == 2
    error = capsys.readouterr().err
    assert "data.modality: checkpoint 'J', requested 'BM'" in error
    assert "data.num_frames: checkpoint 8, requested 5" in error
    assert main(["robustness", str(config), "--checkpoint", str(run / "checkpoints" / "last"),
                 "--set", "model.pooling=pam", "--out", str(tmp_path / "wrong")]) == 2
    assert "model.pooling: checkpoint 'gap', requested 'pam'" in capsys.readouterr().err
    # a config FILE that differs (another width and frame count, as when a recipe is left out) is not refused:
    # the checkpoint's own model and input are used, and the command says so
    other = small_config(tmp_path / "other.yaml", signs, data={"val_split": "group/signer07", "num_frames": 12},
                         model={"widths": [16, 16, 32, 32]})
    again = tmp_path / "eval-other"
    assert main(["eval", str(other), "--checkpoint", str(run / "checkpoints" / "last"), "--out", str(again),
                 "--quiet"]) == 0
    assert "using the checkpoint's model and input" in capsys.readouterr().err
    assert json.loads((again / "metrics.json").read_text())["fused"]["top1"] == pytest.approx(result["test_top1"])
    # the prediction rule is free: the same experts combined by the reliability mixture, heads unchanged
    mixed = tmp_path / "eval-mixture"
    assert main(["eval", str(config), "--checkpoint", str(run / "checkpoints" / "last"), "--out", str(mixed),
                 "--quiet", "--set", "model.fusion=mixture"]) == 0
    by_mixture = json.loads((mixed / "metrics.json").read_text())
    assert by_mixture["hand"]["top1"] == pytest.approx(metrics["hand"]["top1"])
    _, mixed_splits = load_scores(mixed / "scores.safetensors")
    assert not np.allclose(mixed_splits["test"]["heads/fused"], test["heads/fused"])


def _train_process(config: Path, run: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "bharnet.cli.main", "train", str(config), "--out", str(run),
                             "--quiet", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _epoch_of(checkpoint: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(checkpoint), framework="np") as f:
        return json.loads(f.metadata()["bharnet_checkpoint"])["epoch"]


def test_killed_run_resumes_to_the_uninterrupted_result(signs, tmp_path):
    config = small_config(tmp_path / "tiny.yaml", signs, schedule={"epochs": 3})
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(["train", str(config), "--out", str(straight), "--quiet"]) == 0

    process = _train_process(config, killed)
    last = killed / "checkpoints" / "last.safetensors"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not last.exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stopped_at = _epoch_of(last)
    assert stopped_at < 3, "the run finished before it could be killed"
    # a second plain train would overwrite it: refused
    assert main(["train", str(config), "--out", str(killed), "--quiet"]) == 2
    assert main(["train", str(config), "--out", str(killed), "--quiet", "--resume"]) == 0

    a = np.genfromtxt(straight / "metrics.csv", delimiter=",", names=True)
    b = np.genfromtxt(killed / "metrics.csv", delimiter=",", names=True)
    for column in ("lr", "train_loss", "train_top1", "val_top1"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-5, atol=1e-6, err_msg=column)
    _, scores_a = load_scores(straight / "scores.safetensors")
    _, scores_b = load_scores(killed / "scores.safetensors")
    np.testing.assert_allclose(scores_a["test"]["heads/fused"], scores_b["test"]["heads/fused"], atol=1e-4)


def test_two_process_gloo_ddp_matches_one_process(signs, tmp_path):
    # six unseen signers: a test set large enough for the accuracy to be compared
    unseen = "+".join(f"group/signer{i:02d}" for i in range(6, 12))
    config = small_config(tmp_path / "tiny.yaml", signs, schedule={"epochs": 4}, data={"test_split": unseen})
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    assert main(["train", str(config), "--out", str(single), "--quiet"]) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "bharnet.cli.main", "train", str(config), "--out", str(ddp), "--quiet", "--set", "train.threads=1"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    one = json.loads((single / "result.json").read_text())
    two = json.loads((ddp / "result.json").read_text())
    # same global batch and data; only BatchNorm statistics differ (per process)
    assert abs(one["test_top1"] - two["test_top1"]) <= 0.1, (one, two)
    rows = (ddp / "metrics.csv").read_text().splitlines()
    assert len(rows) == 5  # rank 0 alone wrote the logs
    _, scores = load_scores(ddp / "scores.safetensors")
    assert scores["test"]["heads/fused"].shape == (540, 3)  # both shards gathered, no duplicates


def test_fuse_fits_weights_on_validation(signs, tmp_path, capsys):
    scores = []
    for modality in ("J", "B"):
        config = small_config(tmp_path / f"{modality}.yaml", signs, data={"val_split": "group/signer07",
                                                                          "modality": modality},
                              schedule={"epochs": 2})
        assert main(["train", str(config), "--out", str(tmp_path / modality), "--quiet"]) == 0
        scores.append(str(tmp_path / modality / "scores.safetensors"))
    out = tmp_path / "fused.json"
    capsys.readouterr()
    assert main(["fuse", *scores, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fitted weights" in printed and "equal weights" in printed
    report = json.loads(out.read_text())
    assert len(report["weights"]) == 2 and all(w >= 0 for w in report["weights"])
    assert "validation" in report["method"]


def test_fuse_without_validation_needs_fixed_weights(signs, tmp_path, capsys):
    config = small_config(tmp_path / "tiny.yaml", signs, schedule={"epochs": 1, "warmup_epochs": 0})
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    scores = str(tmp_path / "run" / "scores.safetensors")
    assert main(["fuse", scores, scores]) == 2
    assert "never on test" in capsys.readouterr().err
    assert main(["fuse", scores, scores, "--weights", "1"]) == 2
    assert "1 weights for 2 score files" in capsys.readouterr().err

    out = tmp_path / "fixed.json"
    assert main(["fuse", scores, scores, "--weights", "0.6,0.4", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "given weights" in table and "0.600 0.400" in table
    report = json.loads(out.read_text())
    single = report["table"][0]["test_top1"]
    # one model fused with itself: any positive weights give its own argmax
    assert report["table"][-1]["test_top1"] == pytest.approx(single) and "given" in report["method"]


def test_cross_validation_holds_out_whole_groups(signs, tmp_path, capsys):
    config = small_config(tmp_path / "tiny.yaml", signs, schedule={"epochs": 1, "warmup_epochs": 0})
    out = tmp_path / "cv"
    capsys.readouterr()
    assert main(["cv", str(config), "--folds", "2", "--out", str(out), "--quiet"]) == 0
    assert "+-" in capsys.readouterr().out
    summary = json.loads((out / "cv.json").read_text())
    assert [f["test_groups"] for f in summary["folds"]] == [["signer00", "signer02", "signer04", "signer06"],
                                                           ["signer01", "signer03", "signer05"]]
    for fold in summary["folds"]:
        saved = yaml.safe_load((out / f"fold{fold['fold']}" / "config.yaml").read_text())
        held_out = {f"group/{g}" for g in fold["test_groups"]}
        assert not held_out & set(saved["data"]["train_split"].split("+"))
        assert set(saved["data"]["test_split"].split("+")) == held_out
    assert summary["mean"] == pytest.approx(np.mean([f["test_top1"] for f in summary["folds"]]))


def test_bad_configs_fail_before_training_and_name_the_problem(signs, tmp_path, capsys):
    def error(*args) -> str:
        capsys.readouterr()
        assert main(list(args)) == 2
        return capsys.readouterr().err

    config = small_config(tmp_path / "tiny.yaml", signs)
    assert "optim" in error("train", str(config), "--set", "optim.lrr=1", "--out", str(tmp_path / "a"))
    assert "lrr" in error("train", str(config), "--set", "optim.lrr=1", "--out", str(tmp_path / "a"))
    missing = small_config(tmp_path / "missing.yaml", tmp_path / "nowhere.bhd")
    assert "nowhere.bhd" in error("train", str(missing), "--out", str(tmp_path / "b"))
    assert "num_classes" in error("train", str(config), "--set", "data.num_classes=60", "--out", str(tmp_path / "c"))
    assert "no split" in error("train", str(config), "--set", "data.test_split=xsub/test", "--out", str(tmp_path / "d"))
    assert "tiny.yaml" in error("train", str(config), "--set", "model.variant=C", "--out", str(tmp_path / "e"))
    assert "section.key=value" in error("train", str(config), "--set", "novalue", "--out", str(tmp_path / "f"))
    assert "zebra" in error("train", str(config), "--set", "data.relabel={group/signer06: {hello: zebra}}",
                            "--out", str(tmp_path / "g"))
    assert "relabel" in error("train", str(config), "--set", "data.relabel=[1]", "--out", str(tmp_path / "h"))
    assert not any((tmp_path / d).exists() for d in "abcdefgh")  # nothing started
    with pytest.raises(ConfigError, match="recipe"):
        load_config(config, recipe="gpu")


def test_relabel_applies_to_train_and_test_sets(signs, tmp_path):
    from bharnet.engine.experiment import Experiment

    swap = {"thanks": "iloveyou", "iloveyou": "thanks"}
    config = load_config(small_config(tmp_path / "tiny.yaml", signs, data={"relabel": {"group/signer06": swap,
                                                                                      "group/signer00": swap}}))
    experiment = Experiment(config)
    original = Experiment(load_config(small_config(tmp_path / "plain.yaml", signs)))
    assert np.array_equal(experiment.test_set.labels, np.array([0, 2, 1])[original.test_set.labels])
    changed = experiment.train_set.labels != original.train_set.labels
    assert changed.sum() == 60  # signer00's 30 thanks + 30 iloveyou, no other signer
    assert experiment.train_set[int(np.flatnonzero(changed)[0])][-1].item() != original.train_set.labels[changed][0]


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    save_checkpoint(tmp_path / "ck", model, optimizer, {"epoch": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "ck.safetensors"]  # no temporary left
    other = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    other_opt = torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    assert load_checkpoint(tmp_path / "ck.safetensors", other, other_opt)["epoch"] == 2
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True))
    assert torch.equal(optimizer.state_dict()["state"][0]["momentum_buffer"],
                       other_opt.state_dict()["state"][0]["momentum_buffer"])
    with pytest.raises(DataFormatError, match="another model config"):
        load_checkpoint(tmp_path / "ck", torch.nn.Linear(3, 5))


def test_event_file_round_trip(tmp_path):
    writer = EventWriter(tmp_path)
    writer.scalars(1, {"loss": 0.5, "acc": 0.25})
    writer.scalars(2, {"loss": 0.25})
    writer.close()
    assert read_scalars(writer.path) == [(1, "loss", 0.5), (1, "acc", 0.25), (2, "loss", 0.25)]


def test_best_is_written_only_with_a_validation_split(signs, tmp_path):
    """Without a validation split "best" would be chosen on the test data: only "last" is written."""
    config = small_config(tmp_path / "no_val.yaml", signs, schedule={"epochs": 1})
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run), "--quiet"]) == 0
    assert (run / "checkpoints" / "last.safetensors").is_file()
    assert not (run / "checkpoints" / "best.safetensors").exists()


def test_resume_accepts_options_added_since_at_their_defaults():
    from bharnet.engine.trainer import _config_changes

    saved = {"model": {"variant": "E"}, "data": {"num_frames": 16}}  # written before attention_readers existed
    unchanged = {"model": {"variant": "E", "attention_readers": ["body", "hands"]}, "data": {"num_frames": 16}}
    assert _config_changes(saved, unchanged) == []
    moved = {"model": {"variant": "E", "attention_readers": ["hands"]}, "data": {"num_frames": 8}}
    assert _config_changes(saved, moved) == ["data.num_frames", "model.attention_readers"]


def test_own_mediapipe_folder_trains_without_naming_its_classes(tmp_path, capsys):
    """configs/mediapipe/ as a new user runs it: the converted file alone says how many classes there are."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "MP_Data"
    for action in ("wave", "point", "clap", "stop", "come"):
        for seq in range(5):
            frames = folder / action / str(seq)
            frames.mkdir(parents=True)
            for t in range(10):
                np.save(frames / f"{t}.npy", rng.random(258).astype(np.float32))
    data = tmp_path / "mine.bhd"
    assert main(["convert", str(folder), "--format", "mediapipe", "--out", str(data)]) == 0
    run = tmp_path / "run"
    tiny = ["--set", f"data.file={data}", "--set", "schedule.epochs=1", "--set", "data.num_frames=8"]
    assert main(["train", str(REPO / "configs" / "mediapipe" / "bharnet.yaml"), "--recipe", "cpu", *tiny,
                 "--out", str(run), "--quiet"]) == 0
    result = json.loads((run / "result.json").read_text())
    assert result["model"].startswith("P")
    _, splits = load_scores(run / "scores.safetensors")
    assert splits["test"]["heads/fused"].shape[1] == 5  # the file's five classes, named nowhere in the config
    # a config that names another class count is refused with the way out
    capsys.readouterr()
    assert main(["train", str(REPO / "configs" / "neat11" / "bharnet.yaml"), *tiny, "--set",
                 "data.train_split=holdout/train", "--out", str(tmp_path / "neat"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "data.num_classes = 7" in error and "has 5 classes" in error and "configs/mediapipe" in error
