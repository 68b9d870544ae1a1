"""`ec2-reboot`: reboot one running EC2 instance, once a second person approves."""

from __future__ import annotations

from handlers.actions.ec2 import ec2_spec
from handlers.actions.entries import action_capability

CAPABILITY = action_capability(
    ec2_spec("ec2-reboot", "RebootInstances", from_states=("running",), to_state="running",
             effect="the instance's OS restarts (usually a few minutes); it keeps its IPs, volumes and data"),
    summary="reboot an EC2 instance (approval needed)", order=61)
