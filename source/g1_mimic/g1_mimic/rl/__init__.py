"""Training-side helpers shared by the scripts: checkpoints, sessions, export and evaluation."""
