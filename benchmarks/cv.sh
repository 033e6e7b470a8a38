#!/usr/bin/env bash
# Person-grouped cross-validation of the configs of one dataset folder, CPU budget recipe.
# Usage: benchmarks/cv.sh DATASET [CONFIG_NAME...]
#   DATASET signs:       configs/signs, 4 folds of 3 signers (needs data/signs_crowd12.bhd)
#   DATASET signs_plus:  configs/signs_plus, 5 folds of about 4 people, signer13 and signer14 together
#                        (needs data/signs_crowd_plus21.bhd)
# Default configs: bharnet body hand unified B P E E_pam. Results in runs/<DATASET>-cv/<name>/cv.json;
# interrupted runs resume where they stopped.
# BHARNET_ARGS: extra arguments for every run, e.g. "--set train.threads=1" to run two scripts side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
dataset=${1:?usage: benchmarks/cv.sh DATASET [CONFIG_NAME...]}
shift
case "$dataset" in
    signs) folds=(--folds 4) ;;
    signs_plus) folds=(--folds 5 --together signer13+signer14) ;;
    *) echo "unknown dataset $dataset (signs, signs_plus)" >&2; exit 2 ;;
esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(bharnet body hand unified B P E E_pam)
for name in "${names[@]}"; do
    start=$(date +%s)
    "$BHARNET" cv "configs/$dataset/$name.yaml" "${folds[@]}" --recipe cpu --quiet --out "runs/$dataset-cv/$name" ${BHARNET_ARGS:-}
    echo "$name: $(( $(date +%s) - start )) s wall"
done
