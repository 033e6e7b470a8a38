"""Which joints of a source layout feed the body stream and which the hand stream."""

from __future__ import annotations

from dataclasses import dataclass

from bharnet.errors import ConfigError
from bharnet.skeleton.layout import Layout
from bharnet.skeleton.layouts import get_layout


@dataclass(frozen=True)
class BodyHandSplit:
    """Joint indices into the source layout: the body joints and, when it has them, each 21-joint hand.

    Hands are in ``hand21`` order. A source without hands (Kinect skeletons) has empty hand tuples: its
    hand stream needs hands estimated from RGB first (``bharnet extract``). ``hands_in_body_coordinates``
    is False where the hands come from another sensor than the body (Kinect 3D metres vs MediaPipe image
    coordinates): the body's canonical transform must not move such hands.
    """

    source: str
    body_layout: str
    body: tuple[int, ...]
    left_hand: tuple[int, ...] = ()
    right_hand: tuple[int, ...] = ()
    hands_in_body_coordinates: bool = True

    @property
    def has_hands(self) -> bool:
        return bool(self.left_hand)

    def body_graph(self) -> Layout:
        return get_layout(self.body_layout)


def _split(source: str, body_layout: str, body: range, left: range | None = None, right: range | None = None,
           hands_in_body_coordinates: bool = True):
    return BodyHandSplit(source, body_layout, tuple(body), tuple(left or ()), tuple(right or ()),
                         hands_in_body_coordinates)


_SPLITS = {
    s.source: s
    for s in (
        _split("ntu25", "ntu25", range(25)),
        _split("nucla20", "nucla20", range(20)),
        _split("coco17", "coco17", range(17)),
        _split("ntu25_hands67", "ntu25", range(25), range(25, 46), range(46, 67), hands_in_body_coordinates=False),
        _split("mediapipe_holistic75", "mediapipe_pose33", range(33), range(33, 54), range(54, 75)),
        _split("msl150_67", "mediapipe_pose25", range(25), range(25, 46), range(46, 67)),
        _split("coco_wholebody133", "coco_wholebody_body23", range(23), range(91, 112), range(112, 133)),
        _split("coco_wholebody65", "coco_wholebody_body23", range(23), range(23, 44), range(44, 65)),
    )
}


def body_hand_split(source_layout: str) -> BodyHandSplit:
    try:
        return _SPLITS[source_layout]
    except KeyError:
        raise ConfigError(
            f"no body/hand split for layout {source_layout!r}; layouts with one: {', '.join(sorted(_SPLITS))}"
        ) from None


def split_layouts() -> list[str]:
    return sorted(_SPLITS)
