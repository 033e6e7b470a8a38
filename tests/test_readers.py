"""Every reader: a good file parses; an empty, truncated, NaN-filled or wrong-shape one raises
DataFormatError naming the file and the problem."""

import json
import pickle

import numpy as np
import pytest

from bharnet.data.readers.mediapipe import FRAME_VECTORS, decode_frames, read_sequence
from bharnet.data.readers.mediapipe import scan as scan_mediapipe
from bharnet.data.readers.nucla import read_nucla_json
from bharnet.data.readers.pkummd import read_pku_video
from bharnet.data.readers.pyskl import scan as scan_pyskl
from bharnet.errors import DataFormatError


# ------------------------------------------------------------------------------------------- N-UCLA
def nucla_record(frames=12):
    skeleton = np.random.default_rng(0).normal(size=(frames, 20, 3)).round(4).tolist()
    return {"file_name": "a08_s02_e01_v03", "skeletons": skeleton, "label": 7}


def test_nucla_good_file(tmp_path):
    path = tmp_path / "a08_s02_e01_v03.json"
    path.write_text(json.dumps(nucla_record()))
    sample = read_nucla_json(path)
    assert sample.keypoints.shape == (1, 12, 20, 3) and sample.label == 6
    assert sample.meta == {"action": 8, "subject": 2, "episode": 1, "view": 3, "group": "s02"}


NUCLA_BAD = {
    "empty": lambda r: "",
    "truncated": lambda r: json.dumps(r)[:200],
    "nan": lambda r: json.dumps({**r, "skeletons": [[[float("nan")] * 3] * 20] * 3}),
    "wrong shape": lambda r: json.dumps({**r, "skeletons": [[[0.1] * 3] * 19] * 3}),
    "ragged": lambda r: json.dumps({**r, "skeletons": [[[0.1] * 3] * 20, [[0.1] * 3] * 19]}),
    "bad label": lambda r: json.dumps({**r, "label": 11}),
    "no frames": lambda r: json.dumps({**r, "skeletons": []}),
}
NUCLA_PROBLEM = {
    "empty": "invalid JSON", "truncated": "invalid JSON", "nan": "NaN", "wrong shape": r"\[T\]\[20\]\[3\]",
    "ragged": "regular", "bad label": "label 11", "no frames": "T > 0",
}


@pytest.mark.parametrize("case", sorted(NUCLA_BAD))
def test_nucla_bad_files(tmp_path, case):
    path = tmp_path / "a08_s02_e01_v03.json"
    path.write_text(NUCLA_BAD[case](nucla_record()))
    with pytest.raises(DataFormatError, match=NUCLA_PROBLEM[case]) as info:
        read_nucla_json(path)
    assert str(path) in str(info.value)


# -------------------------------------------------------------------------------------------- pyskl
def pyskl_data(samples=4):
    rng = np.random.default_rng(1)
    annotations = [
        {
            "frame_dir": f"clip{i}", "label": i % 2, "total_frames": 8, "img_shape": (1, 1), "signer": f"s{i % 2}",
            "keypoint": rng.random((1, 8, 17, 2), dtype=np.float32),
            "keypoint_score": rng.random((1, 8, 17), dtype=np.float32),
        }
        for i in range(samples)
    ]
    return {"split": {"train": ["clip0", "clip1"], "test": ["clip2", "clip3"]}, "annotations": annotations}


def write_pickle(path, data):
    path.write_bytes(pickle.dumps(data))
    return path


def test_pyskl_good_file(tmp_path):
    source = scan_pyskl(write_pickle(tmp_path / "a.pkl", pyskl_data()), trusted=True)
    assert source.layout == "coco17" and source.classes == ["class_0", "class_1"]
    samples = [s for item in source.items for s in source.read_item(item)]
    splits = source.make_splits(samples)
    assert splits["train"] == [0, 1] and splits["group/s1"] == [1, 3]


def test_pyskl_refuses_untrusted_pickles(tmp_path):
    path = write_pickle(tmp_path / "a.pkl", pyskl_data())
    with pytest.raises(DataFormatError, match="run arbitrary code") as info:
        scan_pyskl(path)
    assert str(path) in str(info.value)


