"""Model-free label audit of a MediaPipe Holistic sign dataset, any number of signs.

Each person's signing of each sign gets a profile, the median over its clips of per-clip medians:
- handshape: how far each fingertip (thumb, index, middle, ring, pinky) reaches from the wrist, in palm lengths
  (wrist to middle-finger knuckle);
- location: the wrist's position from the shoulder midpoint (sideways towards the hand's own shoulder, and
  height), and its distance from the nose, in shoulder widths;
- motion: the horizontal and vertical extent of the wrist's path (10th to 90th percentile), in shoulder widths.
A clip's hand is the one seen in most of its frames. When the other hand is seen almost as often (two-handed
signs, where either may be the active one), both are candidates, and each comparison takes the candidate
nearer the consensus it is compared with, the same for every sign.

Each profile is compared with the consensus of every sign made by all OTHER people (leave-one-person-out median
of their most-seen-hand profiles), each feature scaled by the between-person spread (median over signs of the
other people's MAD). Distance = root mean square of the scaled differences. A person's sign is flagged when
another sign's consensus is clearly nearer (at most half the distance) and its own consensus is not near
(distance above 1.5); two signs of one person that each look like the other are reported as swapped labels.

Usage: .venv/bin/python benchmarks/signs_label_audit.py [data/signs_crowd12.bhd] [--plot PATH]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bharnet.data.store import DatasetFile
from bharnet.errors import exit_on_error
from bharnet.skeleton import body_hand_split

WRIST, MIDDLE_KNUCKLE = 0, 9
FINGERTIPS = {"thumb": 4, "index": 8, "middle": 12, "ring": 16, "pinky": 20}
NOSE, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 11, 12
FEATURES = [*FINGERTIPS, "side", "height", "nose_dist", "x_extent", "y_extent"]
CLEARLY_NEARER = 0.5  # another sign's consensus at most this fraction of the own-sign distance
NOT_NEAR_OWN = 1.5  # and the own-sign distance (in between-person spreads) at least this
MIN_OTHERS = 2  # people besides the audited one needed for a consensus
SPREAD_FLOOR = 0.05  # keeps a feature on which everybody agrees from dominating the distance
HAND_SHARE = 0.5  # the other hand is a candidate when seen in at least this share of the first's frames


@dataclass
class Verdict:
    person: str
    sign: str
    hands: str  # clips whose nearest-to-own-consensus candidate is the right / left hand, e.g. "28R 2L"
    profile: np.ndarray  # compared with the own sign's consensus
    scaled: np.ndarray  # (profile - that consensus) / between-person spread
    own: float
    nearest_sign: str
    nearest: float

    @property
    def flagged(self) -> bool:
        return self.own >= NOT_NEAR_OWN and self.nearest <= CLEARLY_NEARER * self.own


Clip = dict[str, np.ndarray]  # candidate hand ("R"/"L") -> profile, most-seen first
Profiles = dict[str, dict[str, list[Clip]]]  # person -> sign -> clips


def person_names(dataset: DatasetFile) -> list[str]:
    return sorted(name for name in dataset.splits if name.startswith("group/"))


def hand_seen(scores: np.ndarray, hand: tuple[int, ...]) -> np.ndarray:
    """(T,) frames where every joint of the hand is detected (undetected hands are zeros with score 0)."""
    return (scores[0][:, list(hand)] > 0).all(-1)


def handshape(hand: np.ndarray) -> np.ndarray:
    """(F, 21, 2) detected hand -> (5,) median fingertip-to-wrist reach in palm lengths."""
    palm = np.linalg.norm(hand[:, MIDDLE_KNUCKLE] - hand[:, WRIST], axis=-1) + 1e-6
    reach = [np.linalg.norm(hand[:, tip] - hand[:, WRIST], axis=-1) / palm for tip in FINGERTIPS.values()]
    return np.median(np.stack(reach, -1), axis=0)


def location_and_motion(wrist: np.ndarray, body: np.ndarray, own_shoulder: int) -> np.ndarray:
    """(F, 2) wrist and (F, 33, 2) pose -> (5,) side, height, nose distance, x extent, y extent in shoulder
    widths. Side is measured towards the hand's own shoulder, so either hand and mirrored cameras agree."""
    middle = (body[:, LEFT_SHOULDER] + body[:, RIGHT_SHOULDER]) / 2
    towards = body[:, own_shoulder] - middle
    width = 2 * np.linalg.norm(towards, axis=-1) + 1e-6
    outward = towards / (width[:, None] / 2)
    offset = wrist - middle
    side = (offset * outward).sum(-1) / width
    height = -offset[:, 1] / width  # image y grows downwards
    nose_dist = np.linalg.norm(wrist - body[:, NOSE], axis=-1) / width
    scaled = wrist / np.median(width)
    extent = np.percentile(scaled, 90, axis=0) - np.percentile(scaled, 10, axis=0)
    return np.array([np.median(side), np.median(height), np.median(nose_dist), *extent])


