"""Markdown tables of cross-validated results (benchmarks/cv.sh) and N-UCLA, for docs/results.md.

Usage: .venv/bin/python benchmarks/collect_results.py DATASET [--against NAME] [--pictures DIR] [--runs DIR]
                                                     [--data FILE] [--ceiling]
  DATASET: signs or signs_plus (reads runs/<DATASET>-cv/<config>/), or nucla.
  --runs: read the cross-validation folders from DIR instead, e.g. the copies under docs/results/ that keep
    each fold's held-out scores (cv.json, fold*/result.json, fold*/scores.safetensors) for later paired tests.
  --against: the config every other one is compared with, clip by clip (default hand).
  --pictures: write the pooled confusion matrix of every config there (confusion_<config>.png).
  --data: the dataset file (.bhd) the runs were tested on; adds the paired counts per hand-presence bin (the
    fraction of a clip's frames with a hand seen), which show where a model's lead over --against comes from.
  --ceiling: per fold, the mean class accuracy of every head of every config and of "any head right" (the
    most a rule choosing among them clip by clip could reach), and the (person, sign) cells where under half
    the clips are right by any head.

Paired tests pool every held-out clip of every fold (each clip is tested exactly once):
- top-1: the exact two-sided sign test on the clips that exactly one of the two models gets right;
- mean class accuracy: a sign-flip permutation test on the same clips, each weighted by 1 / (classes x clips
  of its class), 20,000 flips, seeded.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from bharnet import plots
from bharnet.data.dataset import hand_presence
from bharnet.data.store import DatasetFile
from bharnet.engine.evaluation import load_scores
from bharnet.errors import exit_on_error

RUNS = Path("runs")
ORDER = ["body", "hand", "unified", "B", "P", "E", "E_pam", "bharnet"]
SHARED_HANDSHAPES = [("please", "sorry"), ("yes", "sorry"), ("hello", "thanks")]
# hand-presence bins: [low, high) of the fraction of frames with a hand seen; 1.0 has its own bin
PRESENCE_BINS = [("no hand seen", 0.0, 1e-9), ("under half", 1e-9, 0.5), ("half to 90%", 0.5, 0.9),
                 ("90% to all", 0.9, 1.0), ("every frame", 1.0, 2.0)]


def predictions_of(test: dict, head: str = "fused") -> dict[str, tuple[int, int]]:
    """{clip name: (label, predicted)} from one fold's loaded held-out scores."""
    return {name: (int(label), int(predicted)) for name, label, predicted
            in zip(test["names"], test["labels"], test[f"heads/{head}"].argmax(1), strict=True)}


def pooled_predictions(run: Path, head: str = "fused") -> dict[str, tuple[int, int]]:
    """{clip name: (label, predicted)} over the folds of one cross-validation folder."""
    out = {}
    for scores in sorted(run.glob("fold*/scores.safetensors")):
        out.update(predictions_of(load_scores(scores)[1]["test"], head))
    return out


def mean_class(labels: np.ndarray, correct: np.ndarray, classes: int) -> float:
    return float(np.mean([correct[labels == k].mean() for k in range(classes) if (labels == k).any()]))


def sign_test(only_a: int, only_b: int) -> float:
    """Two-sided exact binomial p of ``only_a`` successes in ``only_a + only_b`` fair coin flips."""
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def mean_class_permutation(labels: np.ndarray, a: np.ndarray, b: np.ndarray, classes: int,
                           flips: int = 20_000) -> float:
    """Two-sided p of the mean-class-accuracy difference under random swaps of the two models per clip."""
    counts = np.bincount(labels, minlength=classes)
    present = (counts > 0).sum()
    weights = 1.0 / (present * counts[labels])
    difference = weights * (a.astype(float) - b.astype(float))
    observed = abs(difference.sum())
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=(flips, len(labels)))
    null = np.abs(signs @ difference)
    return float((1 + (null >= observed - 1e-12).sum()) / (flips + 1))


def cv_table(folder: Path, names: list[str]) -> None:
    print("| config | model | fold top-1 | top-1 mean +- std | mean class acc. mean +- std | "
          "hands missing in most frames: top-1 (n) |")
    print("|---|---|---|---|---|---|")
    for name in names:
        cv = json.loads((folder / name / "cv.json").read_text())
        folds = " / ".join(f"{f['test_top1']:.3f}" for f in cv["folds"])
        first_fold = sorted((folder / name).glob("fold*/result.json"))[0]  # a --only run may lack fold0
        model = json.loads(first_fold.read_text())["model"]
        missing = cv.get("hands_missing")
        hands = f"{missing['top1']:.3f} ({missing['samples']})" if missing else "-"
        print(f"| {name} | {model} | {folds} | **{cv['mean']:.3f} +- {cv['std']:.3f}** | "
              f"**{cv['mean_class']:.3f} +- {cv['mean_class_std']:.3f}** | {hands} |")


