"""Small array transforms. Arrays are (M, T, V, C) keypoints with (M, T, V) scores; score 0 = missing.

Every transform leaves missing joints at zero: the linear ones have no translation once coordinates are
centred, and the others mask explicitly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from bharnet.errors import ConfigError
from bharnet.skeleton.layout import Layout

EPS = 1e-6


# ---------------------------------------------------------------------------------------------- time
def valid_range(scores: np.ndarray) -> tuple[int, int]:
    """[first, last + 1) of the frames where anyone is seen; the whole clip when nobody ever is."""
    seen = np.flatnonzero(scores.max(axis=(0, 2)) > 0)
    return (int(seen[0]), int(seen[-1]) + 1) if seen.size else (0, scores.shape[1])


@dataclass(frozen=True)
class UniformSample:
    """T frames from T equal segments of the valid range: a random frame per segment when training,
    the middle one when not (pyskl's UniformSampleFrames). Shorter clips repeat frames in order."""

    num_frames: int

    def indices(self, scores: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        start, stop = valid_range(scores)
        edges = np.linspace(start, stop, self.num_frames + 1)
        offset = rng.random(self.num_frames) if rng is not None else np.full(self.num_frames, 0.5)
        return np.minimum(np.floor(edges[:-1] + offset * np.diff(edges)), stop - 1).astype(np.int64)


@dataclass(frozen=True)
class CropResize:
    """A window covering a fraction in ``ratio`` of the valid range (random placement when training,
    centred otherwise), resampled to T frames by nearest frame so missing and present joints never blend
    (the CTR-GCN crop-resize, without interpolation)."""

    num_frames: int
    ratio: tuple[float, float] = (0.5, 1.0)
    eval_ratio: float = 1.0

    def indices(self, scores: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        start, stop = valid_range(scores)
        length = stop - start
        fraction = rng.uniform(*self.ratio) if rng is not None else self.eval_ratio
        window = int(np.clip(round(length * fraction), 1, length))
        shift = int(rng.integers(0, length - window + 1)) if rng is not None else (length - window) // 2
        positions = np.linspace(0, window - 1, self.num_frames)
        return (start + shift + np.round(positions)).astype(np.int64)


def make_sampler(kind: str, num_frames: int) -> UniformSample | CropResize:
    if kind == "uniform":
        return UniformSample(num_frames)
    if kind == "crop_resize":
        return CropResize(num_frames)
    raise ConfigError(f"temporal sampling must be 'uniform' or 'crop_resize', not {kind!r}")


# ------------------------------------------------------------------------------------ normalization
def _group_mean(keypoints: np.ndarray, joints: list[int]) -> np.ndarray:
    return keypoints[..., joints, :].mean(axis=-2)


def _reference_frame(scores: np.ndarray, joints: list[int]) -> int | None:
    """First frame where person 0 has all ``joints``."""
    ok = np.flatnonzero((scores[0][:, joints] > 0).all(axis=1))
    return int(ok[0]) if ok.size else None


def canonical_rotation(up: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Rotation taking ``up`` to +y and the part of ``across`` orthogonal to it to +x."""
    y = up / (np.linalg.norm(up) + EPS)
    x = across - (across @ y) * y
    x = x / (np.linalg.norm(x) + EPS)
    if across.shape[0] == 2:  # in the image plane only the spine can be made vertical
        return np.array([[y[1], -y[0]], [y[0], y[1]]])
    return np.stack([x, y, np.cross(x, y)])


class BodyFrame:
    """A body-centred frame: :meth:`reference` finds (origin, linear map) from person 0's body, :meth:`apply`
    expresses keypoints (the body's, or its hands') in it."""

    def reference(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        raise NotImplementedError

    @staticmethod
    def apply(reference, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if reference is None:
            return keypoints
        origin, linear = reference
        out = (keypoints - origin) @ linear.T
        return np.where(scores[..., None] > 0, out, 0).astype(np.float32)

    def __call__(self, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return self.apply(self.reference(keypoints, scores), keypoints, scores)


class CanonicalNormalize(BodyFrame):
    """Translate so the layout's centre (person 0, first frame it is seen) is the origin, then rotate so
    the spine points up (+y) and the shoulders lie along +x. Missing joints stay zero."""

    def __init__(self, layout: Layout):
        # joint names resolved once here, not per sample
        self.center = layout.indices(layout.center)
        self.lower = layout.indices(layout.up[0]) if layout.up else []
        self.upper = layout.indices(layout.up[1]) if layout.up else []
        self.left, self.right = layout.indices(layout.across) if layout.across else (None, None)

    def reference(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(origin, rotation) of the body's canonical frame, or None when the centre is never seen."""
        frame = _reference_frame(scores, self.center)
        if frame is None:
            return None
        origin = _group_mean(keypoints[0, frame], self.center)
        rotation = np.eye(keypoints.shape[-1], dtype=np.float32)
        if self.upper and self.left is not None:
            frame = _reference_frame(scores, self.lower + self.upper + [self.left, self.right])
            if frame is not None:
                ref = keypoints[0, frame] - origin
                up = _group_mean(ref, self.upper) - _group_mean(ref, self.lower)
                rotation = canonical_rotation(up, ref[self.right] - ref[self.left])
        return origin, rotation


class ShoulderNormalize(BodyFrame):
    """A body frame from the shoulders alone, for webcam views that cut off the hips and legs (whose keypoints
    a pose estimator then guesses): origin at the shoulders' centre, the shoulder line turned onto +x in the
    image plane (x, y; z is kept), and every coordinate divided by the shoulder width, so that people near and
    far from the camera look alike. Averaged over the frames where person 0 has both shoulders, so one bad
    frame does not move the frame; missing joints stay zero."""

    def __init__(self, layout: Layout):
        if not layout.across:
            raise ConfigError(f"data.normalize = shoulders needs a layout with shoulders; {layout.name} names none")
        self.left, self.right = layout.indices(layout.across)

    def reference(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        seen = (scores[0][:, [self.left, self.right]] > 0).all(axis=1)
        if not seen.any():
            return None
        left, right = keypoints[0, seen, self.left], keypoints[0, seen, self.right]
        origin = ((left + right) / 2).mean(axis=0)
        across = (right - left).mean(axis=0)
        width = float(np.linalg.norm(across[:2]))
        if width < EPS:
            return None
        cos, sin = across[0] / width, across[1] / width
        matrix = np.eye(keypoints.shape[-1], dtype=np.float32)
        matrix[:2, :2] = [[cos, sin], [-sin, cos]]
        return origin.astype(np.float32), matrix / width


@dataclass(frozen=True)
class HandNormalize:
    """Per frame: wrist at the origin, coordinates divided by the palm length (wrist to middle MCP).

    ``upright``: also turned in the image plane (x, y) so that the palm points along +y: what is left is the
    handshape, not the roll that the arm's position gives the hand (where the hand is, the body tells)."""

    wrist: int = 0
    middle_mcp: int = 9
    upright: bool = False

    def __call__(self, hands: np.ndarray, scores: np.ndarray) -> np.ndarray:
        centred = hands - hands[..., self.wrist : self.wrist + 1, :]
        palm_vector = centred[..., self.middle_mcp : self.middle_mcp + 1, :]
        palm = np.linalg.norm(palm_vector, axis=-1)[..., None]
        out = centred / np.maximum(palm, EPS)
        if self.upright:
            direction = palm_vector[..., :2] / np.maximum(np.linalg.norm(palm_vector[..., :2], axis=-1,
                                                                         keepdims=True), EPS)
            ux, uy = direction[..., :1], direction[..., 1:]
            x, y = out[..., :1], out[..., 1:2]
            out = np.concatenate([uy * x - ux * y, ux * x + uy * y, out[..., 2:]], axis=-1)
        return np.where(scores[..., None] > 0, out, 0).astype(np.float32)


def mirror_x(keypoints: np.ndarray) -> np.ndarray:
    """Reflect about x = 0 so a left hand looks like a right hand (weights shared between hands)."""
    out = keypoints.copy()
    out[..., 0] = -out[..., 0]
    return out


def mirrored_joints(layout: Layout) -> np.ndarray:
    """The permutation that swaps every ``left`` joint with its ``right`` namesake (others stay)."""
    swapped = {"left": "right", "right": "left"}

    def other_side(name: str) -> str:
        parts = name.split("_")
        return "_".join(swapped.get(part, part) for part in parts)

    permutation = np.arange(layout.num_joints)
    for j, name in enumerate(layout.joints):
        twin = other_side(name)
        if twin != name:
            if twin not in layout.joints:
                raise ConfigError(f"layout {layout.name}: joint {name!r} has no mirror twin {twin!r}")
            permutation[j] = layout.index(twin)
    return permutation


@dataclass(frozen=True)
class Mirror:
    """A left-right reflection of a whole sample: x reflected about the centre of each group of joints that
    shares a coordinate system (body with its hands, or hands from another sensor apart), and every left
    joint swapped with its right twin, so a left-handed signer looks like a right-handed one."""

    permutation: np.ndarray
    groups: tuple[np.ndarray, ...]

    def __call__(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = keypoints.copy()
        for joints in self.groups:
            seen = scores[:, :, joints] > 0
            if not seen.any():
                continue
            centre = keypoints[:, :, joints, 0][seen].mean()
            out[:, :, joints, 0] = np.where(seen, 2 * centre - keypoints[:, :, joints, 0], 0)
        return out[:, :, self.permutation], scores[:, :, self.permutation]


def wrist_travel(keypoints: np.ndarray, scores: np.ndarray, wrist: int) -> float:
    """Path length of one wrist of person 0 in the image plane, over consecutive frames where it is seen."""
    position, seen = keypoints[0, :, wrist, :2], scores[0, :, wrist] > 0
    both = seen[1:] & seen[:-1]
    return float(np.linalg.norm(np.diff(position, axis=0), axis=-1)[both].sum())


# ------------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class RandomAffine:
    """A random view change: rotation (degrees about each axis), isotropic scale, shear; linear so that
    zeros (missing joints) stay zero. One matrix per sample, shared by its body and hands."""

    rotate_degrees: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    shear: float = 0.0

    @property
    def active(self) -> bool:
        return self.rotate_degrees > 0 or self.scale != (1.0, 1.0) or self.shear > 0

    def matrix(self, rng: np.random.Generator, dims: int) -> np.ndarray:
        angles = np.deg2rad(rng.uniform(-self.rotate_degrees, self.rotate_degrees, 3))
        matrix = np.eye(3)
        for axis, angle in enumerate(angles):
            c, s = np.cos(angle), np.sin(angle)
            i, j = [a for a in range(3) if a != axis]
            r = np.eye(3)
            r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
            matrix = r @ matrix
        shear = np.eye(3) + rng.uniform(-self.shear, self.shear, (3, 3)) * (1 - np.eye(3))
        matrix = rng.uniform(*self.scale) * matrix @ shear
        return matrix[:dims, :dims]


# ------------------------------------------------------------------------------------------ hands
def drop_frames(scores: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Scores with every joint removed in a random ``fraction`` of frames (missing-hand augmentation)."""
    keep = rng.random(scores.shape[1]) >= fraction
    return scores * keep[None, :, None]


def palm_lengths(hands: np.ndarray, scores: np.ndarray, wrist: int = 0, middle_mcp: int = 9) -> np.ndarray:
    """(..., T, 21, C) hands -> (...,) median wrist-to-middle-MCP length over the frames where both are seen
    (0 for a hand never seen)."""
    length = np.linalg.norm(hands[..., middle_mcp, :] - hands[..., wrist, :], axis=-1)
    seen = (scores[..., wrist] > 0) & (scores[..., middle_mcp] > 0)
    masked = np.where(seen, length, np.nan)
    with warnings.catch_warnings():  # a hand never seen is an all-NaN row: 0, said below
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(masked, axis=-1) if masked.shape[-1] else np.zeros(masked.shape[:-1])
    return np.nan_to_num(out).astype(np.float32)


def jitter_hands(hands: np.ndarray, scores: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise on the seen joints of (M, T, 2, 21, C) hands, its std ``sigma`` of each hand's own palm
    length (a small or far hand gets proportionally small noise, as a keypoint detector's error)."""
    palm = palm_lengths(hands.transpose(0, 2, 1, 3, 4), scores.transpose(0, 2, 1, 3))  # (M, 2)
    noise = rng.normal(0.0, 1.0, hands.shape).astype(np.float32) * (sigma * palm)[:, None, :, None, None]
    return np.where(scores[..., None] > 0, hands + noise, hands).astype(np.float32)


def mask_missing(keypoints: np.ndarray, scores: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Zero the joints whose score is at or below ``threshold``."""
    return np.where(scores[..., None] > threshold, keypoints, 0).astype(np.float32)


# --------------------------------------------------------------------------------------- modalities
MODALITIES = ("J", "B", "JM", "BM")


def bones(keypoints: np.ndarray, scores: np.ndarray, parents: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """joint - parent (root bones are zero); a bone exists where both ends do."""
    parents_idx = list(parents)
    present = (scores > 0) & (scores[..., parents_idx] > 0)
    return np.where(present[..., None], keypoints - keypoints[..., parents_idx, :], 0), present


def motion(keypoints: np.ndarray, present: np.ndarray) -> np.ndarray:
    """x[t + 1] - x[t]; zero in the last frame and where either frame lacks the joint."""
    out = np.zeros_like(keypoints)
    both = present[:, 1:] & present[:, :-1]
    out[:, :-1] = np.where(both[..., None], keypoints[:, 1:] - keypoints[:, :-1], 0)
    return out


def modality(keypoints: np.ndarray, scores: np.ndarray, layout: Layout, kind: str) -> np.ndarray:
    if kind not in MODALITIES:
        raise ConfigError(f"modality must be one of {', '.join(MODALITIES)}, not {kind!r}")
    present = scores > 0
    if kind.startswith("B"):
        keypoints, present = bones(keypoints, scores, layout.parents)
    if kind.endswith("M"):
        keypoints = motion(keypoints, present)
    return keypoints.astype(np.float32)
