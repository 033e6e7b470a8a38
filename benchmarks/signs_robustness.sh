#!/usr/bin/env bash
# Robustness of the signs-crowd CV models (benchmarks/signs_cv.sh must have run for them): each fold's last
# checkpoint on that fold's held-out signers, corrupted; then the mean over folds in one plot.
# Usage: benchmarks/signs_robustness.sh [CONFIG_NAME...]   (default: body E_pam); output runs/signs-robustness/
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(body E_pam)
for fold in 0 1 2 3; do
    configs=() checkpoints=()
    for name in "${names[@]}"; do
        configs+=("runs/signs-cv/$name/fold$fold/config.yaml")  # the fold's resolved config: its own test signers
        checkpoints+=("runs/signs-cv/$name/fold$fold/checkpoints/last")
    done
    "$BHARNET" robustness "${configs[@]}" --checkpoint "${checkpoints[@]}" --quiet --out "runs/signs-robustness/fold$fold"
done
.venv/bin/python - <<'PY'
import json
from pathlib import Path

import numpy as np

from bharnet.engine.robustness import write_robustness

folds = [json.loads(p.read_text()) for p in sorted(Path("runs/signs-robustness").glob("fold*/robustness.json"))]
levels = folds[0]["levels"]
mean = {model: {kind: np.mean([f["top1"][model][kind] for f in folds], axis=0).tolist() for kind in levels}
        for model in folds[0]["top1"]}
write_robustness(Path("runs/signs-robustness"), levels, mean,
                 f"signs-crowd, mean over {len(folds)} signer folds (test signers unseen)")
for model, results in mean.items():
    print(model, {kind: [round(v, 3) for v in values] for kind, values in results.items()})
PY
