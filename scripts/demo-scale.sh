#!/usr/bin/env bash
# `make demo-scale`: the demo on two `luot serve` processes sharing one PostgreSQL database and one Redis
# message queue, behind nginx (sticky by client address) when nginx is there — installed from Debian's
# package when missing and running as root.
#
#   scripts/demo-scale.sh            start, print the URLs, run until Ctrl-C (then stop what it started)
#   scripts/demo-scale.sh --check    start, check both processes and nginx answer and share events, stop
#
# Settings (environment): LUOT_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/luot_demo,
# created if missing), LUOT_MESSAGE_QUEUE (default redis://127.0.0.1:6379/1), PORTS (default "5001 5002"),
# NGINX_PORT (default 8080), HOST (nginx's address, default 127.0.0.1), LUOT_ASYNC_MODE (default eventlet),
# LUOT_INSTANCE_DIR (default ./var/scale: the shared secret key, logs, nginx's prefix), LUOT_TRUSTED_PROXIES
# (default 1 when nginx is in front, else 0).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
export LUOT_DATABASE_URL="${LUOT_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/luot_demo}"
export LUOT_MESSAGE_QUEUE="${LUOT_MESSAGE_QUEUE:-redis://127.0.0.1:6379/1}"
export LUOT_INSTANCE_DIR="${LUOT_INSTANCE_DIR:-$PWD/var/scale}"
export LUOT_ASYNC_MODE="${LUOT_ASYNC_MODE:-eventlet}"
read -r -a PORTS <<< "${PORTS:-5001 5002}"
NGINX_PORT="${NGINX_PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
LOGS="$LUOT_INSTANCE_DIR/logs"
mkdir -p "$LOGS"

# --- the engines: PostgreSQL (database created if missing) and Redis must answer
"$BIN/python" - <<'PY'
import os, sys
from sqlalchemy.engine import make_url
url = make_url(os.environ["LUOT_DATABASE_URL"])
if not url.drivername.startswith("postgresql"):
    sys.exit(f"LUOT_DATABASE_URL must be PostgreSQL for several processes, not {url.drivername}")
import psycopg
from psycopg import sql
try:
    admin = psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                            password=url.password, dbname="postgres", autocommit=True, connect_timeout=5)
except psycopg.OperationalError as exc:
    sys.exit(f"PostgreSQL is not reachable at {url.host}:{url.port or 5432}: {exc}")
if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone() is None:
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
    print(f"Created database {url.database}")
import redis
try:
    redis.Redis.from_url(os.environ["LUOT_MESSAGE_QUEUE"], socket_connect_timeout=5).ping()
except redis.RedisError as exc:
    sys.exit(f"Redis is not reachable at {os.environ['LUOT_MESSAGE_QUEUE']}: {exc}")
PY

# --- schema (migrations) and the demo province, once
"$BIN/luot" init
"$BIN/luot" seed-demo

# --- nginx: Debian's package, installed when missing and we are root
NGINX="$(command -v nginx || true)"
if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
if [ -z "$NGINX" ] && [ "$(id -u)" -eq 0 ]; then
  echo "Installing nginx (Debian package)…"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null; }
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi
if [ -n "$NGINX" ] && [ -x "$NGINX" ]; then
  PUBLIC="http://$HOST:$NGINX_PORT"
  # one proxy in front: client addresses and scheme come from nginx's X-Forwarded-For/-Proto (the processes
  # listen on 127.0.0.1 only, so nobody can reach them directly to forge those headers)
  export LUOT_TRUSTED_PROXIES="${LUOT_TRUSTED_PROXIES:-1}"
else
  echo "nginx is not installed (and we are not root): clients must stick to one process themselves." >&2
  NGINX=""
  PUBLIC="http://127.0.0.1:${PORTS[0]}"
fi
export LUOT_PUBLIC_URL="${LUOT_PUBLIC_URL:-$PUBLIC}"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the server processes
for port in "${PORTS[@]}"; do
  LUOT_HOST=127.0.0.1 LUOT_PORT="$port" "$BIN/luot" serve >>"$LOGS/luot-$port.log" 2>&1 &
  PIDS+=("$!")
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "luot on port $port did not start:"; tail -20 "$LOGS/luot-$port.log"; exit 1; }
done

