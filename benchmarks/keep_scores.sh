#!/usr/bin/env bash
# Keep what paired tests need of cross-validation folders (runs/ does not outlive a machine): cv.json and each
# fold's result.json and held-out scores (a few kB per fold), not the checkpoints.
# Usage: benchmarks/keep_scores.sh DEST CV_FOLDER...   e.g. benchmarks/keep_scores.sh docs/results/signs_scores runs/signs-cv/hand_s2
# Then: benchmarks/collect_results.py signs --runs DEST --against hand_s2
set -euo pipefail
dest=${1:?usage: benchmarks/keep_scores.sh DEST CV_FOLDER...}
shift
[ $# -gt 0 ] || { echo "keep_scores.sh: name at least one cross-validation folder" >&2; exit 2; }
for run in "$@"; do
    [ -f "$run/cv.json" ] || { echo "keep_scores.sh: $run/cv.json not found (an unfinished cross-validation?)" >&2; exit 2; }
    name=$(basename "$run")
    mkdir -p "$dest/$name"
    cp "$run/cv.json" "$dest/$name/"
    for fold in "$run"/fold*; do
        mkdir -p "$dest/$name/$(basename "$fold")"
        cp "$fold/result.json" "$fold/scores.safetensors" "$dest/$name/$(basename "$fold")/"
    done
done
