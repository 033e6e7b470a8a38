import numpy as np
import pytest

from bharnet.data import transforms as tf
from bharnet.errors import ConfigError
from bharnet.skeleton import get_layout


def scores_for(frames, valid=slice(None), persons=1, joints=3):
    scores = np.zeros((persons, frames, joints), np.float32)
    scores[:, valid] = 1
    return scores


def test_uniform_sample_covers_the_valid_range(rng):
    scores = scores_for(100, slice(10, 90))
    sampler = tf.UniformSample(16)
    for generator in (None, rng):
        idx = sampler.indices(scores, generator)
        assert len(idx) == 16 and idx.min() >= 10 and idx.max() < 90
        assert (np.diff(idx) > 0).all()
    np.testing.assert_array_equal(sampler.indices(scores, None), sampler.indices(scores, None))


def test_uniform_sample_repeats_short_clips_in_order():
    idx = tf.UniformSample(8).indices(scores_for(3), None)
    assert len(idx) == 8 and set(idx.tolist()) == {0, 1, 2} and (np.diff(idx) >= 0).all()


def test_crop_resize_window(rng):
    scores = scores_for(50)
    sampler = tf.CropResize(20, ratio=(0.5, 0.5))
    idx = sampler.indices(scores, rng)
    assert len(idx) == 20 and idx.max() - idx.min() == 24  # a 25-frame window
    eval_idx = sampler.indices(scores, None)
    assert eval_idx[0] == 0 and eval_idx[-1] == 49
    with pytest.raises(ConfigError):
        tf.make_sampler("random", 10)


def rotated_skeleton(rng):
    """An NTU skeleton standing along y, then rotated and shifted arbitrarily."""
    layout = get_layout("ntu25")
    joints = rng.normal(scale=0.05, size=(1, 4, 25, 3))
    joints[..., layout.index("spine_base"), :] = 0
    joints[..., layout.index("spine_shoulder"), :] = [0, 0.5, 0]
    joints[..., layout.index("left_shoulder"), :] = [-0.2, 0.5, 0]
    joints[..., layout.index("right_shoulder"), :] = [0.2, 0.5, 0]
    angle = 0.7
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    return layout, joints @ (tilt @ rotation).T + [1.0, 2.0, 3.0]


def test_canonical_normalization_centres_and_aligns(rng):
    layout, joints = rotated_skeleton(rng)
    scores = np.ones(joints.shape[:3], np.float32)
    out = tf.CanonicalNormalize(layout)(joints, scores)
    frame = out[0, 0]
    np.testing.assert_allclose(frame[layout.index("spine_base")], 0, atol=1e-6)
    np.testing.assert_allclose(frame[layout.index("spine_shoulder")], [0, 0.5, 0], atol=1e-5)
    np.testing.assert_allclose(frame[layout.index("right_shoulder")] - frame[layout.index("left_shoulder")],
                               [0.4, 0, 0], atol=1e-5)
    # distances are preserved (rigid transform)
    np.testing.assert_allclose(np.linalg.norm(out[0, 2, 7] - out[0, 2, 3]),
                               np.linalg.norm(joints[0, 2, 7] - joints[0, 2, 3]), rtol=1e-5)


def test_canonical_normalization_keeps_missing_joints_zero(rng):
    layout, joints = rotated_skeleton(rng)
    scores = np.ones(joints.shape[:3], np.float32)
    scores[0, 1] = 0
    joints[0, 1] = 0
    out = tf.CanonicalNormalize(layout)(joints, scores)
    assert not out[0, 1].any()


def test_canonical_2d_makes_the_spine_vertical():
    layout = get_layout("coco17")
    joints = np.zeros((1, 1, 17, 2))
    corners = {"left_hip": (1, 1), "right_hip": (1, 3), "left_shoulder": (3, 1), "right_shoulder": (3, 3)}
    for name, xy in corners.items():
        joints[0, 0, layout.index(name)] = xy
    out = tf.CanonicalNormalize(layout)(joints, np.ones((1, 1, 17)))
    up = out[0, 0, 5:7].mean(0) - out[0, 0, 11:13].mean(0)
    np.testing.assert_allclose(up / np.linalg.norm(up), [0, 1], atol=1e-6)


