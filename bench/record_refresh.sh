#!/usr/bin/env bash
# Records `colony-actor run refresh-ref 2` on a slow network as text frames captured from
# tmux every half second, into docs/recording-refresh-ref.txt. The data is bench/sync.py's
# 100-pod fixture (run `.venv/bin/python bench/sync.py --quick` once to build it): the
# follower's data directory refreshes the publisher's 100 pods through the shared network
# directory, each read and write slowed by LATENCY_MS.
set -euo pipefail
cd "$(dirname "$0")/.."
FIXTURE=${FIXTURE:-/tmp/colony-bench/sync-100x4}
LATENCY_MS=${LATENCY_MS:-200}
PORT=${PORT:-3999}
OUT=${OUT:-docs/recording-refresh-ref.txt}
PW="bench password: correct horse battery staple"  # bench/common.py's PASSWORD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -a "$FIXTURE"/. "$WORK"/
COLONY_ACTOR_PASSWORD="$PW" .venv/bin/colony-actor serve --port "$PORT" \
  --data-dir "$WORK/follower" --network-dir "$WORK/network" --latency-ms "$LATENCY_MS" \
  > "$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
tmux kill-session -t record-refresh 2>/dev/null || true
tmux new-session -d -s record-refresh -x 90 -y 16 \
  "export COLONY_ACTOR_URL=http://127.0.0.1:$PORT COLONY_ACTOR_PASSWORD='$PW';
   echo '\$ colony-actor run refresh-ref 2'; .venv/bin/colony-actor run refresh-ref 2;
   echo \"[exit \$?]\"; sleep 30"
{
  echo "# colony-actor run refresh-ref 2, network latency $LATENCY_MS ms, 100 pods in 2 generations"
  echo "# recorded by bench/record_refresh.sh on $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
} > "$OUT"
START=$(date +%s%N)
for _ in $(seq 600); do
  FRAME=$(tmux capture-pane -p -t record-refresh 2>/dev/null || true)
  printf -- '--- %.1f s\n%s\n' "$(( $(date +%s%N) - START ))e-9" "$FRAME" >> "$OUT"
  grep -q '\[exit' <<<"$FRAME" && break
  sleep 0.5
done
tmux kill-session -t record-refresh 2>/dev/null || true
kill "$DAEMON"; wait "$DAEMON" || true
echo "wrote $OUT"
