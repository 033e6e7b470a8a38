"""Data sub-commands: convert, inspect, show, layouts, ntu-splits, demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from bharnet.data.readers import SCANNERS


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "convert",
        help="convert a dataset in any supported format into one bharnet dataset file",
        description=(
            "Read SOURCE as FORMAT and write one dataset file (arrays, labels, class names, named splits, "
            "layout) that loads in a fraction of a second. Formats: ntu (folder of .skeleton files), nucla "
            "(folder of N-UCLA json), pyskl (pyskl/mmaction2 annotation pickle), pku-mmd (skeleton + label "
            "folders), mediapipe (ACTION/SEQ/FRAME.npy exports)."
        ),
    )
    p.add_argument("source", type=Path, help="file or folder to read")
    p.add_argument("--format", "-f", required=True, choices=sorted(SCANNERS), help="source format")
    p.add_argument("--out", "-o", required=True, type=Path, help="dataset file to write (e.g. nucla.bhd)")
    p.add_argument("--workers", type=int, default=None, help="parsing processes (default: all cores)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="stop at the first unreadable item (default) or skip and list it")
    p.add_argument("--splits", type=Path, default=None, metavar="JSON",
                   help="extra splits {name: [sample names]} to store (e.g. an official protocol list)")
    p.add_argument("--trust", action="store_true",
                   help="pyskl: allow unpickling SOURCE (pickle runs code; only for files you trust)")
    p.add_argument("--layout", default=None, help="pyskl: skeleton layout of the keypoints (default: from the file)")
    p.add_argument("--vector", default=None,
                   help="mediapipe: frame vector layout 1662, 258, 1704, 2172 or 226 (default: from its length)")
    p.add_argument("--missing", type=Path, default=None,
                   help="ntu: list of samples with missing skeletons to leave out")
    p.add_argument("--ntu-version", type=int, choices=(60, 120), default=None,
                   help="ntu: benchmark whose splits to store (default: 60 if every sample is in NTU60)")
    p.add_argument("--labels", type=Path, default=None, help="pku-mmd: label folder (default: found beside)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(run=run_convert)

    p = commands.add_parser("inspect", help="summarize a dataset file: samples, classes, splits, frames")
    p.add_argument("dataset", type=Path)
    p.set_defaults(run=run_inspect)

    p = commands.add_parser("show", help="draw samples of a dataset file as skeleton pictures (PNG)")
    p.add_argument("dataset", type=Path)
    p.add_argument("--index", "-i", type=int, nargs="+", default=[0], help="sample indices (default 0)")
    p.add_argument("--frames", type=int, default=6, help="frames per picture (default 6)")
    p.add_argument("--out", "-o", type=Path, default=Path("."), help="folder for the PNG files")
    p.set_defaults(run=run_show)

    p = commands.add_parser(
        "demo",
        help="the embedded demo: body-only vs BHaRNet trained on a synthetic body+hand dataset",
        description="Builds a procedurally generated, clearly synthetic body+hand dataset (classes share "
        "the arm wave and differ only in finger motion; performers split into train and test), saves one "
        "skeleton picture per class, trains a body-only model and BHaRNet (E+PAM) on it, and prints and "
        "plots their test accuracy (comparison.png; each model's run folder has its confusion matrix and "
        "learning curves). Needs no download; about a minute on 2 CPU cores.",
    )
    p.add_argument("--out", "-o", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    p.add_argument("--epochs", type=int, default=12, help="training epochs per model (default 12)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run_demo)

    p = commands.add_parser("layouts", help="list skeleton layouts, body/hand splits and MediaPipe frame vectors")
    p.add_argument("name", nargs="?", help="show one layout's joints and edges")
    p.set_defaults(run=run_layouts)

    p = commands.add_parser(
        "ntu-splits",
        help="count NTU benchmark splits from the metadata name lists",
        description="Reads skes_available_name.txt and the missing-skeleton list in FOLDER and prints "
        "train/test counts of each benchmark (xsub, xview for NTU60; xsub, xset for NTU120).",
    )
    p.add_argument("folder", type=Path, help="folder with skes_available_name.txt (ntu-metadata/ntu60 or ntu120)")
    p.add_argument("--version", type=int, choices=(60, 120), default=None, help="default: from the names")
    p.set_defaults(run=run_ntu_splits)


def run_convert(args: argparse.Namespace) -> int:
    from bharnet.data.convert import convert

    options = {
        "ntu": {"missing": args.missing, "version": args.ntu_version},
        "pyskl": {"trusted": args.trust, "layout": args.layout},
        "mediapipe": {"vector": args.vector},
        "pku-mmd": {"labels": args.labels},
        "nucla": {},
    }[args.format]
    report = convert(
        args.source, args.format, args.out, workers=args.workers, on_error=args.on_error,
        extra_splits=args.splits, progress=not args.quiet, **options,
    )
    print(f"wrote {report.out}: {report.samples} samples, {report.classes} classes in {report.seconds:.1f} s")
    for name, count in report.splits.items():
        print(f"  split {name}: {count}")
    if report.skipped:
        print(f"skipped {len(report.skipped)} unreadable items:")
        for problem in report.skipped:
            print(f"  {problem}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from bharnet.data.store import DatasetFile

    dataset = DatasetFile(args.dataset)
    print(dataset.summary())
    counts = dataset.labels.tolist()
    for label, name in enumerate(dataset.classes):
        print(f"  class {label:3d} {name}: {counts.count(label)}")
    return 0


def run_layouts(args: argparse.Namespace) -> int:
    from bharnet.data.readers.mediapipe import FRAME_VECTORS
    from bharnet.skeleton import get_layout, layout_names
    from bharnet.skeleton.split import body_hand_split, split_layouts

    if args.name:
        layout = get_layout(args.name)
        print(f"{layout.name}: {layout.description} (root {layout.joints[layout.root]})")
        for j, joint in enumerate(layout.joints):
            parent = layout.parents[j]
            print(f"  {j:3d} {joint:28s} parent {parent:3d} {layout.joints[parent]}")
        return 0
    print("skeleton layouts:")
    for name in layout_names():
        layout = get_layout(name)
        print(f"  {name:24s} {layout.num_joints:4d} joints  {layout.description}")
    print("body/hand splits (source -> body stream + hand21 hands):")
    for name in split_layouts():
        split = body_hand_split(name)
        hands = "left + right hand21" if split.has_hands else "no hands (estimate them from RGB)"
        print(f"  {name:24s} body {split.body_layout} ({len(split.body)} joints), {hands}")
    print("MediaPipe frame vectors (decoded into mediapipe_holistic75):")
    for length, vector in FRAME_VECTORS.items():
        print(f"  {length:5d}  {vector.description}")
    return 0


def run_ntu_splits(args: argparse.Namespace) -> int:
    from bharnet.data.protocols import ntu_benchmark_names, ntu_splits, ntu_version
    from bharnet.errors import DataFormatError

    folder = args.folder
    available = folder / "skes_available_name.txt"
    missing = sorted(folder.glob("*missing_skeletons*.txt"))
    if not available.exists():
        raise DataFormatError(folder, "no skes_available_name.txt in this folder")
    names = ntu_benchmark_names(available, missing[0] if missing else None)
    version = args.version or ntu_version(names)
    print(f"NTU RGB+D {version}: {len(names)} samples" + (f" (minus {missing[0].name})" if missing else ""))
    splits = ntu_splits(names, version)
    for benchmark in sorted({k.split("/")[0] for k in splits}):
        print(f"  {benchmark}: train {len(splits[benchmark + '/train'])}, test {len(splits[benchmark + '/test'])}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from bharnet.data.store import DatasetFile
    from bharnet.viz import save_sample_overlay

    dataset = DatasetFile(args.dataset)
    for index in args.index:
        sample = dataset[index]
        title = f"{sample.name}: {dataset.classes[sample.label]}"
        path = args.out / f"{args.dataset.stem}_{index}.png"
        print(save_sample_overlay(sample, dataset.layout, path, args.frames, title))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from bharnet.demo import run_demo as demo

    demo(args.out, args.seed, args.epochs, progress=not args.quiet)
    return 0
