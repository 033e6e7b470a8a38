"""Crash safety: processes SIGKILLed at random moments while writing leave files that load.

Checkpoints and dataset files are written through bharnet.atomic (temporary file, fsync, rename): a kill
leaves the previous complete file or the new one. `extract` caches each finished video the same way, so a
killed run resumes from its finished videos.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from bharnet.data.convert import convert
from bharnet.data.store import DatasetFile
from bharnet.engine.checkpoint import load_checkpoint, save_checkpoint
from tests.skeleton_files import two_actor_recording

KILLS = 20
FORK = multiprocessing.get_context("fork")


def tiny_model() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.Linear(256, 64))
    return model, torch.optim.AdamW(model.parameters())


def keep_saving(stem: Path) -> None:
    """Child process: one checkpoint after another; the weights and the epoch record the same step."""
    torch.set_num_threads(1)
    model, optimizer = tiny_model()
    for step in range(1, 1_000_000):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(step)
        optimizer.step()
        save_checkpoint(stem, model, optimizer, {"epoch": step})


def kill_at(process, seconds: float) -> None:
    time.sleep(seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.join()


def test_a_checkpoint_killed_mid_write_always_loads_and_resumes(tmp_path):
    stem = tmp_path / "checkpoints" / "last"
    model, optimizer = tiny_model()
    save_checkpoint(stem, model, optimizer, {"epoch": 0})
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(KILLS):
        writer = FORK.Process(target=keep_saving, args=(stem,))
        writer.start()
        kill_at(writer, rng.uniform(0.05, 0.4))
        model, optimizer = tiny_model()
        state = load_checkpoint(stem, model, optimizer)
        weights = {float(p.detach().flatten()[0]) for p in model.parameters()}
        assert weights == {float(state["epoch"])} or state["epoch"] == 0  # tensors and state of one save
        epochs.append(state["epoch"])
        save_checkpoint(stem, model, optimizer, state)  # the resumed run saves again over it
    assert max(epochs) > 0  # the kills did land during writes, not only before the first one


def convert_forever(source: Path, out: Path) -> None:
    while True:
        convert(source, "ntu", out, workers=1, progress=False)


def test_convert_killed_mid_way_leaves_the_old_file_or_the_new_one(tmp_path):
    source = tmp_path / "skeletons"
    source.mkdir()
    for k in range(40):
        two_actor_recording(source / f"S001C001P{k:03d}R001A010.skeleton")
    out = tmp_path / "ntu.bhd"
    convert(source, "ntu", out, workers=1, progress=False)
    expected = DatasetFile(out)[0].keypoints
    rng = np.random.default_rng(1)
    for _ in range(10):
        writer = FORK.Process(target=convert_forever, args=(source, out))
        writer.start()
        kill_at(writer, rng.uniform(0.1, 1.5))
        dataset = DatasetFile(out)
        assert len(dataset) == 40 and np.array_equal(dataset[0].keypoints, expected)
    convert(source, "ntu", out, workers=1, progress=False)  # a rerun replaces it cleanly
    assert len(DatasetFile(out)) == 40


def test_extract_killed_mid_way_resumes_from_its_finished_videos(shared_data, tmp_path):
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("mediapipe is not installed (CI is set: video tests must run)")
        pytest.skip("the video extra (mediapipe) is not installed")
    folder = tmp_path / "videos" / "signs"
    folder.mkdir(parents=True)
    for name in ("yo_001.mp4", "hoy_001.mp4"):
        (folder / name).symlink_to(shared_data / "videos" / "msl150" / name)
    out = tmp_path / "signs.bhd"
    command = [sys.executable, "-m", "bharnet.cli.main", "extract", str(tmp_path / "videos"), "--out", str(out),
               "--workers", "1", "--quiet"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "signs.bhd.parts"

    def finished() -> list[Path]:  # hidden names are the temporary files of writes in progress
        return sorted(p for p in parts.glob("*.npz") if not p.name.startswith("."))

    deadline = time.monotonic() + 300
    while not finished() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    cached = finished()
    assert len(cached) == 1 and not out.exists()
    with np.load(cached[0]) as cache:  # the finished video's cache is complete
        assert cache["keypoints"].shape[1:] == (75, 3)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "resuming: 1 of 2" in done.stdout, done.stdout + done.stderr
    assert len(DatasetFile(out)) == 2
