"""`asg-capacity`: set an Auto Scaling group's desired capacity within its min/max, once approved."""

from __future__ import annotations

from handlers.actions.entries import action_capability
from handlers.actions.others import asg_capacity

CAPABILITY = action_capability(
    asg_capacity(),
    summary="set an Auto Scaling group's desired capacity within min/max (approval needed)", order=66)
