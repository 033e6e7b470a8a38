"""From a sample in its source layout to the two stream inputs: body (C, T, Vb, M), hands (C, T, Vh, Mh),
and their presence masks (T, M), (T, Mh): 1 where the person or hand is seen in that frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bharnet import fields
from bharnet.data import transforms as tf
from bharnet.data.sample import Sample
from bharnet.errors import ConfigError
from bharnet.skeleton import BodyHandSplit, Layout, get_layout

HAND_ARRANGEMENTS = ("instances", "graph42")
HANDEDNESS = ("as_recorded", "dominant_right")


@dataclass(frozen=True)
class PipelineConfig:
    """Preprocessing of one model input. ``normalize='none'`` with ``hand_normalize='none'`` is the
    calibration-free setting (native coordinates); the augmentation fields act only when training."""

    num_frames: int = 64
    sampling: str = "uniform"  # uniform | crop_resize
    normalize: str = "canonical"  # canonical | shoulders (webcam views: shoulder frame and width) | none
    # wrist | upright (wrist, and the palm turned to point up: handshape without the arm's roll) | body (the
    # body's canonical frame, for whole-body graphs) | none
    hand_normalize: str = "wrist"
    hand_arrangement: str = "instances"  # instances: each hand an instance (Mh = 2M) | graph42 (Mh = M)
    mirror_left: bool = True
    handedness: str = "as_recorded"  # as_recorded | dominant_right: mirror each clip so its busier hand is the right
    mirror: float = 0.0  # training: probability of a left-right mirror of the whole sample
    modality: str = "J"  # J | B | JM | BM
    channels: str = "xyz"  # xyz | xy_score
    max_persons: int = 2
    rotate_degrees: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    shear: float = 0.0
    drop_hands: float = 0.0  # fraction of frames whose hands are removed
    drop_hand_samples: float = 0.0  # probability that a sample loses all its hands
    hand_jitter: float = 0.0  # Gaussian jitter on the hand joints, std ~ U(0, hand_jitter) palm lengths

    def __post_init__(self) -> None:
        choices = {
            "sampling": ("uniform", "crop_resize"),
            "normalize": ("canonical", "shoulders", "none"),
            "hand_normalize": ("wrist", "upright", "body", "none"),
            "hand_arrangement": HAND_ARRANGEMENTS,
            "modality": tf.MODALITIES,
            "channels": ("xyz", "xy_score"),
            "handedness": HANDEDNESS,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"data.{key} = {getattr(self, key)!r}; choose one of {', '.join(allowed)}")
        if self.num_frames < 1 or self.max_persons < 1:
            raise ConfigError("data.num_frames and data.max_persons must be positive")
        for key in ("drop_hands", "drop_hand_samples", "mirror"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"data.{key} = {getattr(self, key)}; it is a fraction in [0, 1)")
        if self.hand_jitter < 0:
            raise ConfigError(f"data.hand_jitter = {self.hand_jitter}; it must not be negative")

    @property
    def hands_in_own_frame(self) -> bool:
        """Whether each hand is moved to its own wrist-and-palm frame (wrist or upright), away from the body's."""
        return self.hand_normalize in ("wrist", "upright")

    @classmethod
    def from_dict(cls, values: dict) -> PipelineConfig:
        return fields.build(cls, values, "data")

    def to_dict(self) -> dict:
        return fields.to_dict(self)


class StreamInputs(NamedTuple):
    """One sample's model inputs: body (C, T, Vb, M), hands (C, T, Vh, Mh), masks (T, M) and (T, Mh)."""

    body: np.ndarray
    hands: np.ndarray
    body_mask: np.ndarray
    hand_mask: np.ndarray


def frame_presence(scores: np.ndarray) -> np.ndarray:
    """(I, T, V) scores -> (T, I) float32: 1 where any joint of the instance is seen."""
    return np.ascontiguousarray((scores > 0).any(axis=2).T, dtype=np.float32)


