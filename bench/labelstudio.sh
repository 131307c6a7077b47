#!/usr/bin/env bash
# The peer comparison of issue 18: Label Studio 1.23.2 (from PyPI, in a virtual environment),
# seeded with one organization of 200 members and 50 projects, served by gunicorn with 4 workers
# on loopback, and the API calls that its own members and projects pages make, measured with
# the same wrk settings as bench/run.sh's `measure`; beside Colabel's members and organization
# pages in the same run when bench/run.sh passes its server.
#
#   bench/labelstudio.sh
#
# Environment: BENCH_DURATION (wrk seconds per call, default 8), BENCH_CONNECTIONS (32),
# LS_PORT (18090). Optional, from bench/run.sh while its Colabel server is up on a seeded
# database: COLABEL_BASE (e.g. http://127.0.0.1:18080), COLABEL_COOKIE (the Cookie header value
# of a logged-in member of bigorg), COLABEL_PID (the Colabel server's pid, for the memory ratio).
#
# Output: bench/results/labelstudio.md (a markdown table, also printed); wrk's full outputs,
# gunicorn's log and the seed's output under bench/results/labelstudio/.
#
# Every fact about Label Studio below is cited from its installed source, relative to
# $venv/lib/python3.*/site-packages/ (label_studio/... is the Django app, web/dist/... the built
# frontend with its source maps).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dur=${BENCH_DURATION:-8}
conns=${BENCH_CONNECTIONS:-32}
port=${LS_PORT:-18090}
ls_base="http://127.0.0.1:$port"
venv=bench/.venv-labelstudio
work=bench/results/labelstudio
table=bench/results/labelstudio.md
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
command -v curl >/dev/null || { echo "curl is missing"; exit 1; }

# --- 1. The virtual environment ------------------------------------------------------------
if ! "$venv/bin/python" -c 'import importlib.metadata as m, gunicorn; assert m.version("label-studio") == "1.23.2"' 2>/dev/null; then
  echo "== installing label-studio 1.23.2 and gunicorn into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet label-studio==1.23.2 gunicorn
fi
py="$root/$venv/bin/python"
ls_path=$("$py" -c 'import label_studio, os; print(os.path.dirname(label_studio.__file__))')
echo "== Label Studio $("$py" -c 'import importlib.metadata as m; print(m.version("label-studio"))') in $ls_path"

# --- Settings --------------------------------------------------------------------------------
# label_studio/server.py (_setup_env, the `label-studio` command's entry point) puts the package
# directory first on sys.path (the settings import `core.settings.base`, not
# `label_studio.core...`) and sets DJANGO_SETTINGS_MODULE=label_studio.core.settings.label_studio.
export DJANGO_SETTINGS_MODULE=label_studio.core.settings.label_studio
# label_studio/core/utils/params.py get_env(): every setting NAME is read from LABEL_STUDIO_NAME,
# HEARTEX_NAME or NAME. core/settings/base.py: BASE_DATA_DIR (default: the user's data dir)
# holds the database and media; the database defaults to SQLite at
# $BASE_DATA_DIR/label_studio.sqlite3 (DATABASE_NAME_DEFAULT), and core/settings/label_studio.py
# picks it with DJANGO_DB defaulting to "sqlite". We keep that default: a fresh SQLite database
# in a fresh data dir, as `pip install label-studio && label-studio start` gets. Inherited
# overrides of the database are cleared so that the default really applies.
rm -rf "$work"
mkdir -p "$work/data"
export LABEL_STUDIO_BASE_DATA_DIR="$root/$work/data"
for v in DJANGO_DB DATABASE_NAME; do unset "$v" "LABEL_STUDIO_$v" "HEARTEX_$v"; done
# core/settings/label_studio.py: DEBUG = get_bool_env('DEBUG', False); said explicitly here.
export LABEL_STUDIO_DEBUG=false
# core/settings/label_studio.py sets SENTRY_DSN and FRONTEND_SENTRY_DSN to HumanSignal's
# project by default and core/utils/sentry.py init_sentry() then traces 2 % of requests
# (SENTRY_RATE, core/settings/base.py); there is no internet here, and a benchmark should not
# report to anyone: off. core/utils/common.py check_for_the_latest_version() asks pypi.org
# unless LATEST_VERSION_CHECK is false: off too.
export LABEL_STUDIO_SENTRY_DSN= LABEL_STUDIO_FRONTEND_SENTRY_DSN= LABEL_STUDIO_LATEST_VERSION_CHECK=false
# core/settings/label_studio.py: LOG_LEVEL defaults to WARNING (no per-request log lines).
export LABEL_STUDIO_LOG_LEVEL=WARNING
# Redis: core/settings/base.py says "OSS version does not support Redis" (REDIS_ENABLED = False),
# so core/redis.py redis_connected() is False and jobs run in-process; core/redis.py only pings
# localhost:6379 once at import. Nothing to configure.
manage() { (cd "$ls_path" && "$py" manage.py "$@"); }

