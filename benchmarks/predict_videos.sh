#!/usr/bin/env bash
# bharnet predict with the bundled neat11 checkpoint on the five MSL-150 videos and the two NTU clips:
# rendered videos and one annotated frame each in runs/predict/, the end-to-end frames/s printed per video.
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
VIDEOS=${VIDEOS:-../shared/data/videos}
mkdir -p runs/predict
for video in "$VIDEOS"/msl150/*.mp4 "$VIDEOS"/*.avi; do
    name=$(basename "${video%.*}")
    echo "== $name"
    "$BHARNET" predict "$video" --checkpoint neat11 --render "runs/predict/$name.mp4" \
        --snapshot "runs/predict/$name.png" --json "runs/predict/$name.json" --quiet 2>&1 | grep -v '^W0000'
done
