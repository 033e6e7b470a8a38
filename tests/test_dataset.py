import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from bharnet.data import transforms as tf
from bharnet.data.dataset import BodyHandDataset
from bharnet.data.pipeline import PipelineConfig
from bharnet.data.sample import Sample
from bharnet.data.store import DatasetFile, write_dataset
from bharnet.errors import ConfigError, DataFormatError
from bharnet.skeleton import get_layout


def holistic_samples(count=6, frames=20, persons=1):
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        keypoints = rng.random((persons, frames + i, 75, 3), dtype=np.float32)
        scores = np.ones(keypoints.shape[:3], np.float32)
        keypoints[:, ::3, 33:54] = 0  # the left hand is missing in every third frame
        scores[:, ::3, 33:54] = 0
        samples.append(Sample(keypoints, scores, i % 3, f"s{i}", {"group": f"g{i % 2}"}))
    return samples


@pytest.fixture
def holistic_file(tmp_path):
    samples = holistic_samples()
    splits = {"train": [0, 1, 2, 3], "test": [4, 5]}
    return write_dataset(tmp_path / "d.bhd", samples, ["a", "b", "c"], splits, "mediapipe_holistic75")


def test_store_round_trip(holistic_file):
    dataset = DatasetFile(holistic_file)
    original = holistic_samples()
    assert len(dataset) == 6 and dataset.classes == ["a", "b", "c"]
    for i in (0, 5):
        np.testing.assert_array_equal(dataset[i].keypoints, original[i].keypoints)
        np.testing.assert_array_equal(dataset[i].scores, original[i].scores)
        assert dataset[i].meta == original[i].meta
    assert dataset.split_indices("train+test").tolist() == list(range(6))
    with pytest.raises(ConfigError, match="no split 'val'"):
        dataset.split_indices("val")
    assert "6 samples" in dataset.summary()


def test_relabel_swaps_classes_of_one_split_in_memory(holistic_file):
    dataset = DatasetFile(holistic_file)
    before = dataset.labels.copy()  # samples 0..5 have labels 0 1 2 0 1 2; train = 0..3
    changed = dataset.relabel("train", {"b": "c", "c": "b"})
    assert changed == 2 and dataset.labels.tolist() == [0, 2, 1, 0, 1, 2]
    assert dataset[1].label == 2 and dataset[4].label == 1  # the test split keeps its labels
    assert BodyHandDataset(dataset, "train").labels.tolist() == [0, 2, 1, 0]
    np.testing.assert_array_equal(DatasetFile(holistic_file).labels, before)  # the file is unchanged
    with pytest.raises(ConfigError, match="unknown class.*'?zebra"):
        dataset.relabel("train", {"a": "zebra"})
    with pytest.raises(ConfigError, match="no split 'val'"):
        dataset.relabel("val", {"a": "b"})


def test_store_rejects_bad_input(tmp_path):
    samples = holistic_samples(2)
    with pytest.raises(DataFormatError, match="joints"):
        write_dataset(tmp_path / "x.bhd", samples, ["a"], {}, "ntu25")
    with pytest.raises(DataFormatError, match="outside the 1 classes"):
        write_dataset(tmp_path / "x.bhd", samples, ["a"], {}, "mediapipe_holistic75")
    bad = tmp_path / "bad.bhd"
    bad.write_bytes(b"\x00" * 50)
    with pytest.raises(DataFormatError, match="not a bharnet dataset file") as info:
        DatasetFile(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(DataFormatError, match="not found"):
        DatasetFile(tmp_path / "absent.bhd")


def test_instances_arrangement(holistic_file):
    dataset = BodyHandDataset(holistic_file, "train", PipelineConfig(num_frames=16, max_persons=2))
    body, hands, body_mask, hand_mask, label = dataset[1]
    assert body.shape == (3, 16, 33, 2) and hands.shape == (3, 16, 21, 4) and label.dtype == torch.int64
    assert body_mask.shape == (16, 2) and hand_mask.shape == (16, 4)
    assert not body[..., 1].any() and not hands[..., 2:].any()  # the absent second person ...
    assert not body_mask[:, 1].any() and not hand_mask[:, 2:].any()  # ... is absent in the masks
    wrist = hands[:, :, 0, :2]
    assert torch.allclose(wrist, torch.zeros_like(wrist))  # wrist-relative
    assert dataset.num_classes == 3 and dataset.labels.tolist() == [0, 1, 2, 0]


def test_left_hands_are_mirrored(holistic_file):
    plain = BodyHandDataset(holistic_file, "all", PipelineConfig(num_frames=8, mirror_left=False, max_persons=1))
    mirrored = BodyHandDataset(holistic_file, "all", PipelineConfig(num_frames=8, max_persons=1))
    a, b = plain[0][1], mirrored[0][1]
    torch.testing.assert_close(b[0, ..., 0], -a[0, ..., 0])
    torch.testing.assert_close(b[:, ..., 1], a[:, ..., 1])


def test_graph42_and_options(holistic_file):
    config = PipelineConfig(num_frames=10, hand_arrangement="graph42", modality="BM", channels="xy_score",
                            max_persons=1, normalize="none", hand_normalize="none")
    body, hands, *_ = BodyHandDataset(holistic_file, "test", config)[0]
    assert body.shape == (3, 10, 33, 1) and hands.shape == (3, 10, 42, 1)
    assert set(hands[2].unique().tolist()) <= {0.0, 1.0}  # the score channel


def test_calibration_free_keeps_native_coordinates(holistic_file):
    config = PipelineConfig(num_frames=8, normalize="none", hand_normalize="none", mirror_left=False, max_persons=1)
    dataset = BodyHandDataset(holistic_file, "all", config)
    body, *_ = dataset[0]
    sample = DatasetFile(holistic_file)[0]
    frames = dataset.pipeline.sampler.indices(sample.scores, None)
    np.testing.assert_allclose(body[..., 0].permute(1, 2, 0).numpy(), sample.keypoints[0, frames, :33])


def test_augmentation_is_reproducible_and_worker_independent(holistic_file):
    config = PipelineConfig(num_frames=12, sampling="crop_resize", rotate_degrees=20, scale=(0.8, 1.2),
                            shear=0.1, drop_hands=0.3)
    dataset = BodyHandDataset(holistic_file, "all", config, train=True, seed=3)
    first = torch.cat([b.flatten() for b, *_ in DataLoader(dataset, batch_size=2, num_workers=2)])
    again = torch.cat([b.flatten() for b, *_ in DataLoader(dataset, batch_size=3, num_workers=0)])
    torch.testing.assert_close(first, again)
    dataset.set_epoch(1)
    other = torch.cat([b.flatten() for b, *_ in DataLoader(dataset, batch_size=3)])
    assert not torch.allclose(first, other)


def test_source_without_hands_yields_empty_hand_tensor(tmp_path):
    sample = Sample(np.ones((1, 10, 25, 3), np.float32), np.ones((1, 10, 25), np.float32), 0, "x")
    path = write_dataset(tmp_path / "ntu.bhd", [sample], ["a"], {}, "ntu25")
    body, hands, body_mask, hand_mask, _ = BodyHandDataset(path)[0]
    assert body.shape == (3, 64, 25, 2) and hands.shape == (3, 64, 0, 4)
    assert not hand_mask.any() and body_mask[:, 0].all()  # no hand joints: every hand absent


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="data.modality"):
        PipelineConfig(modality="joint")
    with pytest.raises(ConfigError, match="unknown data option"):
        PipelineConfig.from_dict({"frames": 3})
    assert PipelineConfig.from_dict({"scale": [0.9, 1.1]}).scale == (0.9, 1.1)


