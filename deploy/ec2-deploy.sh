#!/usr/bin/env bash
# Switch the bot on this EC2 instance to CLOUDOPS_IMAGE and keep it only if it turns healthy.
# Run by SSM Run Command from .github/workflows/release.yml (which sets CLOUDOPS_IMAGE), or by hand:
#   sudo CLOUDOPS_IMAGE=ghcr.io/<org>/smart-cloudops-ai:1.2.3 /opt/cloudops-bot/deploy/ec2-deploy.sh
# Layout (deploy/ec2-runbook.md): the repository at /opt/cloudops-bot, the bot's settings in
# /opt/cloudops-bot/.env, the image in use recorded in /etc/cloudops-bot/image.env.
set -euo pipefail

: "${CLOUDOPS_IMAGE:?set CLOUDOPS_IMAGE to the image to deploy}"
DIR="${CLOUDOPS_DIR:-/opt/cloudops-bot}"
STATE="${CLOUDOPS_IMAGE_STATE:-/etc/cloudops-bot/image.env}"
WAIT_S="${CLOUDOPS_HEALTH_WAIT_S:-180}"

compose() { docker compose --env-file "$STATE" -f "$DIR/deploy/docker-compose.yml" "$@"; }

use_image() {
  mkdir -p "$(dirname "$STATE")"
  printf 'CLOUDOPS_IMAGE=%s\n' "$1" > "$STATE.new" && mv "$STATE.new" "$STATE"
  compose up -d --no-build --remove-orphans cloudops-bot
}

healthy_within() {
  local deadline=$((SECONDS + $1)) cid status
  while [ "$SECONDS" -lt "$deadline" ]; do
    cid="$(compose ps -q cloudops-bot)"
    status="$(docker inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null || echo missing)"
    [ "$status" = healthy ] && return 0
    sleep 5
  done
  echo "cloudops-bot container is '$status' after $1 s" >&2
  return 1
}

previous="$(sed -n 's/^CLOUDOPS_IMAGE=//p' "$STATE" 2>/dev/null || true)"
echo "deploying $CLOUDOPS_IMAGE (previous: ${previous:-none})"
docker pull --quiet "$CLOUDOPS_IMAGE"
use_image "$CLOUDOPS_IMAGE"
if healthy_within "$WAIT_S"; then
  echo "deployed $CLOUDOPS_IMAGE: healthy"
  docker image prune --force --filter "until=168h" >/dev/null || true
  exit 0
fi
docker logs --tail 40 "$(compose ps -q cloudops-bot)" >&2 || true
if [ -n "$previous" ] && [ "$previous" != "$CLOUDOPS_IMAGE" ]; then
  echo "rolling back to $previous" >&2
  use_image "$previous"
  healthy_within "$WAIT_S" || echo "the previous image is not healthy either" >&2
fi
exit 1