# --- Migrations ------------------------------------------------------------------------------
# label_studio/server.py _apply_database_migrations(): `migrate` on the default database.
echo "== migrating a fresh SQLite database in $work/data"
t0=$(date +%s)
manage migrate --no-color -v0 > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }
echo "   done in $(( $(date +%s) - t0 )) s"

# --- 2. Seed: 1 organization, owner + 199 members, 50 projects, via the ORM ----------------------
echo "== seeding"
manage shell --no-startup > "$work/seed.txt" 2>&1 <<'PY' || { cat "$work/seed.txt"; exit 1; }
from django.contrib.auth.hashers import make_password
from django.db import transaction
from organizations.models import Organization, OrganizationMember
from projects.models import Project
from rest_framework.authtoken.models import Token
from users.models import User

with transaction.atomic():
    # The owner as a sign-up makes it (users/models.py UserManager.create_user: not staff, not a
    # superuser); the post_save receiver users/models.py init_user() gives it its legacy API
    # Token (rest_framework.authtoken).
    owner = User.objects.create_user(email='owner@bench.local', password='labelstudio-bench',
                                     username='owner', first_name='Owner', last_name='Bench')
    # organizations/models.py Organization.create_organization -> organizations/functions.py
    # create_organization(): creates the OrganizationMember of the creator and, with the JWT flag
    # on (fflag__feature_develop__prompts__dia_1829_jwt_token_auth; core/settings/label_studio.py
    # FEATURE_FLAGS_DEFAULT_VALUE = True, so every flag is on in the community edition), sets the
    # organization's JWTSettings (jwt_auth/models.py) legacy_api_tokens_enabled to
    # `legacy_api_tokens_enabled or settings.LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN` (default False:
    # legacy `Authorization: Token` is refused with 401 by jwt_auth/auth.py
    # TokenAuthenticationPhaseout). `label-studio start --enable-legacy-api-token` passes True,
    # as label_studio/server.py _create_user() shows; so do we.
    org = Organization.create_organization(created_by=owner, title='bigorg', legacy_api_tokens_enabled=True)
    owner.active_organization = org
    owner.save(update_fields=['active_organization'])
    # 199 more members. One password hash for all (PBKDF2 per user would take a minute and
    # measures nothing); bulk_create skips init_user, so their tokens are made here.
    pw = make_password('labelstudio-bench')
    users = User.objects.bulk_create([
        User(email=f'user{i}@bench.local', username=f'user{i}', first_name=f'User{i}', last_name='Bench',
             password=pw, active_organization=org)
        for i in range(2, 201)
    ])
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    OrganizationMember.objects.bulk_create([OrganizationMember(user=u, organization=org) for u in users])
    # 50 projects through Project.save (projects/models.py), as the create-project form does.
    for i in range(1, 51):
        Project.objects.create(title=f'project-{i}', organization=org, created_by=owner)

