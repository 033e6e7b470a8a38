#!/usr/bin/env bash
# Signer-grouped 4-fold cross-validation on signs-crowd, every model of docs/results.md, CPU budget recipe.
# Usage: benchmarks/signs_cv.sh [CONFIG_NAME...]   (default: all; results in runs/signs-cv/<name>/cv.json)
# Needs data/signs_crowd12.bhd (see configs/signs/base.yaml). Interrupted runs resume where they stopped.
# BHARNET_ARGS: extra arguments for every run, e.g. "--set train.threads=1" to run two scripts side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(E_pam body hand B E unified E_pam_noisy_or E_pam_calibration_free)
for name in "${names[@]}"; do
    start=$(date +%s)
    "$BHARNET" cv "configs/signs/$name.yaml" --folds 4 --recipe cpu --quiet --out "runs/signs-cv/$name" ${BHARNET_ARGS:-}
    echo "$name: $(( $(date +%s) - start )) s wall"
done
