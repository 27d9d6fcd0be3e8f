"""MDP terms of the motion-tracking task: Isaac Lab's generic terms plus the tracking-specific ones."""

from isaaclab.envs.mdp import *  # noqa: F401, F403

from .actions import (  # noqa: F401
    RealisticJointPositionAction,
    RealisticJointPositionActionCfg,
    ReferenceJointPositionAction,
    ReferenceJointPositionActionCfg,
)
from .commands import MotionCommand, MotionCommandCfg  # noqa: F401
from .curriculums import *  # noqa: F401, F403
from .events import *  # noqa: F401, F403
from .observations import *  # noqa: F401, F403
from .rewards import *  # noqa: F401, F403
from .rewards_deepmimic import *  # noqa: F401, F403
from .terminations import *  # noqa: F401, F403
