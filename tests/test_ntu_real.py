"""The five real NTU RGB+D .skeleton files in ../shared/data/ntu-samples: read, converted and trained through.

Joint positions are checked against a parser written here, independently of bharnet's, straight from the
documented text layout (frame count; per frame a body count; per body an info line, a joint count and one
line of 12 values per joint, x y z first).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from bharnet.cli.main import main
from bharnet.data.convert import convert
from bharnet.data.readers.ntu import read_ntu_skeleton
from bharnet.data.store import DatasetFile

SAMPLES = {  # name: (0-based label, bodies in the file)
    "S001C001P001R001A011": (10, 1),  # reading
    "S001C003P008R002A058": (57, 2),  # handshaking
    "S002C001P003R001A003": (2, 1),  # brushing teeth
    "S003C001P015R001A034": (33, 1),  # rub two hands
    "S004C002P003R001A017": (16, 1),  # take off a shoe
}


@pytest.fixture(scope="module")
def ntu_samples(shared_data):
    return shared_data / "ntu-samples"


def parse_xyz(path) -> tuple[int, dict[str, dict[int, np.ndarray]]]:
    """Frame count and {body id: {frame: (25, 3) xyz}}, read line by line from the text."""
    lines = iter(path.read_text().splitlines())
    frames = int(next(lines))
    bodies: dict[str, dict[int, np.ndarray]] = {}
    for frame in range(frames):
        for _ in range(int(next(lines))):
            body_id = next(lines).split()[0]
            joints = [next(lines).split()[:3] for _ in range(int(next(lines)))]
            bodies.setdefault(body_id, {})[frame] = np.array(joints, dtype=np.float64)
    return frames, bodies


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_files_read_with_the_joints_written_in_the_text(ntu_samples, name):
    path = ntu_samples / f"{name}.skeleton"
    label, persons = SAMPLES[name]
    sample = read_ntu_skeleton(path)
    frames, bodies = parse_xyz(path)
    assert sample.label == label and sample.num_frames == frames and sample.num_persons == persons
    for m in range(sample.num_persons):
        present = np.flatnonzero(sample.scores[m].any(-1))
        # the body whose track fills these frames with these joints
        matches = [track for track in bodies.values() if sorted(track) == present.tolist()
                   and np.allclose(sample.keypoints[m, present[0]], track[present[0]], atol=1e-6)]
        assert len(matches) == 1, f"person {m} matches {len(matches)} tracks of the text"
        expected = np.stack([matches[0][t] for t in present])
        np.testing.assert_allclose(sample.keypoints[m, present], expected, atol=1e-6)
    assert np.isfinite(sample.keypoints).all() and set(np.unique(sample.scores)) <= {0.0, 0.5, 1.0}


def test_real_files_convert_and_train_a_tiny_model(ntu_samples, tmp_path, capsys):
    out = tmp_path / "ntu5.bhd"
    report = convert(ntu_samples, "ntu", out, workers=1, progress=False)
    assert report.samples == 5 and not report.skipped
    dataset = DatasetFile(out)
    assert sorted(dataset.names) == sorted(SAMPLES)
    for index, name in enumerate(dataset.names):
        direct = read_ntu_skeleton(ntu_samples / f"{name}.skeleton")
        np.testing.assert_array_equal(dataset[index].keypoints, direct.keypoints)
    # NTU60 cross-subject: performers 1, 8, 15 train; performer 3 tests
    assert len(dataset.split_indices("xsub/train")) == 3 and len(dataset.split_indices("xsub/test")) == 2

    config = tmp_path / "ntu5.yaml"
    config.write_text(yaml.safe_dump({
        "name": "ntu5_body",
        "data": {"file": str(out), "train_split": "xsub/train", "test_split": "xsub/test", "num_frames": 16},
        "model": {"variant": "body", "widths": [8, 8, 16], "stride_blocks": [2]},
        "optim": {"name": "adamw", "lr": 0.001},
        "schedule": {"epochs": 2, "warmup_epochs": 1},
        "train": {"batch_size": 2, "workers": 0, "threads": 1, "device": "cpu", "seed": 0},
    }))
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run), "--quiet"]) == 0
    result = json.loads((run / "result.json").read_text())
    assert result["epochs"] == 2 and 0 <= result["test_top1"] <= 1
    assert (run / "checkpoints" / "last.safetensors").is_file()
