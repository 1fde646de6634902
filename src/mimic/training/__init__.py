"""Training runs: logging of metrics, the training loop, checkpoints of a run."""
