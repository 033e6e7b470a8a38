#!/usr/bin/env bash
# Robustness of cross-validated models (benchmarks/cv.sh must have run for them): each fold's last checkpoint
# on that fold's held-out people, corrupted; then the mean over folds in one table and plot.
# Usage: benchmarks/robustness.sh DATASET [CONFIG_NAME...]   (default: body hand bharnet)
# Output: runs/<DATASET>-robustness/, or $ROBUSTNESS_OUT (robustness.json/.csv/.png of the mean; fold<k>/ per fold)
# BHARNET_ARGS: extra arguments, e.g. "--set train.workers=0 --set train.threads=1" beside training jobs
# ROBUSTNESS_LEVELS: the corruption levels (default below); "--kind=" leaves a panel out, e.g.
#   "--noise 0,0.01,0.02 --hands-missing 0.75,1 --hand-noise= --body-noise= --frame-drop="
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
dataset=${1:?usage: benchmarks/robustness.sh DATASET [CONFIG_NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(body hand bharnet)
out=${ROBUSTNESS_OUT:-runs/$dataset-robustness}
levels=${ROBUSTNESS_LEVELS:---noise 0,0.01,0.02,0.05 --hand-noise 0,0.01,0.02,0.05 --body-noise 0,0.02,0.05 \
--frame-drop 0,0.25,0.5 --hands-missing 0,0.25,0.5,0.75,1}
for run in "runs/$dataset-cv/${names[0]}"/fold*; do
    fold=$(basename "$run")
    configs=() checkpoints=()
    for name in "${names[@]}"; do
        configs+=("runs/$dataset-cv/$name/$fold/config.yaml")  # the fold's resolved config: its own test people
        checkpoints+=("runs/$dataset-cv/$name/$fold/checkpoints/last")
    done
    "$BHARNET" robustness "${configs[@]}" --checkpoint "${checkpoints[@]}" --labels "${names[@]}" --quiet \
        --out "$out/$fold" $levels ${BHARNET_ARGS:-}
done
.venv/bin/python - "$out" "$dataset" <<'PY'
import json
import sys
from pathlib import Path

import numpy as np

from bharnet.engine.robustness import write_robustness

out, dataset = Path(sys.argv[1]), sys.argv[2]
folds = [json.loads(p.read_text()) for p in sorted(out.glob("fold*/robustness.json"))]
levels = folds[0]["levels"]
mean = {model: {kind: np.mean([f["top1"][model][kind] for f in folds], axis=0).tolist() for kind in levels}
        for model in folds[0]["top1"]}
write_robustness(out, levels, mean, f"{dataset}: mean over {len(folds)} person folds (test people unseen)")
for model, results in mean.items():
    print(model, {kind: [round(v, 3) for v in values] for kind, values in results.items()})
PY
