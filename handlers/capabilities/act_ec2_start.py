"""`ec2-start`: start one stopped EC2 instance, once a second person approves."""

from __future__ import annotations

from handlers.actions.ec2 import ec2_spec
from handlers.actions.entries import action_capability

CAPABILITY = action_capability(
    ec2_spec("ec2-start", "StartInstances", from_states=("stopped",), to_state="running",
             effect="the instance boots and passes its status checks in a few minutes; billing resumes"),
    summary="start a stopped EC2 instance (approval needed)", order=63)