# --- nginx in front, with its own prefix (the system's nginx is left alone)
if [ -n "$NGINX" ]; then
  PREFIX="$LUOT_INSTANCE_DIR/nginx"
  mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
  upstreams=""
  for port in "${PORTS[@]}"; do upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;\n"; done
  awk -v ups="$upstreams" -v listen="    listen $HOST:$NGINX_PORT;" '
    /server 127\.0\.0\.1:50/ { if (!done) { printf "%s", ups; done = 1 } next }
    /^        listen 8080;/ { print "    " listen; next }
    { print }' deploy/nginx.conf > "$PREFIX/nginx.conf"
  "$NGINX" -p "$PREFIX" -c "$PREFIX/nginx.conf" -g "daemon off;" >>"$LOGS/nginx.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 50); do curl -fsS "$PUBLIC/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "$PUBLIC/healthz" >/dev/null || { echo "nginx did not start:"; tail -20 "$LOGS/nginx.log" "$PREFIX/logs/error.log"; exit 1; }
fi

echo
echo "Lượt, scaled out: ${#PORTS[@]} processes (ports ${PORTS[*]}), PostgreSQL $LUOT_DATABASE_URL, Redis $LUOT_MESSAGE_QUEUE"
[ -n "$NGINX" ] && echo "nginx (sticky, websockets) on $PUBLIC"
LUOT_HOST="${PUBLIC#http://}" LUOT_HOST="${LUOT_HOST%:*}" LUOT_PORT="${PUBLIC##*:}" "$BIN/luot" demo-info

if [ "$CHECK" -eq 1 ]; then
  # A ticket issued on the first process, called on the second, reaches a board connected through nginx.
  "$BIN/python" - "$PUBLIC" "${PORTS[@]}" <<'PY'
import queue, sys
import requests, socketio
public, first, second = sys.argv[1], *sys.argv[2:4]
a, b = f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}"
calls = queue.Queue()
board = socketio.Client(reconnection=False)
board.on("ticket.called", calls.put)
board.connect(public, auth={"token": "demo-board-hall"}, transports=["websocket"], wait_timeout=10)
ticket = requests.post(f"{a}/api/v1/tickets", json={"service": "XA-TN", "site": "XA-DONGTHINH"}, timeout=10,
                       headers={"Authorization": "Bearer demo-kiosk-1"})
if ticket.status_code != 201:  # the demo kiosk belongs to the centre: use one of its services
    ticket = requests.post(f"{a}/api/v1/tickets", json={"service": "STP-LLTP"}, timeout=10,
                           headers={"Authorization": "Bearer demo-kiosk-1"})
ticket.raise_for_status()
token = requests.post(f"{b}/api/v1/auth/token", json={"username": "clerk01", "password": "demo-clerk"},
                      timeout=10).json()["token"]
auth = {"Authorization": f"Bearer {token}"}
requests.post(f"{b}/api/v1/counters/1/open", json={"takeover": True}, headers=auth, timeout=10).raise_for_status()
while True:
    called = requests.post(f"{b}/api/v1/counters/1/next", json={}, headers=auth, timeout=10)
    if called.status_code == 409 and called.json()["error"]["code"] == "ticket_still_called":
        requests.post(f"{b}/api/v1/counters/1/start", json={}, headers=auth, timeout=10)
        continue
    called.raise_for_status()
    if called.json()["ticket"]["id"] == ticket.json()["id"]:
        break
    requests.post(f"{b}/api/v1/counters/1/start", json={}, headers=auth, timeout=10)
while (event := calls.get(timeout=10))["ticket"]["id"] != ticket.json()["id"]:
    pass
board.disconnect()
print(f"check: ticket {ticket.json()['display_number']} issued on :{first}, called on :{second}, "
      f"heard through {public} (seq {event['seq']}, epoch {event['epoch']})")
PY
  exit 0
fi

echo "Ctrl-C stops the processes started here."
wait
