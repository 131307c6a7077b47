#!/usr/bin/env bash
# Colabel's load benchmark: builds the release binary, seeds a database at full scale, starts
# the server, and measures pages with wrk on loopback, on SQLite and on PostgreSQL; then the
# same pages on a small database built through the forms (200 members, 60 datasets, no
# ANALYZE), so that plans that need statistics show.
#
#   bench/run.sh [sqlite|postgres|both] [seeded|forms|all]      (default: both all)
#
# Environment: BENCH_DURATION (wrk seconds per page, default 8), BENCH_CONNECTIONS (32),
# BENCH_LABELSTUDIO (1: measure Label Studio beside the seeded SQLite server, 5-8 minutes more),
# BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test?sslmode=disable: loopback, where TLS
# protects nothing and costs 12-19 % of the pages' throughput; a schema `colabel_bench` is used),
# BENCH_BIN (a binary to measure instead of building this checkout's release binary),
# BENCH_OUT (where results go; bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
sizes=${2:-all}
dur=${BENCH_DURATION:-8}
conns=${BENCH_CONNECTIONS:-32}
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
port=18080
base="http://127.0.0.1:$port"
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }

# BENCH_BIN measures another build (an earlier commit's, say) with this script and its pages.
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --quiet
  bin=target/release/colabel
fi
table="$out/table.md"
{
  echo "| backend | data | page | req/s | % of baseline | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|---|---|"
} > "$table"
extras="$out/extras.md"
: > "$extras"
rm -f "$out/labelstudio.md"

measure() { # name url cookie|"Authorization: ..." -> "rps p50 p99"
  local cookie_args=()
  case "$3" in
    "") ;;
    Authorization:*) cookie_args=(-H "$3") ;;
    *) cookie_args=(-H "Cookie: $3") ;;
  esac
  # Two seconds of warm-up, not counted: every pooled connection prepares its statements and
  # the pages of a freshly seeded database come into the caches; then the steady state.
  wrk -t1 -c"$conns" -d2s "${cookie_args[@]}" "$2" > /dev/null
  wrk -t1 -c"$conns" -d"${dur}s" --latency "${cookie_args[@]}" "$2" > "$out/wrk.txt"
  # Every run's full output stays, for its latency distribution.
  cp "$out/wrk.txt" "$out/wrk-$backend-$size-${1//[^a-z0-9]/_}.txt"
  # measure runs in a subshell (`< <(measure ...)`): stop the whole script, not just it.
  if grep -q "Non-2xx" "$out/wrk.txt"; then
    { echo "non-2xx answers on $1:"; cat "$out/wrk.txt"; } >&2
    kill -TERM $$
    exit 1
  fi
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$out/wrk.txt")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}

to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  python3 -c "import sys; v=sys.argv[1]; print(round(float(v[:-2])/1000,2) if v.endswith('us') else (round(float(v[:-2]),2) if v.endswith('ms') else round(float(v[:-1])*1000,2)))" "$1"
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