def left_handed_clip(frames=12):
    """A MediaPipe clip in which only the left hand is seen and moves; the right arm hangs still."""
    rng = np.random.default_rng(1)
    keypoints = np.zeros((1, frames, 75, 3), np.float32)
    keypoints[0, :, :33, :2] = rng.uniform(0.3, 0.7, (33, 2))  # a still body
    keypoints[0, :, 33:54, :2] = rng.uniform(0.6, 0.8, (21, 2)) + np.linspace(0, 0.2, frames)[:, None, None]
    scores = np.zeros((1, frames, 75), np.float32)
    scores[0, :, :54] = 1
    return Sample(keypoints, scores, 0, "lefty")


def test_dominant_right_mirrors_left_handed_clips_only(tmp_path):
    lefty = left_handed_clip()
    righty = Sample(lefty.keypoints.copy(), lefty.scores.copy(), 0, "righty")
    mirror = tf.Mirror(tf.mirrored_joints(get_layout("mediapipe_holistic75")), (np.arange(75),))
    righty.keypoints, righty.scores = mirror(lefty.keypoints, lefty.scores)
    path = write_dataset(tmp_path / "h.bhd", [lefty, righty], ["a"], {}, "mediapipe_holistic75")
    config = PipelineConfig(num_frames=12, max_persons=1, normalize="shoulders", handedness="dominant_right")
    canonical = BodyHandDataset(path, "all", config)
    as_recorded = BodyHandDataset(path, "all", PipelineConfig(num_frames=12, max_persons=1, normalize="shoulders"))
    for index in (0, 1):  # both become the right-handed clip, which is left as it is
        body, hands, body_mask, hand_mask, _ = canonical[index]
        assert hand_mask[:, 1].all() and not hand_mask[:, 0].any()  # the busy hand sits in the right slot
        torch.testing.assert_close(body, as_recorded[1][0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(hands, as_recorded[1][1], atol=1e-5, rtol=1e-5)
    assert as_recorded[0][3][:, 0].all()  # as recorded, the left clip keeps its left hand


def test_random_mirror_flips_about_half_the_training_samples(holistic_file):
    config = PipelineConfig(num_frames=8, max_persons=1, mirror=0.5)
    dataset = BodyHandDataset(holistic_file, "all", config, train=True, seed=0)
    plain = BodyHandDataset(holistic_file, "all", PipelineConfig(num_frames=8, max_persons=1), train=True, seed=0)
    # the left hand is missing in every third frame: a mirrored sample has the gaps in its right hand
    flipped = [not bool(dataset[i][3][:, 1].all()) for i in range(len(dataset))]
    assert 0 < sum(flipped) < len(flipped)
    assert not any(not bool(plain[i][3][:, 1].all()) for i in range(len(plain)))
    with pytest.raises(ConfigError, match="data.mirror"):
        PipelineConfig(mirror=1.0)
    with pytest.raises(ConfigError, match="data.handedness"):
        PipelineConfig(handedness="left")
