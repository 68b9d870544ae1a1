"""`ec2-stop`: stop one running EC2 instance, once a second person approves."""

from __future__ import annotations

from handlers.actions.ec2 import ec2_spec
from handlers.actions.entries import action_capability

CAPABILITY = action_capability(
    ec2_spec("ec2-stop", "StopInstances", from_states=("running", "pending"), to_state="stopped",
             effect="the instance stops and serves nothing; EBS volumes are kept, instance-store data and a "
                    "public IP without an Elastic IP are lost"),
    summary="stop an EC2 instance (approval needed)", order=62)