def paired_table(folder: Path, names: list[str], against: str, classes: list[str]) -> None:
    reference = pooled_predictions(folder / against)
    print(f"| config | clips | right only here | right only in {against} | sign test p (top-1) | "
          f"mean class acc. here / {against} | permutation p (mean class) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        if name == against:
            continue
        predictions = pooled_predictions(folder / name)
        clips = sorted(set(predictions) & set(reference))
        labels = np.array([predictions[c][0] for c in clips])
        a = np.array([predictions[c][1] == predictions[c][0] for c in clips])
        b = np.array([reference[c][1] == reference[c][0] for c in clips])
        only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
        k = len(classes)
        print(f"| {name} | {len(clips)} | {only_a} | {only_b} | {sign_test(only_a, only_b):.3g} | "
              f"{mean_class(labels, a, k):.3f} / {mean_class(labels, b, k):.3f} | "
              f"{mean_class_permutation(labels, a, b, k):.3g} |")


def right_only(predictions: dict, reference: dict, clips: list[str]) -> tuple[int, int, int]:
    """(clips right in ``predictions``, right only there, right only in ``reference``) over ``clips``."""
    a = np.array([predictions[c][1] == predictions[c][0] for c in clips], bool)
    b = np.array([reference[c][1] == reference[c][0] for c in clips], bool)
    return int(a.sum()), int((a & ~b).sum()), int((b & ~a).sum())


def presence_table(folder: Path, names: list[str], against: str, data: Path) -> None:
    """Per hand-presence bin: each config's clips right, and right only there / only in ``against``."""
    file = DatasetFile(data)
    index = {name: i for i, name in enumerate(file.names)}
    reference = pooled_predictions(folder / against)
    clips = sorted(reference)
    unknown = [c for c in clips if c not in index]
    if unknown:
        raise SystemExit(f"{data}: holds no clip {unknown[0]!r} of {folder / against}; pass the file it was tested on")
    presence = dict(zip(clips, hand_presence(file, [index[c] for c in clips]), strict=True))
    bins = [(label, [c for c in clips if low <= presence[c] < high]) for label, low, high in PRESENCE_BINS]
    print("| config | " + " | ".join(f"{label} (n={len(members)})" for label, members in bins) + " |")
    print("|---|" + "---|" * len(bins))
    print("| cell | " + " | ".join(f"right; only here : only in {against}" for _ in bins) + " |")
    for name in names:
        predictions = pooled_predictions(folder / name)
        cells = []
        for _, members in bins:
            members = [c for c in members if c in predictions]
            right, only_here, only_there = right_only(predictions, reference, members)
            cells.append(f"{right}" if name == against else f"{right}; {only_here} : {only_there}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def confusion_of(folder: Path, name: str, classes: int, head: str = "fused") -> np.ndarray:
    confusion = np.zeros((classes, classes), np.int64)
    for label, predicted in pooled_predictions(folder / name, head).values():
        confusion[label, predicted] += 1
    return confusion


def shared_handshape_table(folder: Path, names: list[str], classes: list[str]) -> None:
    """Clips of one sign predicted as its look-alike, both ways, pooled over folds."""
    pairs = [(a, b) for a, b in SHARED_HANDSHAPES if a in classes and b in classes]
    if not pairs:
        return
    print("| config | " + " | ".join(f"{a} <-> {b}" for a, b in pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for name in names:
        confusion = confusion_of(folder, name, len(classes))
        cells = []
        for a, b in pairs:
            i, j = classes.index(a), classes.index(b)
            cells.append(f"{confusion[i, j] + confusion[j, i]} of {confusion[i].sum() + confusion[j].sum()}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def person_table(folder: Path, names: list[str]) -> None:
    """Fused top-1 per held-out person (clip names start with the person)."""
    rows = {}
    for name in names:
        hits: dict[str, list[bool]] = {}
        for clip, (label, predicted) in pooled_predictions(folder / name).items():
            hits.setdefault(clip.split("_")[0], []).append(label == predicted)
        rows[name] = {person: float(np.mean(h)) for person, h in hits.items()}
    people = sorted({p for row in rows.values() for p in row})
    print("| config | " + " | ".join(p.removeprefix("signer") for p in people) + " |")
    print("|---|" + "---|" * len(people))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[p]:.2f}" if p in row else "" for p in people) + " |")


def ceiling_table(folder: Path, names: list[str], classes: list[str]) -> None:
    """Mean class accuracy per fold of every head of every config, and of "any head right": the most any rule
    choosing among these heads clip by clip could score. Then the (person, sign) cells where under half the
    clips are right by any head."""
    folds = sorted(p.name for p in (folder / names[0]).glob("fold*"))
    heads: dict[str, list[dict[str, tuple[int, int]]]] = {}  # per head, per fold: {clip: (label, predicted)}
    for name in names:
        tests = [load_scores(folder / name / fold / "scores.safetensors")[1]["test"] for fold in folds]
        own: list[list[dict]] = []
        for head in sorted(k.removeprefix("heads/") for k in tests[0] if k.startswith("heads/")):
            per_fold = [predictions_of(test, head) for test in tests]
            if per_fold not in own:  # a single stream's head is its fused prediction: once
                own.append(per_fold)
                heads[f"{name} {head}"] = per_fold
    if not heads:
        raise SystemExit(f"{folder}: no held-out scores with heads in {', '.join(names)}")
    reference = next(iter(heads.values()))
    rows = dict(heads)
    rows["any head right"] = [
        {clip: (label, label if any(h[f][clip][1] == label for h in heads.values()) else -1)
         for clip, (label, _) in fold.items()} for f, fold in enumerate(reference)]
    print("| head | " + " | ".join(folds) + " | mean |")
    print("|---|" + "---|" * (len(folds) + 1))
    for row, per_fold in rows.items():
        scores = []
        for fold in per_fold:
            labels = np.array([label for label, _ in fold.values()])
            right = np.array([label == predicted for label, predicted in fold.values()])
            scores.append(mean_class(labels, right, len(classes)))
        print(f"| {row} | " + " | ".join(f"{v:.3f}" for v in scores) + f" | **{np.mean(scores):.3f}** |")
    cells: dict[tuple[str, int], list[bool]] = {}
    for fold in rows["any head right"]:
        for clip, (label, predicted) in fold.items():
            cells.setdefault((clip.split("_")[0], label), []).append(label == predicted)
    hard = [f"{person} {classes[label]} {np.mean(hits):.2f} of {len(hits)}"
            for (person, label), hits in sorted(cells.items()) if np.mean(hits) < 0.5]
    print("\n(person, sign) cells where under half the clips are right by any head: " + (", ".join(hard) or "none"))


def nucla_table() -> None:
    print("| stream | test top-1 (view 3) | epochs |")
    print("|---|---|---|")
    for stream in ("J", "B", "JM", "BM"):
        path = RUNS / "nucla" / stream / "result.json"
        if path.is_file():
            result = json.loads(path.read_text())
            print(f"| {stream} | {result['test_top1']:.4f} | {result['epochs']} |")
    fusion = RUNS / "nucla" / "fusion.json"
    if fusion.is_file():
        for row in json.loads(fusion.read_text())["table"]:
            print(f"| fusion: {row['input']} | {row['test_top1']:.4f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--against", default="hand")
    parser.add_argument("--pictures", type=Path)
    parser.add_argument("--runs", type=Path, help="the folder of cross-validation folders")
    parser.add_argument("--data", type=Path, help="the dataset file, for the table per hand-presence bin")
    parser.add_argument("--ceiling", action="store_true",
                        help="also the mean class accuracy of 'any head right' over every config and head")
    args = parser.parse_args()
    if args.dataset == "nucla":
        nucla_table()
        return
    folder = args.runs or RUNS / f"{args.dataset}-cv"
    names = [n for n in ORDER if (folder / n / "cv.json").is_file()]
    names += sorted(p.parent.name for p in folder.glob("*/cv.json") if p.parent.name not in names)
    classes = json.loads((folder / names[0] / "cv.json").read_text())["classes"]
    cv_table(folder, names)
    print()
    if args.against in names:
        paired_table(folder, names, args.against, classes)
        print()
        if args.data:
            presence_table(folder, names, args.against, args.data)
            print()
    shared_handshape_table(folder, names, classes)
    print()
    person_table(folder, names)
    if args.ceiling:
        print()
        ceiling_table(folder, names, classes)
    if args.pictures:
        args.pictures.mkdir(parents=True, exist_ok=True)
        for name in names:
            plots.confusion_matrix(confusion_of(folder, name, len(classes)), classes,
                                   args.pictures / f"confusion_{name}.png",
                                   f"{args.dataset} {name}: confusion, pooled over the person folds")


if __name__ == "__main__":
    exit_on_error(main, Path(__file__).name)