def test_shoulder_frame_is_the_same_for_a_near_and_a_far_person(rng):
    layout = get_layout("mediapipe_pose33")
    left, right = layout.indices(layout.across)
    near = rng.normal(0.5, 0.1, (1, 6, 33, 3)).astype(np.float32)
    near[0, :, left, :2], near[0, :, right, :2] = (0.6, 0.5), (0.4, 0.52)
    scores = np.ones((1, 6, 33), np.float32)
    scores[0, 2:, 5] = 0  # a joint lost in some frames stays zero
    # the same person further away (half size) and elsewhere in the image
    far = near.copy()
    far[..., :2] = near[..., :2] * 0.5 + 0.2
    far[..., 2] = near[..., 2] * 0.5
    frame = tf.ShoulderNormalize(layout)
    a, b = frame(near, scores), frame(far, scores)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # as in the canonical frame, left to right shoulder is +x: centred, level, one shoulder width apart
    np.testing.assert_allclose(a[0, :, left, :2], np.tile([-0.5, 0.0], (6, 1)), atol=1e-5)
    np.testing.assert_allclose(a[0, :, right, :2], np.tile([0.5, 0.0], (6, 1)), atol=1e-5)
    assert (a[0, 2:, 5] == 0).all()
    # no shoulders seen at all: the frame cannot be made, the keypoints are left as they are
    none = np.zeros_like(scores)
    np.testing.assert_array_equal(frame(near, none), near)


def test_hand_normalization_wrist_origin_palm_unit(rng):
    hands = rng.normal(size=(2, 3, 21, 3)) * 0.1 + 5
    scores = np.ones(hands.shape[:3])
    scores[1, 2] = 0
    out = tf.HandNormalize()(hands, scores)
    np.testing.assert_allclose(out[0, :, 0], 0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out[0, :, 9], axis=-1), 1, rtol=1e-5)
    assert not out[1, 2].any()


def test_upright_hands_lose_the_roll_and_keep_the_shape(rng):
    """Turning a hand in the image plane changes nothing upright; the palm points along +y, sizes stay."""
    hands = rng.normal(size=(2, 3, 21, 3)) * 0.1 + 5
    scores = np.ones(hands.shape[:3])
    scores[1, 2] = 0
    upright = tf.HandNormalize(upright=True)
    out = upright(hands, scores)
    palm = out[0, :, 9]
    np.testing.assert_allclose(palm[:, 0], 0, atol=1e-5)
    assert (palm[:, 1] > 0).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(tf.HandNormalize()(hands, scores), axis=-1),
                               rtol=1e-5, atol=1e-6)
    angle = 1.1
    turn = np.eye(3)
    turn[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    np.testing.assert_allclose(upright(hands @ turn.T, scores), out, atol=1e-5)
    assert not out[1, 2].any()

def test_mirror_and_mask():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 4, 3)
    mirrored = tf.mirror_x(x)
    np.testing.assert_array_equal(mirrored[..., 0], -x[..., 0])
    np.testing.assert_array_equal(mirrored[..., 1:], x[..., 1:])
    masked = tf.mask_missing(x, np.array([[[1, 0, 1, 0]]], np.float32))
    assert not masked[0, 0, 1].any() and masked[0, 0, 2].any()


def test_random_affine_is_linear_and_bounded(rng):
    affine = tf.RandomAffine(rotate_degrees=30, scale=(0.9, 1.1), shear=0.1)
    matrix = affine.matrix(rng, 3)
    assert matrix.shape == (3, 3) and 0.7 < abs(np.linalg.det(matrix)) ** (1 / 3) < 1.3
    assert not tf.RandomAffine().active and affine.active
    np.testing.assert_allclose(tf.RandomAffine().matrix(rng, 2), np.eye(2))


