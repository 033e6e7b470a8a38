"""Markdown tables of the measured results in runs/ (signs-crowd CV, N-UCLA), for docs/results.md.

Usage: .venv/bin/python benchmarks/collect_results.py [SIGNS_CV_DIR]   (default runs/signs-cv)
"""

import json
import sys
from pathlib import Path

import numpy as np

from bharnet.engine.evaluation import load_scores

RUNS = Path("runs")
SIGNS_ORDER = ["body", "hand", "unified", "B", "E", "E_pam", "E_pam_noisy_or",
               "E_pam_calibration_free"]


def signs_table(cv_dir: Path) -> None:
    print("| config | model | fold top-1 (held-out signers) | mean +- std | hands missing in most frames: top-1 (n) |")
    print("|---|---|---|---|---|")
    for name in SIGNS_ORDER:
        path = cv_dir / name / "cv.json"
        if not path.is_file():
            print(f"| {name} | not run | | | |")
            continue
        cv = json.loads(path.read_text())
        folds = " / ".join(f"{f['test_top1']:.3f}" for f in cv["folds"])
        model = json.loads((cv_dir / name / "fold0" / "result.json").read_text())["model"]
        missing = cv.get("hands_missing")
        hands = f"{missing['top1']:.3f} ({missing['samples']})" if missing else "-"
        print(f"| {name} | {model} | {folds} | **{cv['mean']:.3f} +- {cv['std']:.3f}** | {hands} |")


def signer_table(cv_dir: Path) -> None:
    """Fused top-1 per held-out signer (sample names start with the signer), every config that ran."""
    rows = {}
    for name in SIGNS_ORDER:
        correct: dict[str, list[bool]] = {}
        for scores in sorted((cv_dir / name).glob("fold*/scores.safetensors")):
            test = load_scores(scores)[1]["test"]
            hits = test["heads/fused"].argmax(1) == test["labels"]
            for sample, hit in zip(test["names"], hits, strict=True):
                correct.setdefault(sample.split("_")[0], []).append(bool(hit))
        if correct:
            rows[name] = {signer: np.mean(hits) for signer, hits in correct.items()}
    signers = sorted({signer for row in rows.values() for signer in row})
    print("| config | " + " | ".join(s.removeprefix("signer") for s in signers) + " |")
    print("|---|" + "---|" * len(signers))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[s]:.2f}" if s in row else "" for s in signers) + " |")


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


if __name__ == "__main__":
    cv_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else RUNS / "signs-cv"
    signs_table(cv_dir)
    print()
    signer_table(cv_dir)
    print()
    nucla_table()
