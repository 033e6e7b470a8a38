"""Property-based tests: every reader and `bharnet convert` on damaged files.

Each damaged input must end in one of our errors naming the file, or in a valid sample (finite arrays of
the documented shapes); never a hang, a raw traceback or an array that silently breaks the shape contract.
Damage: truncation, byte flips, NaN/inf and absurd numbers in place of a value, removed values (wrong vector
lengths), empty files. Examples per test are fixed and derandomized so the suite time is bounded.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bharnet.data.convert import convert
from bharnet.data.readers import mediapipe, pyskl
from bharnet.data.readers.ntu import read_ntu_skeleton
from bharnet.data.readers.nucla import read_nucla_json
from bharnet.data.readers.pkummd import read_pku_video
from bharnet.data.sample import Sample
from bharnet.data.store import DatasetFile
from bharnet.errors import BharnetError
from tests.skeleton_files import ntu_body_motion, write_ntu_skeleton

EXAMPLES = 60
# a generous per-example deadline: a hang still fails, a loaded CI machine does not
FUZZ = settings(max_examples=EXAMPLES, deadline=30_000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BAD_VALUES = [b"nan", b"inf", b"-inf", b"1e999", b"99999999999999999999", b"-1", b"0", b"x", b"", b"1e-320"]


@st.composite
def damage(draw) -> Callable[[bytes], bytes]:
    """One way of damaging a file's bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "value", "drop", "empty"]))
    if kind == "empty":
        return lambda data: b""
    # position 0 often: the first token of a text format is a count (frames, bodies), the absurd-size case
    where = draw(st.one_of(st.just(0.0), st.floats(0, 1, exclude_max=True)))
    if kind == "truncate":
        return lambda data: data[: int(len(data) * where)]
    if kind == "flip":
        count = draw(st.integers(1, 8))
        flips = draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                              min_size=count, max_size=count))

        def flip(data: bytes) -> bytes:
            out = bytearray(data)
            for position, mask in flips:
                out[int(len(out) * position)] ^= mask
            return bytes(out)

        return flip
    value = draw(st.sampled_from(BAD_VALUES))

    def replace_token(data: bytes) -> bytes:
        """Replace (``value``) or remove (``drop``) one whitespace- or comma-separated token."""
        tokens = data.replace(b",", b" , ").split(b" ")
        index = int(len(tokens) * where)
        tokens[index : index + 1] = [] if kind == "drop" else [value]
        return b" ".join(tokens).replace(b" , ", b",")

    return replace_token


def check_outcome(read: Callable[[], list[Sample]], damaged: Path, num_joints: int, unit: Path | None = None) -> str:
    """'error' (ours, naming the damaged file, or ``unit``: the folder a reader takes as one sample) or 'sample'
    (valid arrays); anything else fails the test."""
    try:
        samples = read()
    except BharnetError as error:
        assert str(damaged) in str(error) or (unit is not None and str(unit) in str(error)), str(error)
        return "error"
    assert samples
    for sample in samples:
        assert sample.keypoints.ndim == 4 and sample.keypoints.shape[2] == num_joints
        assert sample.scores.shape == sample.keypoints.shape[:3]
        assert np.isfinite(sample.keypoints).all() and np.isfinite(sample.scores).all()
        assert sample.label >= 0 and sample.num_frames > 0 and sample.num_persons > 0
    return "sample"


def fuzz_file(folder: Path, name: str, good: bytes, harm: Callable[[bytes], bytes]) -> Path:
    path = folder / name
    path.write_bytes(harm(good))
    return path


NTU_NAME = "S001C001P001R001A010.skeleton"


def ntu_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        motion = ntu_body_motion(14, seed=1, amplitude=0.3)
        path = write_ntu_skeleton(Path(folder) / NTU_NAME, [[("1", motion[t])] for t in range(14)])
        return path.read_bytes()


NTU_GOOD = ntu_bytes()
NUCLA_GOOD = json.dumps({"file_name": "a01_s01_e01_v01", "label": 1,
                         "skeletons": np.round(np.random.default_rng(0).random((4, 20, 3)), 3).tolist()}).encode()
