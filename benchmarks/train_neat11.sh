#!/usr/bin/env bash
# Trains the bundled neat11 checkpoint (bharnet/assets/neat11.safetensors) on 2 CPU cores.
# The data: bharnet convert ../shared/data/mediapipe-raw/neat11/MP_DATA --format mediapipe --out data/neat11.bhd
set -euo pipefail
cd "$(dirname "$0")/.."
BHARNET=${BHARNET:-.venv/bin/bharnet}
[ -f runs/neat11/result.json ] || "$BHARNET" train configs/neat11/bharnet.yaml --out runs/neat11 --quiet ${BHARNET_ARGS:-}
# the last epoch's weights without the optimizer state: what predict needs, a third of the size
.venv/bin/python - <<'PY'
from bharnet.config import load_config
from bharnet.engine.checkpoint import load_checkpoint, save_checkpoint
from bharnet.engine.experiment import Experiment

experiment = Experiment(load_config("configs/neat11/bharnet.yaml"))
state = load_checkpoint("runs/neat11/checkpoints/last", experiment.model)
state.pop("scheduler", None), state.pop("scaler", None)
from pathlib import Path
save_checkpoint(Path("bharnet/assets/neat11"), experiment.model, None, state)
PY
rm -f bharnet/assets/neat11.json
ls -l bharnet/assets/neat11.safetensors
