"""Robot descriptions: the Unitree G1 29-DoF constants and its Isaac Lab articulation cfg."""
