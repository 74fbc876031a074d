// The MLflow 3.6 schema `db export` creates on PostgreSQL, read back from PostgreSQL's catalog and
// compared with what MLflow's migrations leave there. The expectation is not our DDL: it is the database
// MLflow 3.6 itself made on SQLite (the fixture), spelled as SQLAlchemy spells those types on PostgreSQL,
// with the few places where MLflow's migrations end differently on PostgreSQL (cited below).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { exportStore } from '../src/import/export.js';
import { importStore } from '../src/import/importer.js';
import { freshPostgresUri, freshStoreUri } from './helpers.js';

const FIXTURE_DB = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'mlflow-3.6',
  'sqlite',
  'mlflow.db',
);

/** SQLAlchemy's PostgreSQL names (information_schema's data_type) for the types MLflow's SQLite shows. */
function postgresType(sqliteType: string): { type: string; length: number | null } {
  const varchar = /^VARCHAR\((\d+)\)$/i.exec(sqliteType);
  if (varchar) return { type: 'character varying', length: Number(varchar[1]) };
  const types: Record<string, string> = {
    INTEGER: 'integer',
    BIGINT: 'bigint',
    // sa.Float (precision 53 or none) is FLOAT on both; PostgreSQL's FLOAT is double precision.
    FLOAT: 'double precision',
    // sa.Boolean is native on PostgreSQL.
    BOOLEAN: 'boolean',
    TEXT: 'text',
    JSON: 'json',
  };
  const type = types[sqliteType.toUpperCase()];
  assert.ok(type, `no PostgreSQL spelling known for ${sqliteType}`);
  return { type, length: null };
}

/** A server default as PostgreSQL's catalog prints it, from the SQLite text MLflow's migrations left. */
function postgresDefault(sqliteDefault: string | null, type: string): string | null {
  if (sqliteDefault === null) return null;
  if (type === 'boolean') return sqliteDefault === "'0'" ? 'false' : 'true';
  if (type === 'bigint') return `${sqliteDefault}::bigint`;
  if (type === 'character varying') return `${sqliteDefault}::character varying`;
  return sqliteDefault;
}

/**
 * Where MLflow's migrations leave PostgreSQL unlike SQLite:
 * - experiments.experiment_id is an autoincrementing Integer key (MLflow's initial models): SQLite's
 *   INTEGER PRIMARY KEY, PostgreSQL's SERIAL, i.e. a sequence as the default.
 * - Boolean columns get no CHECK (SQLAlchemy makes one only where booleans are not native).
 * - runs.status has no CHECK: revision cfd24bdc0731 replaces the constraint named `status` with a
 *   non-native Enum's (also named `status`), and 0a8213491aaa drops the constraint named `status`;
 *   on SQLite that drop fails (as the migration expects) and the batch-recreated table keeps its check.
 */
const SERIAL_DEFAULT = "nextval('experiments_experiment_id_seq'::regclass)";
const BOOLEAN_CHECK = /^CHECK \((\w+) IN \(0, 1\)\)$/;
const POSTGRES_DROPS_CHECK = new Set(['runs.status']);

interface Column {
  table: string;
  name: string;
  position: number;
  type: string;
  length: number | null;
  nullable: boolean;
  default: string | null;
  generated: boolean;
}

interface Schema {
  columns: Column[];
  /** table -> [constraint name, columns] */
  primaryKeys: string[];
  uniques: string[];
  foreignKeys: string[];
  /** table.column (or table.<name>) of each CHECK other than NOT NULL. */
  checks: string[];
  /** Indexes that are not a constraint's: name on table (columns). */
  indexes: string[];
}

