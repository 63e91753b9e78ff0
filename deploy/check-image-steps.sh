#!/usr/bin/env bash
# The image's install-and-start steps (see Dockerfile), run here without a container engine: build
# the wheels, install them offline into a clean virtualenv, start `productcore serve` against the
# given PostgreSQL (in a scratch database) and Redis, then ask /health/live and /health/ready and
# stop it with SIGTERM (it must exit 0). Run it from a virtualenv with psycopg (the dev one).
#   deploy/check-image-steps.sh postgresql://postgres@127.0.0.1:5432/postgres redis://127.0.0.1:6379/0 [port]
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=$1
redis_url=$2
# A free port: the third argument, else one from PRODUCTCORE_TEST_PORTS (first-last), else any.
port=${3:-$(python - <<'PY'
import os, random, socket
low, _, high = os.environ.get("PRODUCTCORE_TEST_PORTS", "0-0").partition("-")
for port in random.sample(range(int(low), int(high) + 1), min(50, int(high) - int(low) + 1)):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
)}
work=$(mktemp -d)
database="productcore_image_$(python -c 'import uuid; print(uuid.uuid4().hex[:10])')"
pid=""

sql() { python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])' "$admin_url" "$1"; }
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    sql "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "build stage: pip wheel"
python -m pip wheel --quiet --wheel-dir "$work/wheels" .  # (the image adds --no-cache-dir)
echo "final stage: offline install of the wheels into a clean virtualenv"
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-index --find-links "$work/wheels" \
    "$work"/wheels/productcore-*.whl
test ! -e "$work/venv/lib/python3"*/site-packages/tests  # the tests are not part of the wheel

sql "CREATE DATABASE $database"
database_url=$(python -c 'import sys; from psycopg.conninfo import make_conninfo; print(make_conninfo(sys.argv[1], dbname=sys.argv[2]))' "$admin_url" "$database")
echo "start: productcore serve --host 127.0.0.1 --port $port"
env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME="$work" \
    PRODUCTCORE_DATABASE_URL="$database_url" PRODUCTCORE_REDIS_URL="$redis_url" \
    PRODUCTCORE_CACHE_KEY_PREFIX="$database:cache" PRODUCTCORE_RATE_LIMIT_KEY_PREFIX="$database:ratelimit" \
    PRODUCTCORE_DATA_DIR="$work/data" PRODUCTCORE_PORT="$port" \
    productcore serve --host 127.0.0.1 >"$work/serve.log" 2>&1 &
pid=$!

# The image's HEALTHCHECK command, polled for at most 60 s.
healthcheck="import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PRODUCTCORE_PORT', '8000'), timeout=2)"
for _ in $(seq 1 120); do
    if PRODUCTCORE_PORT=$port "$work/venv/bin/python" -c "$healthcheck" 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; echo "serve exited"; exit 1; }
    sleep 0.5
done
PRODUCTCORE_PORT=$port "$work/venv/bin/python" -c "$healthcheck" || { cat "$work/serve.log"; exit 1; }
echo "/health/live: 200"
"$work/venv/bin/python" -c "import urllib.request; print('/health/ready:', urllib.request.urlopen('http://127.0.0.1:$port/health/ready', timeout=5).status)"
kill -TERM "$pid"
for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then cat "$work/serve.log"; echo "serve did not stop within 30 s"; exit 1; fi
wait "$pid" || { status=$?; cat "$work/serve.log"; echo "serve exited with $status"; exit 1; }
pid=""
echo "stopped cleanly"
