"""`ecs-rollback`: roll an ECS service back to its previous task definition, once approved."""

from __future__ import annotations

from handlers.actions.entries import action_capability
from handlers.actions.others import ecs_rollback

CAPABILITY = action_capability(
    ecs_rollback(),
    summary="roll an ECS service back to its previous task definition (approval needed)", order=65)
