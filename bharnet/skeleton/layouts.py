"""The built-in skeleton layouts, written as data (joint names and 0-based (child, parent) edges), and the
registry of layouts by name."""

from __future__ import annotations

from collections.abc import Sequence

from bharnet.errors import ConfigError
from bharnet.skeleton.layout import Layout

_REGISTRY: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    if layout.name in _REGISTRY:
        raise ConfigError(f"layout {layout.name} is registered twice")
    _REGISTRY[layout.name] = layout
    return layout


def get_layout(name: str) -> Layout:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown layout {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def layout_names() -> list[str]:
    return sorted(_REGISTRY)


def combine(
    name: str,
    parts: Sequence[tuple[str, Layout]],
    links: Sequence[tuple[str, str]],
    description: str,
) -> Layout:
    """Concatenate layouts (joint names prefixed per part) and join them with ``links`` (child, parent names).

    The first part's root and normalization joints (prefixed like its names) become the whole layout's.
    """
    joints: list[str] = []
    edges: list[tuple[int, int]] = []
    for prefix, part in parts:
        offset = len(joints)
        joints += [prefix + joint for joint in part.joints]
        edges += [(c + offset, p + offset) for c, p in part.edges]
    edges += [(joints.index(c), joints.index(p)) for c, p in links]
    prefix, first = parts[0]

    def named(group):
        return tuple(prefix + joint for joint in group)

    up = (named(first.up[0]), named(first.up[1])) if first.up else None
    across = named(first.across) if first.across else None
    return Layout(name, tuple(joints), tuple(edges), first.root, named(first.center), up, across, description)


NTU25 = register_layout(
    Layout(
        name="ntu25",
        joints=(
            "spine_base", "spine_mid", "neck", "head",
            "left_shoulder", "left_elbow", "left_wrist", "left_hand",
            "right_shoulder", "right_elbow", "right_wrist", "right_hand",
            "left_hip", "left_knee", "left_ankle", "left_foot",
            "right_hip", "right_knee", "right_ankle", "right_foot",
            "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
        ),
        edges=(
            (1, 0), (20, 1), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9),
            (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18),
            (21, 7), (22, 7), (23, 11), (24, 11),
        ),
        root=0,
        center=("spine_base",),
        up=(("spine_base",), ("spine_shoulder",)),
        across=("left_shoulder", "right_shoulder"),
        description="NTU RGB+D / PKU-MMD, Kinect v2, 25 joints",
    )
)

NUCLA20 = register_layout(
    Layout(
        name="nucla20",
        joints=(
            "hip_center", "spine", "shoulder_center", "head",
            "left_shoulder", "left_elbow", "left_wrist", "left_hand",
            "right_shoulder", "right_elbow", "right_wrist", "right_hand",
            "left_hip", "left_knee", "left_ankle", "left_foot",
            "right_hip", "right_knee", "right_ankle", "right_foot",
        ),
        edges=(
            (1, 0), (2, 1), (3, 2), (4, 2), (5, 4), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 10),
            (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18),
        ),
        root=0,
        center=("hip_center",),
        up=(("hip_center",), ("shoulder_center",)),
        across=("left_shoulder", "right_shoulder"),
        description="Northwestern-UCLA Multiview Action3D, Kinect v1, 20 joints",
    )
)

_FINGERS = ("thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip") + tuple(
    f"{finger}_{part}" for finger in ("index", "middle", "ring", "pinky") for part in ("mcp", "pip", "dip", "tip")
)
HAND21 = register_layout(
    Layout(
        name="hand21",
        joints=("wrist", *_FINGERS),
        edges=(
            (1, 0), (2, 1), (3, 2), (4, 3), (5, 0), (6, 5), (7, 6), (8, 7), (9, 5), (10, 9), (11, 10),
            (12, 11), (13, 9), (14, 13), (15, 14), (16, 15), (17, 0), (18, 17), (19, 18), (20, 19), (17, 13),
        ),
        root=0,
        center=("wrist",),
        up=(("wrist",), ("middle_mcp",)),
        across=("index_mcp", "pinky_mcp"),
        description="one hand, 21 joints (MediaPipe / OpenPose / COCO-WholeBody order)",
    )
)

HAND42 = register_layout(
    combine(
        "hand42",
        [("left_hand_", HAND21), ("right_hand_", HAND21)],
        links=[("right_hand_wrist", "left_hand_wrist")],
        description="both hands of one person as one graph (left 0-20, right 21-41), wrists joined",
    )
)