bench() { # backend size: size is "seeded" (colabel seed, 10,000 members) or "forms"
  local backend=$1 size=$2 url
  if [ "$backend" = sqlite ]; then
    rm -f "$out"/bench.db*
    url="sqlite://$out/bench.db"
  else
    psql "$pg_url" -qc "DROP SCHEMA IF EXISTS colabel_bench CASCADE; CREATE SCHEMA colabel_bench;" >/dev/null
    case "$pg_url" in *\?*) url="$pg_url&" ;; *) url="$pg_url?" ;; esac
    url="${url}options=-csearch_path%3Dcolabel_bench"
  fi
  local cost=12
  if [ "$size" = seeded ]; then
    echo "== $backend: seeding"
    DATABASE_URL="$url" COLABEL_BCRYPT_COST=12 "$bin" seed | tee "$out/seed-$backend.txt"
  else
    # 200 sign-ups at cost 12 would take 40 s of hashing that measures nothing here.
    cost=4
  fi
  DATABASE_URL="$url" COLABEL_ADDR="127.0.0.1:$port" COLABEL_SECURE_COOKIES=false RUST_LOG=warn \
    COLABEL_BCRYPT_COST=$cost COLABEL_POOL_SIZE="${BENCH_POOL_SIZE:-16}" "$bin" > "$out/server-$backend-$size.log" 2>&1 &
  local pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 50); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
  if [ "$size" = forms ]; then
    echo "== $backend: building a small database through the forms (no ANALYZE)"
    python3 bench/client.py build "$base" 200 60 | tee "$out/build-$backend.txt"
  fi
  # Flush the load now: otherwise PostgreSQL's checkpoint writes it out during the first
  # minutes of measurement (a p99 of 35 ms on one page, 17 ms when measured again later).
  if [ "$backend" = postgres ]; then
    psql "$pg_url" -qc CHECKPOINT || echo "CHECKPOINT needs a superuser (or pg_checkpoint); measuring without it"
  fi
  sleep 1
  local idle_rss; idle_rss=$(rss_kb $pid)
  local login_ms cookie
  cookie=$(python3 bench/client.py login "$base" user1 colabel-demo 2> "$out/login-ms")
  login_ms=$(cat "$out/login-ms")
  read -r base_rps base_p50 base_p99 < <(measure baseline "$base/" "")
  echo "| $backend | $size | baseline: / logged out | $base_rps | 100% | $base_p50 | $base_p99 |" >> "$table"
  local deep=100
  [ "$size" = forms ] && deep=4
  # Page $deep as a person reaches it: through the Next link of page $((deep - 1)), which says
  # where that page ended (keyset); the same page typed as ?page=N is read by offset.
  local next_link
  next_link=$(curl -fs -H "Cookie: $cookie" "$base/bigorg/members?page=$((deep - 1))" \
    | grep -o 'rel="next" href="[^"]*"' | sed -e 's/.*href="//' -e 's/"$//' -e 's/&#38;/\&/g' -e 's/&amp;/\&/g')
  [ -n "$next_link" ] || { echo "no Next link on members page $((deep - 1))"; exit 1; }
  local pages=(
    "org page|/bigorg"
    "members tab, page 1|/bigorg/members"
    "members tab, page $deep through Next|$next_link"
    "members tab, page $deep typed|/bigorg/members?page=$deep"
    "members tab, search|/bigorg/members?q=user12"
    "members subtab|/bigorg/settings/members"
    "dataset page|/bigorg/dataset-1"
    "dashboard|/"
  )
  for entry in "${pages[@]}"; do
    local name=${entry%%|*} path=${entry#*|}
    read -r rps p50 p99 < <(measure "$name" "$base$path" "$cookie")
    local pct; pct=$(python3 -c "print(round(100*$rps/$base_rps))")
    echo "| $backend | $size | $name: \`$path\` | $rps | $pct% | $p50 | $p99 |" >> "$table"
    echo "$backend $size $name: $rps req/s ($pct%), p50 $p50 ms, p99 $p99 ms"
  done
  # The JSON API: the dataset the HTML page above shows, with an API key, in the same run.
  local key; key=$(python3 bench/client.py apikey "$base" "$cookie")
  read -r api_rps api_p50 api_p99 < <(measure "API dataset" "$base/datasets/bigorg/dataset-1/" "Authorization: APIKey $key")
  local api_pct; api_pct=$(python3 -c "print(round(100*$api_rps/$base_rps))")
  echo "| $backend | $size | API: \`GET /datasets/bigorg/dataset-1/\` (a key) | $api_rps | $api_pct% | $api_p50 | $api_p99 |" >> "$table"
  echo "$backend $size API dataset: $api_rps req/s ($api_pct%), p50 $api_p50 ms, p99 $api_p99 ms"
  if [ "$size" = forms ]; then
    echo "- $backend, forms: resident memory peak $(( $(hwm_kb $pid) / 1024 )) MB" | tee -a "$extras"
    kill $pid; wait $pid 2>/dev/null || true
    trap - EXIT
    return
  fi
  local members_ms datasets_ms pages_rss; pages_rss=$(hwm_kb $pid)
  read -r members_ms members_bytes < <(python3 bench/client.py latency "$base" "$key" /users/bigorg 15)
  read -r datasets_ms datasets_bytes < <(python3 bench/client.py latency "$base" "$key" "/user/datasets/?per_page=1000&page=1" 15)
  local load_rss; load_rss=$(hwm_kb $pid)
  # Logins must not starve pages: 16 clients logging in while wrk reads the org page. (Before
  # the dataset creations below: their 50,000 new rows start autovacuum and checkpoints.)
  # Three rounds, reported as the median p99 and the range: with the server, PostgreSQL, wrk
  # and the login clients on two cores, a single round's tail depends on the scheduler (wrk
  # itself was seen waiting 44 ms for a core).
  local p99s=() logins=()
  local round p99
  for round in 1 2 3; do
    python3 bench/client.py logins "$base" $((dur + 4)) 16 > "$out/logins-done" &
    local lpid=$!
    sleep 1
    read -r _ _ p99 < <(measure "org page under logins $round" "$base/bigorg" "$cookie")
    wait $lpid
    p99s+=("$p99"); logins+=("$(cat "$out/logins-done")")
  done
  local contended; contended=$(python3 -c "import sys; v=sorted(map(float, sys.argv[1:])); print(f'{v[1]} ms (rounds: {v[0]} to {v[2]} ms)')" "${p99s[@]}")
  # The peer comparison, in the same run: Label Studio 1.23.2 beside this server's members
  # and organization pages (bench/labelstudio.sh; BENCH_LABELSTUDIO=0 leaves it out).
  if [ "$backend" = sqlite ] && [ "${BENCH_LABELSTUDIO:-1}" = 1 ]; then
    COLABEL_BASE="$base" COLABEL_COOKIE="$cookie" COLABEL_PID=$pid bench/labelstudio.sh
  fi
  local create_ms; create_ms=$(python3 bench/client.py create "$base" "$cookie" bigorg 5)
  {
    echo "- $backend: API \`GET /users/bigorg\` (all 10,000 members, $((members_bytes / 1024)) KiB): median ${members_ms} ms over 15; \`GET /user/datasets/?per_page=1000\` ($((datasets_bytes / 1024)) KiB): median ${datasets_ms} ms over 15 (client-side, loopback, one at a time)"
    echo "- $backend: create a dataset in bigorg (10,000 members, fan-out included): median ${create_ms} ms over 5 (client-side, loopback)"
    echo "- $backend: login latency (bcrypt cost 12): median ${login_ms} ms"
    echo "- $backend: org page p99 with 16 clients logging in continuously, median of 3 rounds: ${contended} (${logins[*]} logins)"
    echo "- $backend: resident memory idle $((idle_rss / 1024)) MB, peak under the pages' load $((pages_rss / 1024)) MB, peak after the API's 10,000-member replies too $((load_rss / 1024)) MB"
  } | tee -a "$extras"
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
}

case "$which" in
  sqlite) backends=(sqlite) ;;
  postgres) backends=(postgres) ;;
  both) backends=(sqlite postgres) ;;
  *) echo "usage: bench/run.sh [sqlite|postgres|both] [seeded|forms|all]"; exit 2 ;;
esac
case "$sizes" in
  seeded|forms) size_list=("$sizes") ;;
  all) size_list=(seeded forms) ;;
  *) echo "usage: bench/run.sh [sqlite|postgres|both] [seeded|forms|all]"; exit 2 ;;
esac
for s in "${size_list[@]}"; do
  for b in "${backends[@]}"; do bench "$b" "$s"; done
done
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t1 -c$conns -d${dur}s on loopback"
cat "$table"
echo
cat "$extras"
if [ -f "$out/labelstudio.md" ]; then echo; cat "$out/labelstudio.md"; fi
