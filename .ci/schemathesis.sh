#!/usr/bin/env bash
# Proves /openapi.json true: runs schemathesis (pinned, from PyPI) with every check against a
# freshly built issuebox on a temporary store and a loopback port, and fails on any server error,
# schema violation or panic.
#
# Short mode (the default, for CI): a bounded number of examples per operation and a hard time
# limit, well under 5 minutes on 2 cores. SCHEMATHESIS_EXAMPLES and SCHEMATHESIS_TIME_LIMIT
# (seconds) raise them for a long run; SCHEMATHESIS_SEED replays one.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-50}
TIME_LIMIT=${SCHEMATHESIS_TIME_LIMIT:-240}
VENV=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
REPORT_DIR=${SCHEMATHESIS_REPORT_DIR:-target/schemathesis-report}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $ST_VERSION\$"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
"$VENV/bin/schemathesis" --version

# The debug binary as `cargo test` builds it (same features, so after the tests it is no rebuild).
cargo test --quiet --no-run
BIN=${CARGO_TARGET_DIR:-target}/debug/issuebox

WORK=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The shipped config on a temporary store and any free loopback port.
sed -e 's|^bind = .*|bind = "127.0.0.1:0"|' \
    -e "s|^data_dir = .*|data_dir = \"$WORK/db\"|" \
    -e "s|^sdn_file = \"data/|sdn_file = \"$PWD/data/|" \
    config.toml > "$WORK/config.toml"

RUST_LOG=${RUST_LOG:-warn} "$BIN" --config "$WORK/config.toml" serve \
  > "$WORK/stdout" 2> "$WORK/server.log" &
PID=$!
ADDR=
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's/^listening on //p' "$WORK/stdout" | head -n1)
  [ -n "$ADDR" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; echo "server did not start"; exit 1; }
  sleep 0.1
done
[ -n "$ADDR" ] || { echo "server did not listen"; exit 1; }
BASE="http://$ADDR"
echo "issuebox at $BASE"

ISSUEBOX_TOKEN=$(python3 - "$BASE" <<'PY'
import base64, json, sys, urllib.request
req = urllib.request.Request(
    sys.argv[1] + "/authentication",
    data=b"grant_type=client_credentials",
    headers={
        "Authorization": "Basic " + base64.b64encode(b"sandbox:sandbox-secret").decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    },
)
print(json.load(urllib.request.urlopen(req))["access_token"])
PY
)
export ISSUEBOX_TOKEN

SEED_ARGS=()
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then SEED_ARGS=(--seed "$SCHEMATHESIS_SEED"); fi

STATUS=0
timeout --signal=INT --kill-after=20 "$TIME_LIMIT" \
  "$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "$BASE/openapi.json" \
    --checks all \
    --max-examples "$EXAMPLES" \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --report junit --report-dir "$REPORT_DIR" \
    "${SEED_ARGS[@]}" || STATUS=$?

if grep -q "panicked" "$WORK/server.log"; then
  echo "the server panicked:"; grep -n -A5 "panicked" "$WORK/server.log" | head -n 40
  STATUS=1
fi
if ! kill -0 "$PID" 2>/dev/null; then
  echo "the server died"; tail -n 40 "$WORK/server.log"
  STATUS=1
fi
if [ "$STATUS" -ne 0 ]; then
  echo "schemathesis failed (exit $STATUS); report in $REPORT_DIR"
fi
exit "$STATUS"