COCO17 = register_layout(
    Layout(
        name="coco17",
        joints=(
            "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
            "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
            "left_knee", "right_knee", "left_ankle", "right_ankle",
        ),
        edges=(
            (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 5),
            (12, 6), (13, 11), (14, 12), (15, 13), (16, 14), (6, 5), (12, 11),
        ),
        root=0,
        center=("left_hip", "right_hip"),
        up=(("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")),
        across=("left_shoulder", "right_shoulder"),
        description="COCO keypoints, 17 joints",
    )
)

MEDIAPIPE_POSE33 = register_layout(
    Layout(
        name="mediapipe_pose33",
        joints=(
            "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
            "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
            "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
            "left_heel", "right_heel", "left_foot_index", "right_foot_index",
        ),
        edges=(
            (1, 0), (2, 1), (3, 2), (7, 3), (4, 0), (5, 4), (6, 5), (8, 6), (9, 0), (10, 9),
            (11, 0), (12, 0), (13, 11), (15, 13), (17, 15), (19, 15), (21, 15),
            (14, 12), (16, 14), (18, 16), (20, 16), (22, 16),
            (23, 11), (24, 12), (25, 23), (27, 25), (29, 27), (31, 29), (26, 24), (28, 26), (30, 28), (32, 30),
            (12, 11), (24, 23), (19, 17), (20, 18), (31, 27), (32, 28),
        ),
        root=0,
        center=("left_hip", "right_hip"),
        up=(("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")),
        across=("left_shoulder", "right_shoulder"),
        description="MediaPipe Pose, 33 landmarks",
    )
)

MEDIAPIPE_POSE25 = register_layout(
    MEDIAPIPE_POSE33.subset(
        "mediapipe_pose25", range(25), "MediaPipe Pose upper body, landmarks 0-24 (as in MSL-150 exports)"
    )
)

_HANDS = [("left_hand_", HAND21), ("right_hand_", HAND21)]
_WRISTS = [("left_hand_wrist", "left_wrist"), ("right_hand_wrist", "right_wrist")]


def body_with_hands(name: str, body: Layout, description: str) -> Layout:
    """``body`` followed by a left and a right ``hand21``, each hand's wrist attached to the body wrist."""
    return combine(name, [("", body), *_HANDS], _WRISTS, description)


MEDIAPIPE_HOLISTIC75 = register_layout(
    body_with_hands(
        "mediapipe_holistic75", MEDIAPIPE_POSE33, "MediaPipe Holistic: pose 0-32, left hand 33-53, right hand 54-74"
    )
)
MSL150_67 = register_layout(
    body_with_hands("msl150_67", MEDIAPIPE_POSE25, "MSL-150 226-d frames: pose 0-24, left hand 25-45, right hand 46-66")
)
NTU25_HANDS67 = register_layout(
    body_with_hands("ntu25_hands67", NTU25, "NTU Kinect body 0-24 plus estimated hands: left 25-45, right 46-66")
)

_FOOT3 = Layout("foot3", ("big_toe", "small_toe", "heel"), ((1, 0), (2, 0)))
# 68-point face: jaw, brows, nose bridge, lower nose, eyes, outer and inner lips (iBUG order).
_FACE_CHAINS = ((0, 17), (17, 22), (22, 27), (27, 31), (31, 36), (36, 42), (42, 48), (48, 60), (60, 68))
_FACE_LOOPS = ((36, 42), (42, 48), (48, 60), (60, 68))
_NOSE_TIP = 30


def _face68() -> Layout:
    edges = [(j, j - 1) for start, stop in _FACE_CHAINS for j in range(start + 1, stop)]
    edges += [(start, _NOSE_TIP) for start, _ in _FACE_CHAINS if start != 27]
    edges += [(stop - 1, start) for start, stop in _FACE_LOOPS]
    joints = tuple(f"face_{i}" for i in range(68))
    return Layout("face68", joints, tuple(edges), root=_NOSE_TIP, description="68-point face")


COCO_WHOLEBODY133 = register_layout(
    combine(
        "coco_wholebody133",
        [
            ("", COCO17),
            ("left_", _FOOT3),
            ("right_", _FOOT3),
            ("", _face68()),
            *_HANDS,
        ],
        links=[("left_big_toe", "left_ankle"), ("right_big_toe", "right_ankle"), ("face_30", "nose"), *_WRISTS],
        description="COCO-WholeBody: body 0-16, feet 17-22, face 23-90, left hand 91-111, right hand 112-132",
    )
)

COCO_WHOLEBODY_BODY23 = register_layout(
    COCO_WHOLEBODY133.subset("coco_wholebody_body23", range(23), "COCO-WholeBody body 17 + feet 6")
)

COCO_WHOLEBODY65 = register_layout(
    COCO_WHOLEBODY133.subset(
        "coco_wholebody65",
        [*range(23), *range(91, 133)],
        "COCO-WholeBody without face: body 0-16, feet 17-22, left hand 23-43, right hand 44-64",
    )
)
