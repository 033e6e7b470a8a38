#!/usr/bin/env bash
# N-UCLA cross-view (train views 1+2, test view 3), body stream, CPU budget recipe: the joint (J), bone (B),
# joint-motion (JM) and bone-motion (BM) streams, then their late fusion.
# Usage: benchmarks/nucla.sh [STREAM...]   (default: J B JM BM; runs in runs/nucla/<stream>)
# Needs data/nucla.bhd:  bharnet convert ../shared/data/nucla/all_sqe --format nucla --out data/nucla.bhd
# BHARNET_ARGS: extra arguments for every run, e.g. "--set train.threads=1" to run two scripts side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
streams=("$@")
[ ${#streams[@]} -gt 0 ] || streams=(J B JM BM)
for stream in "${streams[@]}"; do
    config=configs/nucla_xview/$stream.yaml
    [ "$stream" = J ] && config=configs/nucla_xview/base.yaml
    resume=()
    [ -f "runs/nucla/$stream/checkpoints/last.safetensors" ] && resume=(--resume)
    start=$(date +%s)
    "$BHARNET" train "$config" --recipe cpu --quiet --out "runs/nucla/$stream" "${resume[@]}" ${BHARNET_ARGS:-}
    echo "$stream: $(( $(date +%s) - start )) s wall"
done
scores=()
for stream in J B JM BM; do
    [ -f "runs/nucla/$stream/scores.safetensors" ] && scores+=("runs/nucla/$stream/scores.safetensors")
done
# N-UCLA has no validation split, so the streams are fused with fixed equal weights, never fit on test
if [ ${#scores[@]} -gt 1 ]; then
    weights=$(printf '1,%.0s' "${scores[@]}")
    "$BHARNET" fuse "${scores[@]}" --weights "${weights%,}" --out runs/nucla/fusion.json
fi
