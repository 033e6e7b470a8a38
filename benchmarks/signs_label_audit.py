"""Handshape check of the signs-crowd labels, model-free: per signer and class, how far the middle and pinky
fingertips reach from the wrist, in palm lengths (wrist to middle-finger knuckle), median over the frames where
a hand is detected. "thanks" is a flat hand (middle finger extended, about 2.2), "iloveyou" folds the middle
and ring fingers (middle about 1.0), "hello" is an open hand. A signer whose classes break that pattern
has mislabelled clips.

Usage: .venv/bin/python benchmarks/signs_label_audit.py [data/signs_crowd12.bhd]
"""

from __future__ import annotations

import sys

import numpy as np

from bharnet.data.store import DatasetFile
from bharnet.skeleton import body_hand_split

WRIST, MIDDLE_KNUCKLE, MIDDLE_TIP, PINKY_TIP = 0, 9, 12, 20


def finger_reach(keypoints: np.ndarray, scores: np.ndarray, hand_joints: list[int]) -> tuple[float, float] | None:
    """Median (middle, pinky) fingertip-to-wrist distance in palm lengths over every detected hand."""
    hands = keypoints[0][:, hand_joints, :2].reshape(-1, 2, 21, 2)
    found = (scores[0][:, hand_joints].reshape(-1, 2, 21) > 0).all(-1)
    hands = hands[found]
    if not len(hands):
        return None
    palm = np.linalg.norm(hands[:, MIDDLE_KNUCKLE] - hands[:, WRIST], axis=-1) + 1e-6
    reach = [np.linalg.norm(hands[:, tip] - hands[:, WRIST], axis=-1) / palm for tip in (MIDDLE_TIP, PINKY_TIP)]
    return float(np.median(reach[0])), float(np.median(reach[1]))


def main(path: str) -> None:
    dataset = DatasetFile(path)
    split = body_hand_split(dataset.layout_name)
    hand_joints = list(split.left_hand + split.right_hand)
    groups = sorted(name for name in dataset.splits if name.startswith("group/"))
    print("median fingertip reach in palm lengths, middle / pinky, per class")
    print(f"{'group':<16}" + "".join(f"{name:>18}" for name in dataset.classes))
    for group in groups:
        reach: dict[int, list[tuple[float, float]]] = {}
        for index in dataset.split_indices(group):
            sample = dataset[int(index)]
            value = finger_reach(sample.keypoints, sample.scores, hand_joints)
            if value is not None:
                reach.setdefault(sample.label, []).append(value)
        cells = []
        for label in range(len(dataset.classes)):
            values = np.array(reach.get(label, [(np.nan, np.nan)]))
            cells.append(f"{np.nanmean(values[:, 0]):.2f} / {np.nanmean(values[:, 1]):.2f}")
        middle = {label: np.mean([v[0] for v in values]) for label, values in reach.items()}
        thanks, iloveyou = dataset.classes.index("thanks"), dataset.classes.index("iloveyou")
        swapped = middle.get(thanks, np.nan) < middle.get(iloveyou, np.nan)
        print(f"{group:<16}" + "".join(f"{cell:>18}" for cell in cells)
              + ("   <- thanks and iloveyou swapped" if swapped else ""))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/signs_crowd12.bhd")
