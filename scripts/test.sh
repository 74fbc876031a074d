#!/usr/bin/env bash
# Every check and test of the project, as `npm test` and CI run it: install, build, lint and format
# check, type check, then the test files against SQLite and a real PostgreSQL on loopback, with S3 served by moto
# and by Ceph's radosgw, Azure Blob Storage by Azurite, docker_env projects in Debian's podman, and the web
# UI driven in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh clone has no node_modules; a changed lock file needs a new install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run --silent build
npx biome check .
npx tsc -p tsconfig.json

# The services this run starts (here, or the tests themselves: Slurm) are stopped when it ends, however
# it ends; those already up before it (a developer's, another run's) are left alone.
# MLFLOW_TS_TEST_KEEP_SERVICES=1 leaves everything up for the next run.
SERVICES=(postgres mariadb moto radosgw azurite podman slurm)
already_up=()
for service in "${SERVICES[@]}"; do
  if bash "scripts/services/$service.sh" running 2>/dev/null; then already_up+=("$service"); fi
done
stop_started_services() {
  local status=$? service
  if [ "${MLFLOW_TS_TEST_KEEP_SERVICES:-}" = 1 ]; then
    echo "MLFLOW_TS_TEST_KEEP_SERVICES=1: leaving the test services running" >&2
    return "$status"
  fi
  for service in "${SERVICES[@]}"; do
    [[ " ${already_up[*]} " == *" $service "* ]] && continue
    bash "scripts/services/$service.sh" running 2>/dev/null || continue
    echo "stopping the $service test service this run started" >&2
    bash "scripts/services/$service.sh" stop >&2 || echo "could not stop $service" >&2
  done
  return "$status"
}
trap stop_started_services EXIT

# Installs PostgreSQL from Debian's packages when missing; a failure here fails the run.
MLFLOW_TS_TEST_POSTGRES_URI=$(bash scripts/services/postgres.sh start)
export MLFLOW_TS_TEST_POSTGRES_URI

# MariaDB (Debian's mariadb-server, installed when missing) for the import tests' MySQL source. Under CI
# a MariaDB that cannot start fails the run; elsewhere those tests are skipped with the reason.
if MLFLOW_TS_TEST_MYSQL_URI=$(bash scripts/services/mariadb.sh start); then
  export MLFLOW_TS_TEST_MYSQL_URI
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/mariadb.sh start failed; the MySQL import tests need it under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_MYSQL_URI
fi

# S3 (moto's server on loopback) for the S3 artifact repository. Under CI a missing moto fails the run;
# elsewhere the S3 tests are skipped with the reason.
if MLFLOW_TS_TEST_S3_ENDPOINT=$(bash scripts/services/moto.sh start); then
  export MLFLOW_TS_TEST_S3_ENDPOINT
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/moto.sh start failed; the S3 tests need it under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_S3_ENDPOINT
fi

# S3 again on a real implementation: Ceph's radosgw (installed from Debian's packages when missing; a
# one-node cluster with its data in memory, about 15 s to start). Same rules as for moto.
if MLFLOW_TS_TEST_RGW_ENDPOINT=$(bash scripts/services/radosgw.sh start); then
  # The S3 user radosgw.sh creates.
  export MLFLOW_TS_TEST_RGW_ENDPOINT MLFLOW_TS_TEST_RGW_ACCESS_KEY=mlflow-ts-test MLFLOW_TS_TEST_RGW_SECRET_KEY=mlflow-ts-test-secret
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/radosgw.sh start failed; the S3 tests on radosgw need it under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_RGW_ENDPOINT
fi

# Azure Blob Storage (Azurite, a devDependency, on loopback) for the Azure artifact repository. Under CI a
# missing Azurite fails the run; elsewhere the Azure tests are skipped with the reason.
if MLFLOW_TS_TEST_AZURE_CONNECTION_STRING=$(bash scripts/services/azurite.sh start); then
  export MLFLOW_TS_TEST_AZURE_CONNECTION_STRING
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/azurite.sh start failed; the Azure tests need it under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_AZURE_CONNECTION_STRING
fi

# A real container engine for docker_env projects: Debian's podman (installed with apt-get when missing)
# with a busybox image made from Debian's packages (no registry). Same rules as for moto.
if MLFLOW_TS_TEST_PODMAN_DIR=$(bash scripts/services/podman.sh start); then
  export MLFLOW_TS_TEST_PODMAN_DIR
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/podman.sh start failed; the docker_env container tests need it under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_PODMAN_DIR
fi

# Debian's Chromium for the web UI's end-to-end tests (installed with apt-get when missing). Under CI a
# missing Chromium fails the run; elsewhere the UI tests are skipped with the reason.
if MLFLOW_TS_TEST_CHROMIUM=$(bash scripts/services/chromium.sh start); then
  export MLFLOW_TS_TEST_CHROMIUM
elif [ "${CI:-}" = true ]; then
  echo "scripts/services/chromium.sh start failed; the web UI tests need Chromium under CI" >&2
  exit 1
else
  unset MLFLOW_TS_TEST_CHROMIUM
fi

mkdir -p test-results
tap=test-results/tests.tap
mapfile -t files < <(find packages bench -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
status=0
node --import tsx --test \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?

passed=$(awk '/^# pass /{print $3}' "$tap")
failed=$(awk '/^# fail /{print $3}' "$tap")
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
