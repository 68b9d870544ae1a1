"""Smart CloudOps AI."""
