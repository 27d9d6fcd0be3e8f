"""Agent configurations of the G1 tracking task."""
