"""The motion-tracking task (manager-based)."""
