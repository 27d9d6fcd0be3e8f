"""Robot-specific configurations of the tracking task."""