/** What MLflow 3.6's own SQLite database says PostgreSQL should hold. */
function expectedSchema(): Schema {
  const db = new BetterSqlite3(FIXTURE_DB, { readonly: true });
  try {
    const tables = db
      .prepare(
        "select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
      )
      .all() as { name: string; sql: string }[];
    const schema: Schema = {
      columns: [],
      primaryKeys: [],
      uniques: [],
      foreignKeys: [],
      checks: [],
      indexes: [],
    };
    for (const { name: table, sql } of tables) {
      const columns = db.prepare('select * from pragma_table_xinfo(?)').all(table) as {
        cid: number;
        name: string;
        type: string;
        notnull: number;
        dflt_value: string | null;
        pk: number;
        hidden: number;
      }[];
      for (const [i, c] of columns.entries()) {
        const { type, length } = postgresType(c.type);
        const serial = table === 'experiments' && c.name === 'experiment_id';
        schema.columns.push({
          table,
          name: c.name,
          position: i + 1,
          type,
          length,
          nullable: c.notnull === 0 && c.pk === 0,
          default: serial ? SERIAL_DEFAULT : postgresDefault(c.dflt_value, type),
          generated: c.hidden === 2 || c.hidden === 3,
        });
      }
      const pk = /CONSTRAINT (\w+) PRIMARY KEY \(([^)]*)\)/.exec(sql);
      if (pk) schema.primaryKeys.push(`${table}: ${pk[1]} (${unquote(pk[2])})`);
      for (const u of sql.matchAll(/CONSTRAINT (\w+) UNIQUE \(([^)]*)\)/g)) {
        schema.uniques.push(`${table}: ${u[1]} (${unquote(u[2])})`);
      }
      const fks = db.prepare('select * from pragma_foreign_key_list(?) order by id, seq').all(table) as {
        id: number;
        table: string;
        from: string;
        to: string;
        on_update: string;
        on_delete: string;
      }[];
      const byId = new Map<number, typeof fks>();
      for (const fk of fks) byId.set(fk.id, [...(byId.get(fk.id) ?? []), fk]);
      for (const parts of byId.values()) {
        const first = parts[0];
        schema.foreignKeys.push(
          `${table} (${parts.map((p) => p.from).join(', ')}) -> ${first.table} (${parts.map((p) => p.to).join(', ')}) on delete ${first.on_delete} on update ${first.on_update}`,
        );
      }
      for (const check of checksOf(sql)) {
        if (BOOLEAN_CHECK.test(check.text)) continue;
        const key = `${table}.${check.column}`;
        if (POSTGRES_DROPS_CHECK.has(key)) continue;
        // PostgreSQL calls an unnamed CHECK <table>_<column>_check: that name says nothing either way.
        const named = check.name && check.name !== `${table}_${check.column}_check`;
        schema.checks.push(`${key}${named ? ` (${check.name})` : ''}`);
      }
    }
    const indexes = db
      .prepare("select name, tbl_name, sql from sqlite_master where type = 'index' and sql is not null")
      .all() as { name: string; tbl_name: string; sql: string }[];
    for (const index of indexes) {
      const columns = /\(([^)]*)\)\s*$/.exec(index.sql)?.[1] ?? '';
      schema.indexes.push(
        `${index.tbl_name}: ${/^CREATE UNIQUE/i.test(index.sql) ? 'unique ' : ''}${index.name} (${unquote(columns)})`,
      );
    }
    return sorted(schema);
  } finally {
    db.close();
  }
}

function unquote(columns: string): string {
  return columns
    .split(',')
    .map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
    .join(', ');
}

/** The CHECK constraints in a CREATE TABLE statement, with their names and the column each checks. */
function checksOf(sql: string): { name: string | null; column: string; text: string }[] {
  const out: { name: string | null; column: string; text: string }[] = [];
  for (const m of sql.matchAll(/(?:CONSTRAINT (\w+) )?(CHECK \((\w+) IN \([^)]*\)\))/g)) {
    out.push({ name: m[1] ?? null, column: m[3], text: m[2] });
  }
  return out;
}

function sorted(schema: Schema): Schema {
  const by = (a: Column, b: Column) => a.table.localeCompare(b.table) || a.position - b.position;
  return {
    columns: [...schema.columns].sort(by),
    primaryKeys: [...schema.primaryKeys].sort(),
    uniques: [...schema.uniques].sort(),
    foreignKeys: [...schema.foreignKeys].sort(),
    checks: [...schema.checks].sort(),
    indexes: [...schema.indexes].sort(),
  };
}

