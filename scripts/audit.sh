#!/bin/sh
# pip-audit that cannot pass by auditing nothing.
#
# Without PyPI's vulnerability data (offline, or a package mirror that serves the JSON API without its
# "vulnerabilities" field) pip-audit reports "No known vulnerabilities found" and exits 0. So each
# vulnerability service is first asked about a canary, a pinned release with published advisories;
# unless it names one, the data did not arrive and the job fails. Then the real requirements are audited.
# Usage: scripts/audit.sh REQUIREMENTS_FILE   (PIP_AUDIT=path/to/pip-audit to pick the binary)
set -eu
REQS="${1:?usage: scripts/audit.sh REQUIREMENTS_FILE}"
PIP_AUDIT="${PIP_AUDIT:-pip-audit}"
CANARY="$(mktemp)"
trap 'rm -f "$CANARY"' EXIT
echo "requests==2.19.1" > "$CANARY"  # CVE-2018-18074 (PYSEC-2018-28), CVE-2023-32681, …

for service in pypi osv; do
    out="$("$PIP_AUDIT" --progress-spinner off --no-deps --disable-pip -s "$service" -r "$CANARY" 2>&1 || true)"
    if ! printf '%s\n' "$out" | grep -Eq '(PYSEC|GHSA)-[0-9a-z]+'; then
        echo "pip-audit ($service): no advisory for the canary requests==2.19.1, so no vulnerability data" >&2
        echo "was fetched; refusing to report the real requirements as clean. pip-audit said:" >&2
        printf '%s\n' "$out" >&2
        exit 1
    fi
    echo "pip-audit ($service): vulnerability data is reachable; auditing $REQS"
    "$PIP_AUDIT" --progress-spinner off --no-deps --disable-pip --strict -s "$service" -r "$REQS"
done
