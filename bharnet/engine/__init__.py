"""Training engine: the trainer, checkpoints, metrics, event logs, late fusion and cross-validation."""