def _pyskl_nan(data):
    data["annotations"][1]["keypoint"][0, 3, 2, 0] = np.nan
    return pickle.dumps(data)


def _pyskl_shape(data):
    data["annotations"][2]["keypoint"] = np.zeros((8, 17, 2), np.float32)
    return pickle.dumps(data)


def _pyskl_scores(data):
    data["annotations"][0]["keypoint_score"] = np.zeros((1, 8, 16), np.float32)
    return pickle.dumps(data)


PYSKL_BAD = {
    "empty": (lambda d: b"", "not a readable pickle"),
    "truncated": (lambda d: pickle.dumps(d)[:300], "not a readable pickle"),
    "nan": (_pyskl_nan, "NaN"),
    "wrong shape": (_pyskl_shape, r"\(M, T, V, C\)"),
    "scores shape": (_pyskl_scores, "do not match"),
    "no annotations": (lambda d: pickle.dumps({"annotations": []}), "empty"),
    "unknown split member": (lambda d: pickle.dumps({**d, "split": {"x": ["nope"]}}), "unknown samples"),
}


@pytest.mark.parametrize("case", sorted(PYSKL_BAD))
def test_pyskl_bad_files(tmp_path, case):
    make, problem = PYSKL_BAD[case]
    path = tmp_path / "bad.pkl"
    path.write_bytes(make(pyskl_data()))
    with pytest.raises(DataFormatError, match=problem) as info:
        source = scan_pyskl(path, trusted=True)
        source.make_splits([s for item in source.items for s in source.read_item(item)])
    assert str(path) in str(info.value)


# ------------------------------------------------------------------------------------------ PKU-MMD
def write_pku(tmp_path, frames=30, labels="3,2,9,1\n51,10,25,2\n"):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(frames, 150)).round(4)
    values[:, 75:] = 0  # the second person is absent
    skeleton = tmp_path / "0002-L.txt"
    skeleton.write_text("\n".join(" ".join(str(v) for v in row) for row in values) + "\n")
    label = tmp_path / "0002-L.labels.txt"
    label.write_text(labels)
    return skeleton, label, values


def test_pku_cuts_labelled_segments(tmp_path):
    skeleton, label, values = write_pku(tmp_path)
    first, second = read_pku_video(skeleton, label)
    assert first.label == 2 and first.keypoints.shape == (1, 8, 25, 3)
    np.testing.assert_allclose(first.keypoints[0, 0], values[2, :75].reshape(25, 3), atol=1e-5)
    assert second.label == 50 and second.num_frames == 16
    assert first.meta["view"] == "L" and first.meta["group"] == "2" and first.name == "0002-L_000"


def test_pku_takes_persons_by_content_not_slot(tmp_path):
    """An actor recorded only in the second slot is the sample's one person, not a zero first slot."""
    skeleton, label, values = write_pku(tmp_path)
    moved = np.concatenate([np.zeros_like(values[:, :75]), values[:, :75]], axis=1)
    skeleton.write_text("\n".join(" ".join(str(v) for v in row) for row in moved) + "\n")
    first, _ = read_pku_video(skeleton, label)
    assert first.keypoints.shape == (1, 8, 25, 3) and first.scores.all()
    np.testing.assert_allclose(first.keypoints[0, 0], values[2, :75].reshape(25, 3), atol=1e-5)