class BodyHandPipeline:
    """Temporal sampling, body/hand split, normalization, augmentation, modality, (C, T, V, M) output."""

    def __init__(self, split: BodyHandSplit, config: PipelineConfig, train: bool):
        self.split = split
        self.config = config
        self.train = train
        self.sampler = tf.make_sampler(config.sampling, config.num_frames)
        self.body_layout: Layout = split.body_graph()
        self.hand_layout: Layout = get_layout("hand21" if config.hand_arrangement == "instances" else "hand42")
        frames = {"canonical": tf.CanonicalNormalize, "shoulders": tf.ShoulderNormalize}
        self.body_normalize = frames[config.normalize](self.body_layout) if config.normalize in frames else None
        upright = config.hand_normalize == "upright"
        self.hand_normalize = tf.HandNormalize(upright=upright) if config.hands_in_own_frame else None
        self.affine = tf.RandomAffine(config.rotate_degrees, config.scale, config.shear)
        self.body_joints = np.array(split.body)
        self.hand_joints = np.array(split.left_hand + split.right_hand)  # left 21, then right 21
        source = get_layout(split.source)
        self.mirror = self._mirror(source) if config.handedness != "as_recorded" or config.mirror > 0 else None
        # who witnesses handedness: a detected hand's own wrist where any hand is seen, else the body's wrists
        self.wrists = []
        if config.handedness == "dominant_right":
            self.wrists = [(split.left_hand[0], split.right_hand[0])] if split.has_hands else []
            self.wrists.append((source.index("left_wrist"), source.index("right_wrist")))

    def _mirror(self, source: Layout) -> tf.Mirror:
        together = self.split.hands_in_body_coordinates or not self.split.has_hands
        groups = (np.arange(source.num_joints),) if together else (self.body_joints, self.hand_joints)
        return tf.Mirror(tf.mirrored_joints(source), groups)

    def _left_handed(self, keypoints: np.ndarray, scores: np.ndarray) -> bool:
        """Whether the left hand does more of the work: its wrist travels further."""
        for left, right in self.wrists:
            if scores[0, :, [left, right]].any():
                return tf.wrist_travel(keypoints, scores, left) > tf.wrist_travel(keypoints, scores, right)
        return False

    @property
    def hand_instances(self) -> int:
        per_person = 2 if self.config.hand_arrangement == "instances" else 1
        return per_person * self.config.max_persons

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> StreamInputs:
        rng = rng if self.train else None
        frames = self.sampler.indices(sample.scores, rng)
        keypoints, scores = self._persons(sample.keypoints[:, frames], sample.scores[:, frames])
        if self._mirrored(keypoints, scores, rng):
            keypoints, scores = self.mirror(keypoints, scores)

        body, body_scores = keypoints[:, :, self.body_joints], scores[:, :, self.body_joints]
        reference = self.body_normalize.reference(body, body_scores) if self.body_normalize else None
        if self.body_normalize:
            body = self.body_normalize.apply(reference, body, body_scores)
        hands, hand_scores = self._hands(keypoints, scores, rng, reference)

        if rng is not None and self.affine.active:
            matrix = self.affine.matrix(rng, keypoints.shape[-1]).astype(np.float32)
            body, hands = body @ matrix.T, hands @ matrix.T
        return StreamInputs(
            self._stream(body, body_scores, self.body_layout),
            self._stream(hands, hand_scores, self.hand_layout),
            frame_presence(body_scores),
            frame_presence(hand_scores),
        )

    def _mirrored(self, keypoints: np.ndarray, scores: np.ndarray, rng: np.random.Generator | None) -> bool:
        cfg = self.config
        flip = cfg.handedness == "dominant_right" and self._left_handed(keypoints, scores)
        if rng is not None and cfg.mirror > 0 and rng.random() < cfg.mirror:
            flip = not flip
        return flip

    def _persons(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exactly ``max_persons`` persons: the first ones (readers put the most active first), zero-padded."""
        m = self.config.max_persons
        if keypoints.shape[0] >= m:
            return keypoints[:m], scores[:m]
        pad = m - keypoints.shape[0]
        return (
            np.concatenate([keypoints, np.zeros((pad, *keypoints.shape[1:]), keypoints.dtype)]),
            np.concatenate([scores, np.zeros((pad, *scores.shape[1:]), scores.dtype)]),
        )

    def _hands(self, keypoints, scores, rng, body_reference) -> tuple[np.ndarray, np.ndarray]:
        m, t, _, c = keypoints.shape
        split, cfg = self.split, self.config
        if not split.has_hands:  # no hand joints at all: every hand instance absent
            mh = self.hand_instances
            return np.zeros((mh, t, 0, c), np.float32), np.zeros((mh, t, 0), np.float32)
        # (M, T, 2, 21, C): hands stay with their person, left first
        hands = keypoints[:, :, self.hand_joints].reshape(m, t, 2, 21, c)
        hand_scores = scores[:, :, self.hand_joints].reshape(m, t, 2, 21)
        if rng is not None:
            if cfg.drop_hand_samples > 0 and rng.random() < cfg.drop_hand_samples:
                hand_scores = np.zeros_like(hand_scores)
            if cfg.drop_hands > 0:
                hand_scores = tf.drop_frames(hand_scores.reshape(m, t, 42), cfg.drop_hands, rng).reshape(m, t, 2, 21)
            if cfg.hand_jitter > 0:
                hands = tf.jitter_hands(hands, hand_scores, rng.uniform(0, cfg.hand_jitter), rng)
        if self.hand_normalize:
            hands = self.hand_normalize(hands, hand_scores)
        elif cfg.hand_normalize == "body":
            hands = tf.BodyFrame.apply(body_reference, hands, hand_scores)
        if cfg.mirror_left:
            hands[:, :, 0] = tf.mirror_x(hands[:, :, 0])
        hands = tf.mask_missing(hands, hand_scores)
        if cfg.hand_arrangement == "graph42":
            return hands.reshape(m, t, 42, c), hand_scores.reshape(m, t, 42)
        # instances ordered person 0 left, person 0 right, person 1 left, ...
        return (
            hands.transpose(0, 2, 1, 3, 4).reshape(2 * m, t, 21, c),
            hand_scores.transpose(0, 2, 1, 3).reshape(2 * m, t, 21),
        )

    def _stream(self, keypoints: np.ndarray, scores: np.ndarray, layout: Layout) -> np.ndarray:
        """Modality, channels, then (M, T, V, C) -> (C, T, V, M)."""
        if keypoints.shape[2] == 0:
            c = 3 if self.config.channels == "xy_score" else keypoints.shape[-1]
            return np.zeros((c, keypoints.shape[1], 0, keypoints.shape[0]), np.float32)
        out = tf.modality(keypoints, scores, layout, self.config.modality)
        if self.config.channels == "xy_score":
            out = np.concatenate([out[..., :2], scores[..., None]], axis=-1)
        return np.ascontiguousarray(out.transpose(3, 1, 2, 0), dtype=np.float32)