org.refresh_from_db()
assert org.jwt.legacy_api_tokens_enabled
print('members', OrganizationMember.objects.filter(organization=org, deleted_at__isnull=True).count())
print('projects', Project.objects.filter(organization=org).count())
print('LS_ORG_ID', org.id)
print('LS_TOKEN', Token.objects.get(user=owner).key)
PY
org_id=$(awk '$1=="LS_ORG_ID" {print $2}' "$work/seed.txt")
token=$(awk '$1=="LS_TOKEN" {print $2}' "$work/seed.txt")
[ -n "$org_id" ] && [ -n "$token" ] || { cat "$work/seed.txt"; exit 1; }
auth="Authorization: Token $token"
grep -E '^(members|projects) ' "$work/seed.txt" | sed 's/^/   /'
echo "   organization id: $org_id"
echo "   auth header: $auth"

# --- 3. gunicorn, 4 workers, loopback -------------------------------------------------------
# label_studio/core/wsgi.py exposes `application` (it only setdefaults DJANGO_SETTINGS_MODULE,
# ours above wins). --pythonpath puts the package directory on sys.path as server.py does (not
# PYTHONPATH: that would also load label_studio/sitecustomize.py, a coverage hook). Sync
# workers, no --preload: gunicorn's defaults. A hook marks each worker once its application is
# loaded, so that the measurement starts with all four ready.
if curl -s -o /dev/null "$ls_base/"; then echo "port $port is in use (set LS_PORT)"; exit 1; fi
cat > "$work/gunicorn.conf.py" <<PY
def post_worker_init(worker):
    open(f"$root/$work/ready-{worker.pid}", "w").close()
PY
echo "== starting gunicorn (4 workers) on 127.0.0.1:$port"
"$root/$venv/bin/gunicorn" --config "$work/gunicorn.conf.py" --workers 4 --bind "127.0.0.1:$port" \
  --pythonpath "$ls_path" label_studio.core.wsgi:application > "$work/gunicorn.log" 2>&1 &
