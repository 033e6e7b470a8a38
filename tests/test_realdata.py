"""End-to-end conversion of the real data in ../shared/data (acceptance figures of the foundation)."""

import time

import numpy as np
import pytest

from bharnet.data.convert import convert
from bharnet.data.dataset import BodyHandDataset
from bharnet.data.store import DatasetFile
from bharnet.skeleton import body_hand_split, get_layout


def test_nucla_all_files_classes_and_cross_view_split(shared_data, tmp_path):
    started = time.perf_counter()
    report = convert(shared_data / "nucla/all_sqe", "nucla", tmp_path / "nucla.bhd", workers=2, progress=False)
    seconds = time.perf_counter() - started
    assert report.samples == 1484 and report.classes == 10
    assert report.splits["xview/train"] == 1020 and report.splits["xview/test"] == 464
    assert seconds < 60, f"converting N-UCLA took {seconds:.1f} s"
    started = time.perf_counter()
    dataset = DatasetFile(tmp_path / "nucla.bhd")
    first, last = dataset[0], dataset[len(dataset) - 1]
    assert time.perf_counter() - started < 2.0
    assert len(dataset) == 1484 and first.keypoints.shape[2:] == (20, 3)
    assert len(set(dataset.labels.tolist())) == 10 and last.label in range(10)
    views = {dataset.meta[i]["view"] for i in dataset.split_indices("xview/test")}
    assert views == {3}


def test_nucla_val_label_list_matches_our_test_split(shared_data, converted):
    import pickle

    path, _ = converted("nucla")
    dataset = DatasetFile(path)
    with (shared_data / "nucla/val_label.pkl").open("rb") as f:  # distributed with CTR-GCN: trusted
        reference = pickle.load(f)
    ours = {dataset.names[i]: int(dataset.labels[i]) for i in dataset.split_indices("xview/test")}
    assert {r["file_name"]: r["label"] - 1 for r in reference} == ours


def test_signs_crowd_signers_and_classes(converted):
    path, report = converted("signs")
    dataset = DatasetFile(path)
    assert report.samples == 1080 and dataset.classes == ["hello", "thanks", "iloveyou"]
    signers = {k: v for k, v in report.splits.items() if k.startswith("group/")}
    assert len(signers) == 12 and set(signers.values()) == {90}
    for signer in range(12):
        members = dataset.split_indices(f"signer{signer:02d}")
        assert len(members) == 90
        assert np.bincount(dataset.labels[members], minlength=3).tolist() == [30, 30, 30]
    assert dataset.layout_name == "mediapipe_holistic75"


def _label_audit() -> dict:
    import runpy
    from pathlib import Path

    return runpy.run_path(str(Path(__file__).parents[1] / "benchmarks/signs_label_audit.py"), run_name="audit")


def test_label_audit_finds_the_swapped_signer(converted, capsys):
    """signer03's thanks/iloveyou clips carry each other's handshapes (configs/signs/base.yaml relabels them)."""
    audit = _label_audit()
    verdicts = audit["main"](str(converted("signs")[0]))
    assert {(v.person, v.sign) for v in verdicts if v.flagged} == {("group/signer03", "thanks"),
                                                                    ("group/signer03", "iloveyou")}
    assert audit["swapped_pairs"](verdicts) == [("group/signer03", "iloveyou", "thanks")]
    assert "group/signer03   iloveyou and thanks swapped" in capsys.readouterr().out


@pytest.fixture(scope="module")
def signs_plus(shared_data, tmp_path_factory):
    """signs-crowd-plus converted once for this module."""
    out = tmp_path_factory.mktemp("signs_plus") / "signs_plus.bhd"
    source = shared_data / "signs-crowd-plus/signs_crowd_plus21.pkl"
    convert(source, "pyskl", out, workers=2, progress=False, trusted=True)
    return out


def test_label_audit_finds_a_swap_made_in_signs_crowd_plus(signs_plus):
    """Swapping one person's hello/thanks labels in memory (same open handshape, told apart by where the hand is):
    the audit names that person and both signs, and nobody new beside the one finding on the file as collected
    (signer18's "please" clips show a closed hand, as in "sorry")."""
    audit = _label_audit()
    dataset = DatasetFile(signs_plus)
    dataset.relabel("group/signer14", {"hello": "thanks", "thanks": "hello"})
    verdicts = audit["report"](dataset)
    assert audit["swapped_pairs"](verdicts) == [("group/signer14", "hello", "thanks")]
    assert {(v.person, v.sign) for v in verdicts if v.flagged} == {
        ("group/signer14", "hello"), ("group/signer14", "thanks"), ("group/signer18", "please")}


@pytest.mark.parametrize(("name", "classes", "samples"), [("mario", 3, 90), ("neat", 7, 210), ("msl", 5, 86)])
def test_mediapipe_raw_folders(converted, name, classes, samples):
    path, report = converted(name)
    assert report.classes == classes and report.samples == samples


@pytest.mark.parametrize("name", ["signs", "mario", "neat", "msl"])
def test_hands_land_in_the_same_hand_layout(converted, name):
    """In every MediaPipe source the left hand's wrist sits on pose landmark 15 (left wrist) and the right
    hand's on 16: the hand joints mean the same thing in all of them."""
    dataset = DatasetFile(converted(name)[0])
    split = body_hand_split(dataset.layout_name)
    pose = get_layout("mediapipe_pose33")
    distances = {"left": [], "right": []}
    for i in range(0, len(dataset), max(1, len(dataset) // 40)):
        s = dataset[i]
        pairs = (("left", split.left_hand, "left_wrist"), ("right", split.right_hand, "right_wrist"))
        for side, hand, pose_wrist in pairs:
            seen = s.scores[0, :, hand[0]] > 0
            wrist = s.keypoints[0, seen, pose.index(pose_wrist), :2]
            distances[side] += np.linalg.norm(s.keypoints[0, seen, hand[0], :2] - wrist, axis=-1).tolist()
    for side, values in distances.items():
        assert values, f"{name}: no {side} hand seen"
        assert np.median(values) < 0.06, f"{name}: {side} hand wrist is {np.median(values):.3f} from the pose wrist"


def test_dataset_over_real_signs_with_workers(converted):
    from torch.utils.data import DataLoader

    path, _ = converted("signs")
    dataset = BodyHandDataset(path, "signer03+signer07", train=True, seed=5)
    assert len(dataset) == 180 and set(dataset.groups) == {"signer03", "signer07"}
    body, hands, body_mask, hand_mask, label = next(iter(DataLoader(dataset, batch_size=8, num_workers=2)))
    assert body.shape == (8, 3, 64, 33, 2) and hands.shape == (8, 3, 64, 21, 4) and label.shape == (8,)
    single = [dataset[i] for i in range(8)]
    np.testing.assert_array_equal(body.numpy(), np.stack([b.numpy() for b, *_ in single]))