/** The schema PostgreSQL's catalog shows for the database at `uri`. */
async function actualSchema(uri: string): Promise<Schema> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  try {
    const columns = await client.query(
      `select table_name, column_name, ordinal_position, data_type, character_maximum_length,
         is_nullable, column_default, is_generated
       from information_schema.columns where table_schema = current_schema()`,
    );
    const schema: Schema = {
      columns: columns.rows.map((r) => ({
        table: r.table_name,
        name: r.column_name,
        position: r.ordinal_position,
        type: r.data_type,
        length: r.character_maximum_length,
        nullable: r.is_nullable === 'YES',
        default: r.column_default,
        generated: r.is_generated === 'ALWAYS',
      })),
      primaryKeys: [],
      uniques: [],
      foreignKeys: [],
      checks: [],
      indexes: [],
    };
    const constraints = await client.query(
      `select c.contype, c.conname, t.relname as table_name, r.relname as ref_table,
         c.confdeltype, c.confupdtype,
         (select string_agg(a.attname, ', ' order by k.ord) from unnest(c.conkey) with ordinality k(n, ord)
            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n) as columns,
         (select string_agg(a.attname, ', ' order by k.ord) from unnest(c.confkey) with ordinality k(n, ord)
            join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n) as ref_columns
       from pg_constraint c join pg_class t on t.oid = c.conrelid
       left join pg_class r on r.oid = c.confrelid
       join pg_namespace n on n.oid = t.relnamespace and n.nspname = current_schema()`,
    );
    // SQLite's pragma words for PostgreSQL's referential action codes.
    const action: Record<string, string> = {
      a: 'NO ACTION',
      r: 'RESTRICT',
      c: 'CASCADE',
      n: 'SET NULL',
      d: 'SET DEFAULT',
    };
    for (const c of constraints.rows) {
      if (c.contype === 'p') schema.primaryKeys.push(`${c.table_name}: ${c.conname} (${c.columns})`);
      if (c.contype === 'u') schema.uniques.push(`${c.table_name}: ${c.conname} (${c.columns})`);
      if (c.contype === 'f') {
        schema.foreignKeys.push(
          `${c.table_name} (${c.columns}) -> ${c.ref_table} (${c.ref_columns}) on delete ${action[c.confdeltype]} on update ${action[c.confupdtype]}`,
        );
      }
      if (c.contype === 'c') {
        // PostgreSQL names an unnamed CHECK <table>_<column>_check.
        const unnamed = c.conname === `${c.table_name}_${c.columns}_check`;
        schema.checks.push(`${c.table_name}.${c.columns}${unnamed ? '' : ` (${c.conname})`}`);
      }
    }
    const indexes = await client.query(
      `select i.relname as name, t.relname as table_name, x.indisunique as is_unique,
         (select string_agg(a.attname, ', ' order by k.ord) from unnest(x.indkey) with ordinality k(n, ord)
            join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.n) as columns
       from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
       join pg_namespace n on n.oid = t.relnamespace and n.nspname = current_schema()
       where not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`,
    );
    for (const i of indexes.rows) {
      schema.indexes.push(`${i.table_name}: ${i.is_unique ? 'unique ' : ''}${i.name} (${i.columns})`);
    }
    return sorted(schema);
  } finally {
    await client.end();
  }
}

describe('the exported PostgreSQL schema', () => {
  let expected: Schema;
  let actual: Schema;
  const stores: (() => void)[] = [];

  before(async () => {
    expected = expectedSchema();
    const ours = await freshStoreUri('sqlite');
    stores.push(ours.cleanup);
    await importStore({ from: `sqlite:///${FIXTURE_DB}`, to: ours.uri });
    const exported = await freshPostgresUri();
    await exportStore({ from: ours.uri, to: exported });
    actual = await actualSchema(exported);
  });
  after(() => {
    for (const cleanup of stores) cleanup();
  });

  test("has MLflow's tables and columns: order, types, lengths, nullability, defaults, generated", () => {
    assert.deepEqual(actual.columns, expected.columns);
  });

  test("has MLflow's primary keys, unique constraints and foreign keys with their actions", () => {
    assert.deepEqual(actual.primaryKeys, expected.primaryKeys);
    assert.deepEqual(actual.uniques, expected.uniques);
    assert.deepEqual(actual.foreignKeys, expected.foreignKeys);
  });

  test("has MLflow's CHECK constraints as its migrations leave them on PostgreSQL", () => {
    assert.deepEqual(actual.checks, expected.checks);
    // The migrations' PostgreSQL-only outcomes, stated outright.
    assert.ok(!actual.checks.some((c) => c.startsWith('runs.status')));
    assert.ok(!actual.checks.some((c) => /is_nan|\.valid/.test(c)));
  });

  test("has MLflow's indexes", () => {
    assert.deepEqual(actual.indexes, expected.indexes);
  });
});
