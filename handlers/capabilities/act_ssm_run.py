"""`ssm-run`: run an allowlisted SSM document with validated parameters, once approved."""

from __future__ import annotations

from handlers.actions.entries import action_capability
from handlers.actions.others import ssm_run

CAPABILITY = action_capability(
    ssm_run(),
    summary="run an allowlisted SSM Run Command document (approval needed)", order=67)