def clip_profile(keypoints: np.ndarray, seen: np.ndarray, hand: tuple[int, ...], shoulder: int) -> np.ndarray:
    """(len(FEATURES),) for one clip's hand over the frames where it is seen."""
    points = keypoints[0, seen, :, :2]
    hand_points = points[:, list(hand)]
    return np.concatenate([handshape(hand_points), location_and_motion(hand_points[:, WRIST], points, shoulder)])


def clip_candidates(keypoints: np.ndarray, scores: np.ndarray, hands: dict) -> Clip:
    """The clip's profile per candidate hand; empty when no hand is ever seen."""
    seen = {name: hand_seen(scores, hand) for name, (hand, _) in hands.items()}
    most = max(int(frames.sum()) for frames in seen.values())
    ranked = sorted(hands, key=lambda name: -int(seen[name].sum()))
    return {name: clip_profile(keypoints, seen[name], *hands[name]) for name in ranked
            if seen[name].any() and seen[name].sum() >= HAND_SHARE * most}


def person_profiles(dataset: DatasetFile) -> Profiles:
    split = body_hand_split(dataset.layout_name)
    hands = {"R": (split.right_hand, RIGHT_SHOULDER), "L": (split.left_hand, LEFT_SHOULDER)}
    profiles: Profiles = {}
    for person in person_names(dataset):
        profiles[person] = {}
        for index in dataset.split_indices(person):
            sample = dataset[int(index)]
            clip = clip_candidates(sample.keypoints, sample.scores, hands)
            if clip:
                profiles[person].setdefault(dataset.classes[sample.label], []).append(clip)
        profiles[person] = dict(sorted(profiles[person].items(), key=lambda item: dataset.classes.index(item[0])))
    return profiles


def most_seen_profile(clips: list[Clip]) -> np.ndarray:
    return np.median(np.stack([next(iter(clip.values())) for clip in clips]), 0)


def others_by_sign(profiles: Profiles, person: str) -> dict[str, np.ndarray]:
    """sign -> (people, features) most-seen-hand profiles of everyone but ``person``, for signs made by enough
    of them."""
    rows: dict[str, list[np.ndarray]] = {}
    for other, signs in profiles.items():
        if other != person:
            for sign, clips in signs.items():
                rows.setdefault(sign, []).append(most_seen_profile(clips))
    return {sign: np.stack(r) for sign, r in sorted(rows.items()) if len(r) >= MIN_OTHERS}


