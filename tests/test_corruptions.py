"""Test-time corruptions: noise scale, frame drop, lost hands, and their errors."""

import numpy as np
import pytest

from bharnet.data.corruptions import KINDS, Corruption, person_size
from bharnet.data.sample import Sample
from bharnet.errors import ConfigError
from bharnet.skeleton import body_hand_split

HOLISTIC = body_hand_split("mediapipe_holistic75")


def holistic_sample(frames: int = 30) -> Sample:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 2, (1, frames, 75, 3)).astype(np.float32)
    scores = np.ones((1, frames, 75), np.float32)
    scores[0, :, 40] = 0  # one joint never detected
    keypoints[0, :, 40] = 0
    return Sample(keypoints, scores, 1, "s")


def test_level_zero_is_the_identity():
    sample = holistic_sample()
    for kind in KINDS:
        assert Corruption(kind, 0.0, HOLISTIC)(sample, np.random.default_rng(1)) is sample


def test_noise_scales_with_person_size_and_spares_missing_joints():
    sample = holistic_sample()
    out = Corruption("noise", 0.05, HOLISTIC)(sample, np.random.default_rng(1))
    jitter = (out.keypoints - sample.keypoints)[sample.scores > 0]
    assert jitter.std() == pytest.approx(0.05 * person_size(sample.keypoints, sample.scores), rel=0.05)
    assert (out.keypoints[0, :, 40] == 0).all() and (out.scores == sample.scores).all()


@pytest.mark.parametrize(("kind", "part"), [("hand_noise", "hands"), ("body_noise", "body")])
def test_part_noise_moves_only_that_part(kind, part):
    sample = holistic_sample()
    out = Corruption(kind, 0.05, HOLISTIC)(sample, np.random.default_rng(1))
    moved = (out.keypoints != sample.keypoints).any(axis=(0, 1, 3))
    hands = np.zeros(75, bool)
    hands[list(HOLISTIC.left_hand + HOLISTIC.right_hand)] = True
    seen = (sample.scores[0] > 0).any(0)
    expected = (hands if part == "hands" else ~hands) & seen
    assert np.array_equal(moved, expected)


def test_frame_drop_removes_that_fraction_in_order():
    sample = holistic_sample()
    sample.keypoints[0, :, 0, 0] = np.arange(30)  # frame number in a coordinate
    out = Corruption("frame_drop", 0.5, HOLISTIC)(sample, np.random.default_rng(1))
    kept = out.keypoints[0, :, 0, 0]
    assert out.num_frames == 15 and (np.diff(kept) > 0).all()
    assert Corruption("frame_drop", 1.0, HOLISTIC)(sample, np.random.default_rng(1)).num_frames == 1


def test_hands_missing_removes_both_hands_and_keeps_the_body():
    sample = holistic_sample(200)
    out = Corruption("hands_missing", 0.5, HOLISTIC)(sample, np.random.default_rng(1))
    hands = list(HOLISTIC.left_hand + HOLISTIC.right_hand)
    lost = (out.scores[0][:, hands] == 0).all(1)
    assert 0.4 < lost.mean() < 0.6
    assert (out.keypoints[0][lost][:, hands] == 0).all()
    assert (out.keypoints[0][~lost] == sample.keypoints[0][~lost]).all()
    body = list(HOLISTIC.body)
    assert (out.keypoints[..., body, :] == sample.keypoints[..., body, :]).all()
    assert (sample.scores[0][:, hands[:5]] == 1).all()  # the input is not modified


def test_bad_corruptions_are_refused():
    with pytest.raises(ConfigError, match="choose one of"):
        Corruption("blur", 0.1, HOLISTIC)
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        Corruption("frame_drop", 1.5, HOLISTIC)
    with pytest.raises(ConfigError, match="no hand joints"):
        Corruption("hands_missing", 0.5, body_hand_split("ntu25"))
