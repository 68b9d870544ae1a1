"""`ecs-redeploy`: force a new deployment of an ECS service, once a second person approves."""

from __future__ import annotations

from handlers.actions.entries import action_capability
from handlers.actions.others import ecs_redeploy

CAPABILITY = action_capability(
    ecs_redeploy(),
    summary="force a new ECS deployment of a service (approval needed)", order=64)