PKU_SKELETON = "\n".join(" ".join(f"{v:.3f}" for v in row)
                         for row in np.random.default_rng(1).normal(size=(12, 150))).encode() + b"\n"
PKU_LABELS = b"3,2,9,1\n51,4,11,2\n"
PYSKL_GOOD = pickle.dumps({
    "split": {"train": ["s0"], "test": ["s1"]},
    "annotations": [{"frame_dir": f"s{k}", "label": k, "signer": "p1",
                     "keypoint": np.round(np.random.default_rng(k).random((1, 3, 17, 2)), 3).tolist(),
                     "keypoint_score": [[[0.9] * 17] * 3]} for k in range(2)],
}, protocol=4)  # plain lists: the pickle names no class to import


@FUZZ
@given(harm=damage())
def test_ntu_reader_on_damaged_files(harm):
    with tempfile.TemporaryDirectory() as folder:
        path = fuzz_file(Path(folder), NTU_NAME, NTU_GOOD, harm)
        check_outcome(lambda: [read_ntu_skeleton(path)], path, 25)


@FUZZ
@given(harm=damage())
def test_nucla_reader_on_damaged_files(harm):
    with tempfile.TemporaryDirectory() as folder:
        path = fuzz_file(Path(folder), "a01_s01_e01_v01.json", NUCLA_GOOD, harm)
        check_outcome(lambda: [read_nucla_json(path)], path, 20)


@FUZZ
@given(harm=damage(), labels=st.booleans())
def test_pku_reader_on_damaged_files(harm, labels):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        skeleton = fuzz_file(folder, "0002-L.txt", PKU_SKELETON, (lambda d: d) if labels else harm)
        label = fuzz_file(folder, "0002-L.labels.txt", PKU_LABELS, harm if labels else (lambda d: d))
        check_outcome(lambda: read_pku_video(skeleton, label), label if labels else skeleton, 25)


@FUZZ
@given(harm=damage(), frame=st.integers(0, 2))
def test_mediapipe_reader_on_damaged_frames(harm, frame):
    with tempfile.TemporaryDirectory() as folder:
        sequence = Path(folder) / "hello" / "0"
        sequence.mkdir(parents=True)
        rng = np.random.default_rng(frame)
        for t in range(3):
            np.save(sequence / f"{t}.npy", rng.random(258))
        damaged = sequence / f"{frame}.npy"
        damaged.write_bytes(harm(damaged.read_bytes()))
        check_outcome(lambda: [mediapipe.read_sequence(sequence, 0)], damaged, 75, unit=sequence)


@FUZZ
@given(harm=damage())
def test_pyskl_reader_on_damaged_pickles(harm):
    with tempfile.TemporaryDirectory() as folder:
        path = fuzz_file(Path(folder), "data.pkl", PYSKL_GOOD, harm)

        def read() -> list[Sample]:
            source = pyskl.scan(path, trusted=True, layout="coco17")
            source.make_splits(source.items)
            return source.items

        check_outcome(read, path, 17)


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(harm=damage(), on_error=st.sampled_from(["stop", "skip"]))
def test_convert_on_a_folder_with_a_damaged_file(harm, on_error):
    """convert stops with our error naming the file, or skips it and says so, or writes a valid dataset."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "skeletons"
        source.mkdir()
        for name in ("S001C001P001R001A010", "S001C002P002R001A011"):
            (source / f"{name}.skeleton").write_bytes(NTU_GOOD)
        damaged = fuzz_file(source, "S002C003P003R002A010.skeleton", NTU_GOOD, harm)
        out = Path(folder) / "out.bhd"
        try:
            report = convert(source, "ntu", out, workers=1, on_error=on_error, progress=False)
        except BharnetError as error:
            assert str(damaged) in str(error) and on_error == "stop" and not out.exists(), str(error)
            return
        dataset = DatasetFile(out)
        assert len(dataset) == report.samples == 3 - len(report.skipped)
        assert all(str(damaged) in problem for problem in report.skipped)
        for index in range(len(dataset)):
            assert np.isfinite(dataset[index].keypoints).all()