def test_drop_frames_removes_whole_frames(rng):
    scores = np.ones((2, 200, 21))
    dropped = tf.drop_frames(scores, 0.3, rng)
    per_frame = dropped.max(axis=(0, 2))
    assert 0.2 < 1 - per_frame.mean() < 0.4
    assert ((dropped == 0).all(axis=(0, 2)) | (dropped == 1).all(axis=(0, 2))).all()


def test_modalities():
    layout = get_layout("hand21")
    rng = np.random.default_rng(1)
    joints = rng.normal(size=(1, 4, 21, 3)).astype(np.float32)
    scores = np.ones((1, 4, 21), np.float32)
    scores[0, 2, 8] = 0  # index fingertip missing in frame 2
    j = tf.modality(joints, scores, layout, "J")
    np.testing.assert_array_equal(j, joints)
    b = tf.modality(joints, scores, layout, "B")
    np.testing.assert_array_equal(b[..., 0, :], 0)  # the root's bone
    np.testing.assert_allclose(b[0, 0, 8], joints[0, 0, 8] - joints[0, 0, 7])
    assert not b[0, 2, 8].any()
    jm = tf.modality(joints, scores, layout, "JM")
    np.testing.assert_allclose(jm[0, 0], joints[0, 1] - joints[0, 0])
    assert not jm[0, -1].any() and not jm[0, 1, 8].any() and not jm[0, 2, 8].any()
    bm = tf.modality(joints, scores, layout, "BM")
    np.testing.assert_allclose(bm[0, 0], b[0, 1] - b[0, 0], atol=1e-6)
    with pytest.raises(ConfigError, match="modality"):
        tf.modality(joints, scores, layout, "X")


def test_mirrored_joints_swap_left_and_right_by_name():
    layout = get_layout("mediapipe_holistic75")
    permutation = tf.mirrored_joints(layout)
    np.testing.assert_array_equal(permutation[permutation], np.arange(layout.num_joints))  # an involution
    assert permutation[layout.index("left_wrist")] == layout.index("right_wrist")
    assert permutation[layout.index("left_hand_index_tip")] == layout.index("right_hand_index_tip")
    assert permutation[layout.index("nose")] == layout.index("nose")
    ntu = get_layout("ntu25")
    assert tf.mirrored_joints(ntu)[ntu.index("spine_mid")] == ntu.index("spine_mid")


def test_mirror_reflects_about_the_centre_and_keeps_missing_joints_zero(rng):
    layout = get_layout("ntu25")
    keypoints = rng.normal(size=(1, 6, 25, 3)).astype(np.float32)
    scores = np.ones((1, 6, 25), np.float32)
    scores[0, 2, 7] = 0  # left hand missing in frame 2
    keypoints[0, 2, 7] = 0
    mirror = tf.Mirror(tf.mirrored_joints(layout), (np.arange(25),))
    flipped, flipped_scores = mirror(keypoints, scores)
    right_hand = layout.index("right_hand")
    assert flipped_scores[0, 2, right_hand] == 0 and not flipped[0, 2, right_hand].any()
    seen = scores[..., None] > 0
    centre = keypoints[..., 0][scores > 0].mean()
    np.testing.assert_allclose(flipped[0, :, right_hand, 0][1], 2 * centre - keypoints[0, 1, 7, 0], rtol=1e-5)
    np.testing.assert_array_equal(flipped[..., 1:], keypoints[:, :, mirror.permutation, 1:])
    twice, _ = mirror(flipped, flipped_scores)
    np.testing.assert_allclose(np.where(seen, twice, 0), keypoints, atol=1e-5)


def test_wrist_travel_counts_only_frames_where_the_wrist_is_seen():
    keypoints = np.zeros((1, 4, 1, 2), np.float32)
    keypoints[0, :, 0, 0] = [0, 1, 5, 6]
    scores = np.array([[[1], [1], [0], [1]]], np.float32)
    assert tf.wrist_travel(keypoints, scores, 0) == 1.0  # 0 -> 1 only: frame 2 is missing
