import numpy as np
import pytest

from bharnet.data.protocols import NtuName, ntu_benchmark_names, ntu_splits, ntu_version
from bharnet.data.readers.ntu import read_ntu_skeleton, scan
from bharnet.errors import DataFormatError
from tests.skeleton_files import ntu_body_motion, two_actor_recording, write_ntu_skeleton

NAME = "S001C002P003R001A023"


def test_two_bodies_noise_body_and_empty_frame(tmp_path):
    path = two_actor_recording(tmp_path / f"{NAME}.skeleton")
    sample = read_ntu_skeleton(path)
    assert sample.keypoints.shape == (2, 40, 25, 3)
    assert sample.label == 22 and sample.name == NAME
    assert sample.meta["bodies_in_file"] == 3 and sample.meta["performer"] == 3 and sample.meta["camera"] == 2
    # the noise body (6 frames) is dropped; the most active actor comes first
    expected_first = ntu_body_motion(40, seed=1, amplitude=0.3)
    np.testing.assert_allclose(sample.keypoints[0, 0], expected_first[0], atol=1e-5)
    # the frame without bodies stays zero with zero scores
    assert not sample.keypoints[:, 5].any() and not sample.scores[:, 5].any()
    assert (sample.scores[:, 6] == 1.0).all()
    assert sample.extras["color_xy"].shape == (2, 40, 25, 2)


def test_single_body_gives_one_person(tmp_path):
    joints = ntu_body_motion(20, seed=4)
    path = write_ntu_skeleton(tmp_path / f"{NAME}.skeleton", [[("7", j)] for j in joints])
    sample = read_ntu_skeleton(path)
    assert sample.keypoints.shape == (1, 20, 25, 3)


def test_truncated_file_names_file_and_line(tmp_path):
    path = two_actor_recording(tmp_path / f"{NAME}.skeleton")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(DataFormatError) as info:
        read_ntu_skeleton(path)
    message = str(info.value)
    assert str(path) in message and ":100:" in message and "truncated" in message


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda lines: [], "empty file"),
        (lambda lines: ["abc", *lines[1:]], "expected an integer frame count"),
        (lambda lines: lines[:4] + ["nan nan nan 1 1 1 1 1 1 1 1 2"] + lines[5:], "NaN"),
        (lambda lines: lines[:3] + ["24"] + lines[4:], "expected 25 joints, found 24"),
        (lambda lines: lines[:4] + ["0.1 0.2"] + lines[5:], "expected 12 values, found 2"),
        (lambda lines: ["0"], "no frames"),
        (lambda lines: ["2", "0", "0"], "no body in any frame"),
    ],
)
def test_bad_files_raise_data_format_error(tmp_path, mutate, problem):
    path = two_actor_recording(tmp_path / f"{NAME}.skeleton")
    path.write_text("\n".join(mutate(path.read_text().splitlines())))
    with pytest.raises(DataFormatError, match=problem) as info:
        read_ntu_skeleton(path)
    assert str(path) in str(info.value)


def test_file_name_must_carry_the_label(tmp_path):
    path = two_actor_recording(tmp_path / "clip.skeleton")
    with pytest.raises(DataFormatError, match="not an NTU sample name"):
        read_ntu_skeleton(path)


def test_split_rules_on_names():
    names = ["S001C001P001R001A001", "S001C002P003R001A001", "S018C003P045R002A061", "S019C001P044R001A100"]
    assert ntu_version(names[:2]) == 60 and ntu_version(names) == 120
    sixty = ntu_splits(names[:2], 60)
    assert sixty["xsub/train"] == [0] and sixty["xsub/test"] == [1]
    assert sixty["xview/train"] == [1] and sixty["xview/test"] == [0]
    full = ntu_splits(names, 120)
    assert full["xsub/train"] == [0, 2] and full["xset/train"] == [2]
    assert NtuName.parse("S017C003P020R002A060").performer == 20


def test_scan_leaves_out_listed_missing_samples(tmp_path):
    for name in ("S001C001P001R001A001", "S001C001P002R001A002"):
        two_actor_recording(tmp_path / f"{name}.skeleton")
    missing = tmp_path / "missing.txt"
    missing.write_text("S001C001P002R001A002\n")
    source = scan(tmp_path, missing=missing)
    assert [p.name for p in source.items] == ["S001C001P001R001A001.skeleton"]
    assert source.options["version"] == 60 and len(source.classes) == 60


EXPECTED_COUNTS = {
    ("ntu60", 60): {"xsub": (40091, 16487), "xview": (37646, 18932)},
    ("ntu120", 120): {"xsub": (63026, 50919), "xset": (54468, 59477)},
}


@pytest.mark.parametrize(("folder", "version"), list(EXPECTED_COUNTS))
def test_benchmark_split_counts_from_real_metadata(shared_data, folder, version):
    root = shared_data / "ntu-metadata" / folder
    missing = next(root.glob("*missing_skeletons*.txt"))
    names = ntu_benchmark_names(root / "skes_available_name.txt", missing)
    assert ntu_version(names) == version
    splits = ntu_splits(names, version)
    for benchmark, (train, test) in EXPECTED_COUNTS[(folder, version)].items():
        assert (len(splits[f"{benchmark}/train"]), len(splits[f"{benchmark}/test"])) == (train, test)
    # the per-sample metadata files agree with what the names say
    performers = np.loadtxt(root / "performer.txt", dtype=int)
    available = (root / "skes_available_name.txt").read_text().split()
    assert [NtuName.parse(n).performer for n in available] == performers.tolist()
