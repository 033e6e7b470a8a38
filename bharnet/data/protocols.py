"""Evaluation protocols fixed by the datasets' authors: NTU RGB+D splits and the class names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bharnet.errors import DataFormatError

NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

NTU60_XSUB_TRAIN = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN | frozenset(
    (45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92,
     93, 94, 95, 97, 98, 100, 103)
)
NTU60_XVIEW_TRAIN_CAMERAS = frozenset((2, 3))
NTU60_LAST_SETUP = 17

NTU120_CLASSES = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up", "clapping", "reading", "writing", "tear up paper", "wear jacket",
    "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses", "take off glasses",
    "put on a hat/cap", "take off a hat/cap", "cheer up", "hand waving", "kicking something",
    "reach into pocket", "hopping", "jump up", "make a phone call", "playing with phone/tablet",
    "typing on a keyboard", "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front", "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting", "use a fan/feeling warm", "punching/slapping other person", "kicking other person",
    "pushing other person", "pat on back of other person", "point finger at the other person",
    "hugging other person", "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down", "make ok sign",
    "make victory sign", "staple book", "counting money", "cutting nails", "cutting paper (using scissors)",
    "snapping fingers", "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper",
    "ball up paper", "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag",
    "take off bag", "put something into a bag", "take something out of a bag", "open a box",
    "move heavy objects", "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms",
    "arm circles", "arm swings", "running on the spot", "butt kicks (kick backward)", "cross toe touch",
    "side kick", "yawn", "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)", "grab other person's stuff",
    "shoot at other person with a gun", "step on foot", "high-five", "cheers and drink",
    "carry something with other person", "take a photo of other person", "follow other person",
    "whisper in other person's ear", "exchange things with other person", "support somebody with hand",
    "finger-guessing game (rock-paper-scissors)",
)

NUCLA_CLASSES = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
    "donning", "doffing", "throw", "carry",
)


@dataclass(frozen=True)
class NtuName:
    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @classmethod
    def parse(cls, name: str) -> NtuName:
        match = NTU_NAME.fullmatch(name)
        if not match:
            raise ValueError(f"{name!r} is not an NTU sample name (SsssCcccPpppRrrrAaaa)")
        return cls(*(int(g) for g in match.groups()))


def ntu_version(names: Sequence[str]) -> int:
    """60 when every sample belongs to NTU RGB+D 60 (setups 1-17, actions 1-60), else 120."""
    parsed = [NtuName.parse(n) for n in names]
    return 60 if all(p.setup <= NTU60_LAST_SETUP and p.action <= 60 for p in parsed) else 120


def ntu_splits(names: Sequence[str], version: int) -> dict[str, list[int]]:
    """Standard benchmark splits as sample indices: NTU60 xsub + xview, NTU120 xsub + xset."""
    if version not in (60, 120):
        raise ValueError(f"NTU version must be 60 or 120, not {version}")
    parsed = [NtuName.parse(n) for n in names]
    train_subjects = NTU60_XSUB_TRAIN if version == 60 else NTU120_XSUB_TRAIN
    rules = {"xsub": lambda p: p.performer in train_subjects}
    if version == 60:
        rules["xview"] = lambda p: p.camera in NTU60_XVIEW_TRAIN_CAMERAS
    else:
        rules["xset"] = lambda p: p.setup % 2 == 0
    splits: dict[str, list[int]] = {}
    for benchmark, is_train in rules.items():
        splits[f"{benchmark}/train"] = [i for i, p in enumerate(parsed) if is_train(p)]
        splits[f"{benchmark}/test"] = [i for i, p in enumerate(parsed) if not is_train(p)]
    return splits


def read_name_list(path: str | Path) -> list[str]:
    """One sample name a line (blank lines ignored), as in the NTU metadata files."""
    path = Path(path)
    try:
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as err:
        raise DataFormatError(path, f"cannot read name list ({err.strerror})") from None
    for number, name in enumerate(names, 1):
        if not NTU_NAME.fullmatch(name):
            raise DataFormatError(path, f"{name!r} is not an NTU sample name", line=number)
    return names


def ntu_benchmark_names(available: str | Path, missing: str | Path | None = None) -> list[str]:
    """Sample names of a benchmark: the available list minus the samples with missing skeletons."""
    excluded = set(read_name_list(missing)) if missing else set()
    return [n for n in read_name_list(available) if n not in excluded]