def consensus_and_spread(others: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-sign median profile, and per-feature between-person spread (MAD) pooled over signs by the median."""
    consensus = {sign: np.median(rows, 0) for sign, rows in others.items()}
    mad = np.stack([np.median(np.abs(rows - consensus[sign]), 0) for sign, rows in others.items()])
    spread = 1.4826 * np.median(mad, 0)
    return consensus, np.maximum(spread, SPREAD_FLOOR)


def distance(profile: np.ndarray, consensus: np.ndarray, spread: np.ndarray) -> float:
    """Root mean square of the spread-scaled differences."""
    return float(np.sqrt(np.mean(((profile - consensus) / spread) ** 2)))


def compared_profile(clips: list[Clip], consensus: np.ndarray, spread: np.ndarray) -> tuple[np.ndarray, str]:
    """Median over clips of each clip's candidate nearest ``consensus``, and how many clips used each hand."""
    chosen = [min(clip, key=lambda hand: distance(clip[hand], consensus, spread)) for clip in clips]
    profile = np.median(np.stack([clip[hand] for clip, hand in zip(clips, chosen, strict=True)]), 0)
    return profile, " ".join(f"{chosen.count(hand)}{hand}" for hand in ("R", "L") if hand in chosen)


def distance_to(clips: list[Clip], consensus: np.ndarray, spread: np.ndarray) -> float:
    return distance(compared_profile(clips, consensus, spread)[0], consensus, spread)


def audit(profiles: Profiles) -> list[Verdict]:
    """A verdict per person and sign, every consensus leaving that person out."""
    verdicts = []
    for person, signs in profiles.items():
        consensus, spread = consensus_and_spread(others_by_sign(profiles, person))
        for sign, clips in signs.items():
            if sign not in consensus:
                continue
            profile, hands = compared_profile(clips, consensus[sign], spread)
            others = {other: distance_to(clips, c, spread) for other, c in consensus.items() if other != sign}
            nearest = min(others, key=others.get)
            own = distance(profile, consensus[sign], spread)
            scaled = (profile - consensus[sign]) / spread
            verdicts.append(Verdict(person, sign, hands, profile, scaled, own, nearest, others[nearest]))
    return verdicts


def swapped_pairs(verdicts: list[Verdict]) -> list[tuple[str, str, str]]:
    """(person, sign a, sign b) where a looks like b and b looks like a, both flagged."""
    flagged = {(v.person, v.sign): v.nearest_sign for v in verdicts if v.flagged}
    return sorted((person, a, b) for (person, a), b in flagged.items() if flagged.get((person, b)) == a and a < b)


def print_tables(profiles: Profiles, verdicts: list[Verdict], classes: list[str]) -> None:
    """Per sign, each person's profile as compared with the sign's consensus, and the clips per hand."""
    by_key = {(v.person, v.sign): v for v in verdicts}
    header = f"{'person':<16}{'hands':>8}" + "".join(f"{name:>10}" for name in FEATURES)
    header += f"{'own':>7}  nearest other sign"
    for sign in classes:
        people = [p for p in profiles if sign in profiles[p]]
        print(f"\n== {sign} ({len(people)} people): profile, distance to own consensus (in between-person spreads)")
        print(header)
        for person in people:
            v = by_key.get((person, sign))
            if v is None:
                cells = "".join(f"{value:>10.2f}" for value in most_seen_profile(profiles[person][sign]))
                print(f"{person:<16}{'':>8}{cells}{'-':>7}  too few others")
                continue
            cells = "".join(f"{value:>10.2f}" for value in v.profile)
            print(f"{person:<16}{v.hands:>8}{cells}{v.own:>7.2f}  {v.nearest_sign} {v.nearest:.2f}"
                  + ("   <- FLAGGED" if v.flagged else ""))


def print_flagged(verdicts: list[Verdict]) -> None:
    flagged = [v for v in verdicts if v.flagged]
    print(f"\nflagged (another sign's consensus <= {CLEARLY_NEARER} x own distance, own >= {NOT_NEAR_OWN}): "
          f"{len(flagged)}")
    for v in flagged:
        print(f"{v.person:<16} labelled {v.sign:<10} own {v.own:.2f}, looks like {v.nearest_sign} {v.nearest:.2f}")
    for person, a, b in swapped_pairs(verdicts):
        print(f"{person:<16} {a} and {b} swapped")
    if not flagged:
        print("none: every person's signs sit nearest their own sign's consensus or not clearly elsewhere")


def plot(verdicts: list[Verdict], classes: list[str], path: str) -> None:
    """One heatmap per sign: people x features, each cell the scaled difference from the sign's consensus."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signs = [sign for sign in classes if any(v.sign == sign for v in verdicts)]
    columns = min(4, len(signs))
    rows = -(-len(signs) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 4.6 * rows), squeeze=False)
    for ax, sign in zip(axes.flat, signs, strict=False):
        rows_of_sign = [v for v in verdicts if v.sign == sign]
        image = ax.imshow(np.stack([v.scaled for v in rows_of_sign]), cmap="coolwarm", vmin=-4, vmax=4, aspect="auto")
        ax.set_title(sign)
        ax.set_xticks(range(len(FEATURES)), FEATURES, rotation=90, fontsize=7)
        ax.set_yticks(range(len(rows_of_sign)), [v.person.removeprefix("group/") for v in rows_of_sign], fontsize=7)
        for tick, v in zip(ax.get_yticklabels(), rows_of_sign, strict=True):
            tick.set_color("red" if v.flagged else "black")
    for ax in axes.flat[len(signs):]:
        ax.axis("off")
    figure.colorbar(image, ax=axes, shrink=0.6, label="(profile - others' median) / between-person spread")
    figure.suptitle("sign profiles against the other people's consensus (flagged in red)")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def report(dataset: DatasetFile, plot_path: str | None = None) -> list[Verdict]:
    """Audit, print the tables and the flagged list, and save the picture when asked."""
    profiles = person_profiles(dataset)
    verdicts = audit(profiles)
    print(f"{dataset.path}: {len(profiles)} people, signs {', '.join(dataset.classes)}")
    print("features: fingertip reach in palm lengths; side, height (from the shoulder midpoint), nose_dist and "
          "wrist x/y extent in shoulder widths")
    print_tables(profiles, verdicts, dataset.classes)
    print_flagged(verdicts)
    if plot_path:
        plot(verdicts, dataset.classes, plot_path)
        print(f"picture: {plot_path}")
    return verdicts


def main(path: str, plot_path: str | None = None) -> list[Verdict]:
    return report(DatasetFile(path), plot_path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="data/signs_crowd12.bhd")
    parser.add_argument("--plot", metavar="PATH", help="save a per-sign profile heatmap here")
    args = parser.parse_args()
    exit_on_error(lambda: main(args.path, args.plot), Path(__file__).name)
