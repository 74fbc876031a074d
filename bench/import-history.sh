#!/usr/bin/env bash
# Times `mlflow-ts db import` of a 10-million-point metric history from an MLflow SQLite database into
# SQLite (docs/benchmarks.md, "Importing a metric history"). Needs sqlite3 and a built server (npx tsc -b).
# POINTS (default 10,000,000) and BATCH (source rows per transaction, default 100,000) change the run.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=$(cd "$(dirname "$0")/.." && pwd)
points=${POINTS:-10000000}
batch=${BATCH:-100000}
sqlite3 "$dir/src.db" <<SQL
create table alembic_version (version_num varchar(32) not null primary key);
insert into alembic_version values ('1b5f0d9ad7c1');
create table experiments (experiment_id integer primary key, name varchar(256) not null, artifact_location varchar(256),
  lifecycle_stage varchar(32), creation_time bigint, last_update_time bigint, workspace varchar(63) default 'default' not null);
create table runs (run_uuid varchar(32) primary key, name varchar(250), source_type varchar(20), source_name varchar(500),
  entry_point_name varchar(50), user_id varchar(256), status varchar(9), start_time bigint, end_time bigint,
  source_version varchar(50), lifecycle_stage varchar(20), artifact_uri varchar(200), experiment_id integer, deleted_time bigint);
create table metrics (key varchar(250) not null, value float not null, timestamp bigint not null, run_uuid varchar(32) not null,
  step bigint default '0' not null, is_nan boolean default '0' not null,
  constraint metric_pk primary key (key, timestamp, step, run_uuid, value, is_nan));
insert into experiments values (1, 'bench', '/a/1', 'active', 1, 1, 'default');
with recursive r(i) as (select 0 union all select i + 1 from r where i < 99)
  insert into runs select printf('run%029d', i), 'r' || i, 'LOCAL', '', '', 'u', 'FINISHED', 1000 + i, 2000, '', 'active', '/a/1/' || i, 1, null from r;
with recursive p(i) as (select 0 union all select i + 1 from p where i < $points - 1)
  insert into metrics select 'k' || (i % 10), (i * 0.37) % 1000, 1700000000000 + i / 100, printf('run%029d', i * 100 / $points), i / 1000, 0 from p;
SQL
time node "$root/packages/server/bin/mlflow-ts.js" db import --from "sqlite:///$dir/src.db" --to "sqlite:///$dir/dst.db" --batch-size "$batch"
