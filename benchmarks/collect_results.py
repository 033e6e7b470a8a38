"""Markdown tables of the measured results in runs/ (signs-crowd CV, N-UCLA), for docs/results.md.

Usage: .venv/bin/python benchmarks/collect_results.py
"""

import json
from pathlib import Path

RUNS = Path("runs")
SIGNS_ORDER = ["body", "hand", "unified", "B", "E", "E_pam", "E_pam_noisy_or",
               "E_pam_calibration_free"]


def signs_table() -> None:
    print("| config | model | fold top-1 (held-out signers) | mean +- std | hands missing in most frames: top-1 (n) |")
    print("|---|---|---|---|---|")
    for name in SIGNS_ORDER:
        path = RUNS / "signs-cv" / name / "cv.json"
        if not path.is_file():
            print(f"| {name} | not run | | | |")
            continue
        cv = json.loads(path.read_text())
        folds = " / ".join(f"{f['test_top1']:.3f}" for f in cv["folds"])
        model = json.loads((RUNS / "signs-cv" / name / "fold0" / "result.json").read_text())["model"]
        missing = cv.get("hands_missing")
        hands = f"{missing['top1']:.3f} ({missing['samples']})" if missing else "-"
        print(f"| {name} | {model} | {folds} | **{cv['mean']:.3f} +- {cv['std']:.3f}** | {hands} |")


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
    signs_table()
    print()
    nucla_table()