gpid=$!
stop() { kill -TERM "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true; }
trap stop EXIT
t0=$(date +%s)
until [ "$(ls "$work" | grep -c '^ready-')" -ge 4 ]; do
  kill -0 "$gpid" 2>/dev/null || { echo "gunicorn exited:"; cat "$work/gunicorn.log"; exit 1; }
  [ $(( $(date +%s) - t0 )) -lt 180 ] || { echo "gunicorn workers not ready after 180 s:"; cat "$work/gunicorn.log"; exit 1; }
  sleep 0.5
done
until curl -fs "$ls_base/health" >/dev/null; do sleep 0.2; done
echo "   4 workers ready in $(( $(date +%s) - t0 )) s"

# Memory: VmRSS and VmHWM from /proc/PID/status, summed over the process tree. The sum counts
# pages shared between the workers (libraries; the application is loaded in each worker, no
# --preload) once per process; Pss from /proc/PID/smaps_rollup shares them out instead, so it is
# given beside it.
tree_kb() { # pid field (VmRSS, VmHWM or Pss) -> sum over the process and all its descendants, in kB
  local p sum file=status
  [ "$2" = Pss ] && file=smaps_rollup
  sum=$(awk -v f="$2:" '$1==f {print $2}' "/proc/$1/$file" 2>/dev/null || true)
  sum=${sum:-0}
  for p in $(ps -o pid= --ppid "$1"); do sum=$(( sum + $(tree_kb "$p" "$2") )); done
  echo "$sum"
}
mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$1"; }

# --- 4. The calls Label Studio's own pages make ---------------------------------------------
# Members page (/people/, organizations/urls.py): web/dist/apps/labelstudio/main.js.map,
# src/pages/Organization/PeoplePage/PeopleList.jsx calls
#   api.callApi("memberships", {params: {pk: 1, contributed_to_projects: 1, page, page_size}})
# with page 1 and page_size 30 (usePageSize("page_size", 30)); src/config/ApiConfig.js maps
# "memberships" to /api/organizations/:pk/memberships, and libs/core/src/lib/api-proxy/index.ts
# createUrl() fills :pk and sends the other params as the query string, in this order. (The UI
# hard-codes pk 1; our organization is the first of a fresh database, so the same.)
# organizations/api.py OrganizationMemberListAPI orders by username, pages by page_size.
members_path="/api/organizations/$org_id/memberships?contributed_to_projects=1&page=1&page_size=30"
# Projects page (/projects): src/pages/Projects/Projects.jsx fetchProjects() makes two calls, one
# after the other: the list with page, page_size (localStorage "pages:projects-list", default 30)
# and include=id,title,created_by,created_at,color,is_published,assignment_settings,state; then,
# for the ids of that page, their counters (include=id,description,num_tasks_with_annotations,...).
# URLSearchParams encodes the commas as %2C. ApiConfig.js maps "projects" to /api/projects (no
# slash: core/middleware.py CommonMiddlewareAppendSlashWithoutRedirect resolves it to
# /api/projects/ without a redirect; projects/api.py ProjectListAPI, ProjectFilterSet ids).
projects_path="/api/projects?page=1&page_size=30&include=id%2Ctitle%2Ccreated_by%2Ccreated_at%2Ccolor%2Cis_published%2Cassignment_settings%2Cstate"
check() { # path expected_count -> prints the JSON body; fails unless 200 with count == expected
  local body status
  body=$(curl -s -w '\n%{http_code}' -H "$auth" "$ls_base$1")
  status=${body##*$'\n'}; body=${body%$'\n'*}
  if [ "$status" != 200 ]; then echo "GET $1 answered $status: ${body:0:500}" >&2; return 1; fi
  "$py" -c 'import json, sys
d = json.loads(sys.argv[1]); n = int(sys.argv[2])
assert d["count"] == n and len(d["results"]) == min(30, n), (d["count"], len(d["results"]))' "$body" "$2" \
    || { echo "GET $1: unexpected counts: ${body:0:500}" >&2; return 1; }
  echo "$body"
}
echo "== verifying the calls"
check "$members_path" 200 > "$work/members.json"
echo "   GET $members_path: 200, count 200, 30 results"
check "$projects_path" 50 > "$work/projects.json"
echo "   GET $projects_path: 200, count 50, 30 results"
ids=$("$py" -c 'import json, sys; print("%2C".join(str(p["id"]) for p in json.load(open(sys.argv[1]))["results"]))' "$work/projects.json")
counts_path="/api/projects?ids=$ids&include=id%2Cdescription%2Cnum_tasks_with_annotations%2Ctask_number%2Cskipped_annotations_number%2Ctotal_annotations_number%2Ctotal_predictions_number%2Cground_truth_number%2Cfinished_task_number&page_size=30"
check "$counts_path" 30 > "$work/projects-counts.json"
echo "   GET /api/projects?ids=<those 30>&include=<counters>&page_size=30: 200, count 30, 30 results"
sleep 1
idle_kb=$(tree_kb "$gpid" VmRSS)
idle_pss=$(tree_kb "$gpid" Pss)

to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  python3 -c "import sys; v=sys.argv[1]; print(round(float(v[:-2])/1000,2) if v.endswith('us') else (round(float(v[:-2]),2) if v.endswith('ms') else round(float(v[:-1])*1000,2)))" "$1"
}
# As bench/run.sh's measure: 2 s of warm-up, then wrk --latency; one difference, --timeout 30s
# instead of wrk's default 2 s: a Label Studio call takes 0.1-0.4 s of a worker here, so with 32
# connections queued on 4 workers (2 cores) an answer comes after several seconds, and wrk
# leaves a request that times out out of its count and its latencies altogether (a first try
# with the default timeout reported 0 requests). Colabel's pages are measured the same way.
measure() { # name url header -> "rps p50 p99"
  local file="$work/wrk-${1//[^a-z0-9]/_}.txt"
  wrk -t1 -c"$conns" -d2s --timeout 30s -H "$3" "$2" > /dev/null
  # When wrk stops, up to 32 requests are still queued in gunicorn's listen backlog, and its
  # sync workers serve them all (seconds of work for Label Studio) although wrk has hung up:
  # without this wait the measurement would start behind them (a first try measured nothing in
  # 2 s). One request, answered after the backlog, says the server is idle again.
  curl -s -o /dev/null --max-time 120 -H "$3" "$2" || true
  wrk -t1 -c"$conns" -d"${dur}s" --timeout 30s --latency -H "$3" "$2" > "$file"
  if grep -q "Non-2xx" "$file"; then { echo "non-2xx answers on $1:"; cat "$file"; } >&2; return 1; fi
  # Timeouts or socket errors would bias the numbers: say so loudly, keep them in the table.
  if grep -q "Socket errors" "$file"; then
    echo "WARNING on $1: $(grep "Socket errors" "$file" | sed 's/^ *//')" >&2
    # (measure runs in $(...): a file, not an array, carries this out of the subshell)
    echo "- $1: wrk reported $(grep "Socket errors" "$file" | sed 's/^ *//')" >> "$work/errors.txt"
  fi
  if [ "$(awk '/requests in/ {print $1}' "$file")" = 0 ]; then { echo "no answer at all on $1:"; cat "$file"; } >&2; return 1; fi
  echo "$(awk '/Requests\/sec/ {print $2}' "$file") $(to_ms "$(awk '$1=="50%" {print $2}' "$file")") $(to_ms "$(awk '$1=="99%" {print $2}' "$file")")"
}

rows=()
: > "$work/errors.txt"
echo "== measuring Label Studio: wrk -t1 -c$conns -d${dur}s after 2 s of warm-up"
r=$(measure "ls members" "$ls_base$members_path" "$auth")
read -r m_rps m_p50 m_p99 <<< "$r"
echo "   members call: $m_rps req/s, p50 $m_p50 ms, p99 $m_p99 ms"
rows+=("| Label Studio 1.23.2 | members page's call: \`GET /api/organizations/$org_id/memberships?contributed_to_projects=1&page=1&page_size=30\` | $m_rps | $m_p50 | $m_p99 |")
r=$(measure "ls projects" "$ls_base$projects_path" "$auth")
read -r p_rps p_p50 p_p99 <<< "$r"
echo "   projects call: $p_rps req/s, p50 $p_p50 ms, p99 $p_p99 ms"
rows+=("| Label Studio 1.23.2 | projects page's first call: \`GET /api/projects?page=1&page_size=30&include=id,title,created_by,created_at,color,is_published,assignment_settings,state\` | $p_rps | $p_p50 | $p_p99 |")
r=$(measure "ls projects counts" "$ls_base$counts_path" "$auth")
read -r c_rps c_p50 c_p99 <<< "$r"
echo "   projects counters call: $c_rps req/s, p50 $c_p50 ms, p99 $c_p99 ms"
rows+=("| Label Studio 1.23.2 | projects page's second call: \`GET /api/projects?ids=<the 30>&include=<8 counters>&page_size=30\` | $c_rps | $c_p50 | $c_p99 |")
# The projects page needs both calls, one after the other: its rate is 1 / (1/r1 + 1/r2).
pp_rps=$(python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(round(1 / (1 / a + 1 / b), 2))" "$p_rps" "$c_rps")
rows+=("| Label Studio 1.23.2 | projects page, both calls (derived: 1/(1/r1+1/r2)) | $pp_rps | | |")
load_kb=$(tree_kb "$gpid" VmRSS)
peak_kb=$(tree_kb "$gpid" VmHWM)
load_pss=$(tree_kb "$gpid" Pss)
nworkers=$(ps -o pid= --ppid "$gpid" | wc -l)
stop
trap - EXIT

# --- 5. Colabel's pages in the same run, when bench/run.sh passes its server -------------------
extras=()
ratio() { python3 -c "import sys; print(round(float(sys.argv[1]) / float(sys.argv[2]), 1))" "$1" "$2"; }
if [ -n "${COLABEL_BASE:-}" ] && [ -n "${COLABEL_COOKIE:-}" ]; then
  echo "== measuring Colabel at $COLABEL_BASE"
  for path in /bigorg/members /bigorg; do
    s=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COLABEL_COOKIE" "$COLABEL_BASE$path")
    [ "$s" = 200 ] || { echo "Colabel GET $path answered $s (is COLABEL_COOKIE a member of bigorg?)"; exit 1; }
  done
  r=$(measure "colabel members" "$COLABEL_BASE/bigorg/members" "Cookie: $COLABEL_COOKIE")
  read -r cm_rps cm_p50 cm_p99 <<< "$r"
  echo "   members page: $cm_rps req/s, p50 $cm_p50 ms, p99 $cm_p99 ms"
  r=$(measure "colabel org" "$COLABEL_BASE/bigorg" "Cookie: $COLABEL_COOKIE")
  read -r co_rps co_p50 co_p99 <<< "$r"
  echo "   organization page: $co_rps req/s, p50 $co_p50 ms, p99 $co_p99 ms"
  rows+=("| Colabel | members page: \`GET /bigorg/members\` (HTML) | $cm_rps | $cm_p50 | $cm_p99 |")
  rows+=("| Colabel | organization page: \`GET /bigorg\` (HTML) | $co_rps | $co_p50 | $co_p99 |")
  extras+=("- req/s ratio, Colabel members page ÷ Label Studio members call: $(ratio "$cm_rps" "$m_rps")×")
  extras+=("- req/s ratio, Colabel organization page ÷ Label Studio projects page's first call: $(ratio "$co_rps" "$p_rps")× (÷ both calls: $(ratio "$co_rps" "$pp_rps")×)")
  if [ -n "${COLABEL_PID:-}" ] && [ -r "/proc/$COLABEL_PID/status" ]; then
    # The server's process and any children (there are none when COLABEL_PID is the server).
    cr_kb=$(tree_kb "$COLABEL_PID" VmRSS)
    ch_kb=$(tree_kb "$COLABEL_PID" VmHWM)
    extras+=("- Colabel resident memory (VmRSS of pid $COLABEL_PID) after its load $(mb "$cr_kb") MB, peak (VmHWM) $(mb "$ch_kb") MB")
    extras+=("- memory ratio, Label Studio after load ÷ Colabel after load: $(ratio "$load_kb" "$cr_kb")× (peaks: $(ratio "$peak_kb" "$ch_kb")×)")
  fi
else
  echo "== COLABEL_BASE / COLABEL_COOKIE not set: Label Studio alone"
fi

# --- 6. The table ----------------------------------------------------------------------------
{
  echo "Label Studio $("$py" -c 'import importlib.metadata as m; print(m.version("label-studio"))'), gunicorn $("$py" -c 'import gunicorn; print(gunicorn.__version__)') with 4 sync workers, SQLite, DEBUG off, legacy token auth; 1 organization of 200 members, 50 projects. $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; wrk -t1 -c$conns -d${dur}s --timeout 30s --latency after 2 s of warm-up, on loopback."
  echo
  echo "| server | call | req/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "- Label Studio resident memory, gunicorn master + $nworkers workers (sum of VmRSS): idle $(mb "$idle_kb") MB, after load $(mb "$load_kb") MB (sum of VmHWM $(mb "$peak_kb") MB); proportional (sum of Pss) idle $(mb "$idle_pss") MB, after load $(mb "$load_pss") MB"
  [ ${#extras[@]} -eq 0 ] || printf '%s\n' "${extras[@]}"
  cat "$work/errors.txt"
} > "$table"
echo
cat "$table"