PKU_BAD = {
    "nobody in the interval": ("skeleton", lambda text: "\n".join(" ".join(["0"] * 150) for _ in range(30)),
                               "no person in any frame"),
    "empty": ("skeleton", lambda text: "", "empty file"),
    "truncated": ("skeleton", lambda text: text[: len(text) // 2 + 7], "expected 150 values"),
    "nan": ("skeleton", lambda text: text.replace(text.split()[5], "nan", 1), "NaN"),
    "wrong shape": ("skeleton", lambda text: "\n".join(r.split(" ", 75)[0] for r in text.splitlines()), "expected 150"),
    "bad label line": ("label", lambda text: "3,two,9,1\n", "expected 'label,start,end"),
    "label out of range": ("label", lambda text: "52,1,9,1\n", "bad interval"),
    "interval past the end": ("label", lambda text: "3,100,120,1\n", "starts at frame 100"),
}


@pytest.mark.parametrize("case", sorted(PKU_BAD))
def test_pku_bad_files(tmp_path, case):
    which, mutate, problem = PKU_BAD[case]
    skeleton, label, _ = write_pku(tmp_path)
    target = skeleton if which == "skeleton" else label
    target.write_text(mutate(target.read_text()))
    with pytest.raises(DataFormatError, match=problem) as info:
        read_pku_video(skeleton, label)
    assert str(target) in str(info.value)


# ---------------------------------------------------------------------------------------- MediaPipe
def write_sequence(folder, length, frames=5, seed=3):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for t in range(frames):
        np.save(folder / f"{t}.npy", rng.random(length))
    return folder


@pytest.mark.parametrize("length", sorted(FRAME_VECTORS))
def test_mediapipe_every_vector_layout_decodes(tmp_path, length):
    folder = write_sequence(tmp_path / "hello" / "0", length)
    sample = read_sequence(folder, label=0)
    assert sample.keypoints.shape == (1, 5, 75, 3) and sample.name == "hello/0"
    assert sample.meta["vector"] == str(length)
    assert (sample.scores[0, :, 33:] == 1).all()


def test_mediapipe_decoding_puts_hands_in_place():
    vector = FRAME_VECTORS[258]
    frame = np.zeros((1, 258))
    frame[0, :132] = np.tile([0.5, 0.5, 0.0, 0.9], 33)
    frame[0, 132:195] = np.tile([0.1, 0.2, 0.3], 21)  # left hand
    keypoints, scores = decode_frames(frame, vector)
    np.testing.assert_allclose(keypoints[0, 33], [0.1, 0.2, 0.3])
    assert (scores[0, 33:54] == 1).all() and (scores[0, 54:] == 0).all()
    np.testing.assert_allclose(scores[0, :33], 0.9)


def test_mediapipe_frames_sort_numerically(tmp_path):
    folder = write_sequence(tmp_path / "a" / "0", 258, frames=12)
    sample = read_sequence(folder, 0)
    np.testing.assert_allclose(sample.keypoints[0, 10, 33], np.load(folder / "10.npy")[132:135], atol=1e-6)


def _mp_write(name, array):
    def write(folder):
        np.save(folder / name, array)
        return folder / name
    return write


def _mp_truncate(folder):
    target = folder / "2.npy"
    target.write_bytes(target.read_bytes()[:100])
    return target


def _mp_empty(folder):
    target = folder / "2.npy"
    target.write_bytes(b"")
    return target


MEDIAPIPE_BAD = {
    "empty": (_mp_empty, "not a readable .npy"),
    "truncated": (_mp_truncate, "not a readable .npy"),
    "nan": (_mp_write("3.npy", np.full(258, np.nan)), "NaN"),
    "wrong shape": (_mp_write("1.npy", np.zeros((2, 129))), "one flat vector"),
    "unknown length": (_mp_write("0.npy", np.zeros(100)), "matches no known layout"),
    "mixed lengths": (_mp_write("4.npy", np.zeros(1662)), "expected 258"),
}


@pytest.mark.parametrize("case", sorted(MEDIAPIPE_BAD))
def test_mediapipe_bad_files(tmp_path, case):
    folder = write_sequence(tmp_path / "hello" / "0", 258)
    mutate, problem = MEDIAPIPE_BAD[case]
    target = mutate(folder)
    with pytest.raises(DataFormatError, match=problem) as info:
        read_sequence(folder, 0)
    assert str(target) in str(info.value)


def test_mediapipe_empty_sequence_folder_and_explicit_vector(tmp_path):
    (tmp_path / "hello" / "0").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="no .npy frame files"):
        read_sequence(tmp_path / "hello" / "0", 0)
    write_sequence(tmp_path / "bye" / "0", 258)
    source = scan_mediapipe(tmp_path, vector=1662)
    with pytest.raises(DataFormatError, match="expected 1662"):
        source.read_item(source.items[0])
