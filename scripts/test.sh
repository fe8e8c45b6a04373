#!/usr/bin/env bash
# Run lint and the test suite on SQLite and on a local PostgreSQL server.
# The server is started here (and stopped afterwards) unless SHOPMIND_TEST_POSTGRES_URL
# already names one. Where no server can be started, PostgreSQL tests are skipped,
# unless SHOPMIND_REQUIRE_POSTGRES=1 (CI), which makes that a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started=""
if [ -z "${SHOPMIND_TEST_POSTGRES_URL:-}" ]; then
  if url=$(bash .ci/postgres.sh start); then
    export SHOPMIND_TEST_POSTGRES_URL=$url
    started=1
  else
    echo "warning: could not start PostgreSQL; its tests will be skipped" >&2
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
dirs=$(ls -d src tests bench 2>/dev/null)
$BIN/ruff check $dirs && $BIN/ruff format --check $dirs
lint=$?
$BIN/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
rc=$?
[ -n "$started" ] && bash .ci/postgres.sh stop
[ $lint -ne 0 ] && echo "lint failed" >&2 && exit $lint
exit $rc
