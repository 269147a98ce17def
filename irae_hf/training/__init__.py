"""Training: the run's configuration, data and degradations on the fly, losses, the trainer, checkpoints and run
cards."""
