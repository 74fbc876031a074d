// Experiment ids past 2^53 (MLflow's file store draws random 18-digit ones) are kept exactly: through
// import, every experiment-scoped endpoint, paging, export and back; ids past 2^63 - 1 name nothing.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportStore } from '../src/import/export.js';
import { importStore } from '../src/import/importer.js';
import { verifyStores } from '../src/import/verify.js';
import { startServer } from '../src/server.js';
import { call, DIALECTS, freshPostgresUri, freshStoreUri, rejectsWith, tempDir } from './helpers.js';

const MLRUNS_FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'mlflow-3.6',
  'mlruns',
);
/** The fixture's two experiments (written by MLflow 3.6's file store) and the ids they get here. */
const MAIN = '390161824234890863'; // fixture-main: runs, datasets, a logged model, a trace
const OTHER = '939596759433125838';
const TRASHED = '890981002964911424'; // deleted, in .trash
const ABOVE_2_53 = '9007199254740993'; // 2^53 + 1: the first integer a double cannot hold
const MAX_INT64 = '9223372036854775807'; // 2^63 - 1

/** Replaces `from` with `to` in every text file under `dir`. */
function replaceInFiles(dir: string, from: string, to: string): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) replaceInFiles(file, from, to);
    else {
      const text = readFileSync(file, 'utf8');
      if (text.includes(from)) writeFileSync(file, text.replaceAll(from, to));
    }
  }
}

/**
 * A copy of the mlruns fixture whose experiments have the given ids instead of their own, with the
 * fixture's trace moved from experiment 0 into fixture-main.
 */
function mlrunsWithIds(ids: Record<string, string>): { dir: string; cleanup: () => void } {
  const copy = tempDir('mlflow-ts-exp-ids-');
  const root = path.join(copy.dir, 'mlruns');
  cpSync(MLRUNS_FIXTURE, root, { recursive: true });
  renameSync(path.join(root, '0', 'traces'), path.join(root, MAIN, 'traces'));
  replaceInFiles(path.join(root, MAIN, 'traces'), "experiment_id: '0'", `experiment_id: '${MAIN}'`);
  for (const [from, to] of Object.entries(ids)) {
    renameSync(path.join(root, from), path.join(root, to));
    replaceInFiles(root, from, to);
  }
  return { dir: root, cleanup: copy.cleanup };
}

async function withServer<T>(
  uri: string,
  fn: (api: string) => Promise<T>,
  extra: Partial<Parameters<typeof startServer>[0]> = {},
): Promise<T> {
  const artifacts = tempDir('mlflow-ts-exp-ids-artifacts-');
  const server = await startServer({
    backendStoreUri: uri,
    serveArtifacts: true,
    artifactsDestination: artifacts.dir,
    host: '127.0.0.1',
    port: 0,
    ...extra,
  });
  try {
    return await fn(`${server.url}/api/2.0/mlflow`);
  } finally {
    await server.close();
    artifacts.cleanup();
  }
}

/** Every experiment id of a paged experiments/search, one experiment per page. */
async function pagedExperimentIds(api: string, orderBy?: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await call(api, 'POST', 'experiments/search', {
      max_results: 1,
      view_type: 'ALL',
      ...(orderBy ? { order_by: [orderBy] } : {}),
      ...(token ? { page_token: token } : {}),
    });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    ids.push(...(page.body.experiments ?? []).map((e: { experiment_id: string }) => e.experiment_id));
    token = page.body.next_page_token;
  } while (token);
  return ids;
}

for (const dialect of DIALECTS) {
  describe(`experiment ids past 2^53 on ${dialect}`, () => {
    test('the 18-digit ids of the mlruns fixture are kept through every experiment-scoped endpoint', async () => {
      const source = mlrunsWithIds({});
      const store = await freshStoreUri(dialect);
      try {
        await importStore({ from: source.dir, to: store.uri });
        await withServer(store.uri, async (api) => {
          const byName = await call(api, 'GET', 'experiments/get-by-name', {
            experiment_name: 'fixture-main',
          });
          assert.equal(byName.body.experiment.experiment_id, MAIN);
          const got = await call(api, 'GET', 'experiments/get', { experiment_id: MAIN });
          assert.equal(got.body.experiment.name, 'fixture-main');
          // One digit off is another (unknown) experiment: nothing was rounded on the way.
          const near = await call(api, 'GET', 'experiments/get', { experiment_id: '390161824234890864' });
          assert.equal(near.status, 404);

          const runs = await call(api, 'POST', 'runs/search', { experiment_ids: [MAIN] });
          assert.ok(runs.body.runs.length > 0);
          for (const r of runs.body.runs) assert.equal(r.info.experiment_id, MAIN);
          const run = await call(api, 'GET', 'runs/get', { run_id: 'eb117f52130c43fa9a398206ffddd37f' });
          assert.equal(run.body.run.info.experiment_id, MAIN);

          const datasets = await call(api, 'POST', 'experiments/search-datasets', { experiment_ids: [MAIN] });
          assert.equal(datasets.status, 200, JSON.stringify(datasets.body));
          assert.ok(datasets.body.dataset_summaries.length > 0);
          for (const d of datasets.body.dataset_summaries) assert.equal(d.experiment_id, MAIN);

          const models = await call(api, 'POST', 'logged-models/search', { experiment_ids: [MAIN] });
          assert.equal(models.status, 200, JSON.stringify(models.body));
          assert.ok(models.body.models.length > 0);
          for (const m of models.body.models) assert.equal(m.info.experiment_id, MAIN);

          const v3 = api.replace('/2.0/', '/3.0/');
          const traces = await call(v3, 'POST', 'traces/search', {
            locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: MAIN } }],
          });
          assert.equal(traces.status, 200, JSON.stringify(traces.body));
          assert.equal(traces.body.traces.length, 1);
          assert.equal(traces.body.traces[0].trace_location.mlflow_experiment.experiment_id, MAIN);

          // New experiments keep small sequential ids beside the imported 18-digit ones.
          const created = await call(api, 'POST', 'experiments/create', { name: 'after-import' });
          assert.equal(created.status, 200, JSON.stringify(created.body));
          assert.match(created.body.experiment_id, /^\d{1,3}$/);
        });
      } finally {
        store.cleanup();
        source.cleanup();
      }
    });

    test('ids 2^53 + 1 and 2^63 - 1: create runs, search, page, rename, tag, delete and restore', async () => {
      const source = mlrunsWithIds({ [MAIN]: ABOVE_2_53, [OTHER]: MAX_INT64 });
      const store = await freshStoreUri(dialect);
      try {
        await importStore({ from: source.dir, to: store.uri });
        const report = await verifyStores(source.dir, store.uri);
        assert.equal(report.differences, 0, report.lines.join('\n'));
        await withServer(store.uri, async (api) => {
          for (const id of [ABOVE_2_53, MAX_INT64]) {
            const got = await call(api, 'GET', 'experiments/get', { experiment_id: id });
            assert.equal(got.status, 200, JSON.stringify(got.body));
            assert.equal(got.body.experiment.experiment_id, id);

            const created = await call(api, 'POST', 'runs/create', { experiment_id: id, start_time: 1 });
            assert.equal(created.status, 200, JSON.stringify(created.body));
            assert.equal(created.body.run.info.experiment_id, id);
            const runId: string = created.body.run.info.run_id;
            const found = await call(api, 'POST', 'runs/search', {
              experiment_ids: [id],
              filter: `attributes.run_id = '${runId}'`,
            });
            assert.equal(found.body.runs.length, 1);
            assert.equal(found.body.runs[0].info.experiment_id, id);

            const model = await call(api, 'POST', 'logged-models', { experiment_id: id, name: 'm' });
            assert.equal(model.status, 200, JSON.stringify(model.body));
            assert.equal(model.body.model.info.experiment_id, id);

            const renamed = await call(api, 'POST', 'experiments/update', {
              experiment_id: id,
              new_name: `renamed-${id}`,
            });
            assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
            const tagged = await call(api, 'POST', 'experiments/set-experiment-tag', {
              experiment_id: id,
              key: 'k',
              value: 'v',
            });
            assert.equal(tagged.status, 200, JSON.stringify(tagged.body));
            const after = await call(api, 'GET', 'experiments/get', { experiment_id: id });
            assert.equal(after.body.experiment.name, `renamed-${id}`);
            assert.deepEqual(
              after.body.experiment.tags.filter((t: { key: string }) => t.key === 'k'),
              [{ key: 'k', value: 'v' }],
            );
          }
          // The two differ only past a double's precision from their neighbours; each search finds its own.
          const filtered = await call(api, 'POST', 'experiments/search', {
            filter: `name = 'renamed-${MAX_INT64}'`,
          });
          assert.deepEqual(
            filtered.body.experiments.map((e: { experiment_id: string }) => e.experiment_id),
            [MAX_INT64],
          );

          // Paging carries the id in its token exactly, in both orders (the fixture's deleted
          // experiment keeps its own 18-digit id, between the two).
          const ascending = ['0', ABOVE_2_53, TRASHED, MAX_INT64];
          assert.deepEqual(await pagedExperimentIds(api, 'experiment_id ASC'), ascending);
          assert.deepEqual(await pagedExperimentIds(api, 'experiment_id DESC'), [...ascending].reverse());
          assert.deepEqual((await pagedExperimentIds(api)).sort(), [...ascending].sort());

          const deleted = await call(api, 'POST', 'experiments/delete', { experiment_id: MAX_INT64 });
          assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
          const gone = await call(api, 'GET', 'experiments/get', { experiment_id: MAX_INT64 });
          assert.equal(gone.body.experiment.lifecycle_stage, 'deleted');
          const runsGone = await call(api, 'POST', 'runs/search', { experiment_ids: [MAX_INT64] });
          assert.equal(runsGone.body.runs, undefined, 'its runs were deleted with it');
          const other = await call(api, 'GET', 'experiments/get', { experiment_id: ABOVE_2_53 });
          assert.equal(other.body.experiment.lifecycle_stage, 'active', 'a neighbour is untouched');
          const restored = await call(api, 'POST', 'experiments/restore', { experiment_id: MAX_INT64 });
          assert.equal(restored.status, 200, JSON.stringify(restored.body));
        });
      } finally {
        store.cleanup();
        source.cleanup();
      }
    });

    test('auth: a permission on an 18-digit experiment applies to it, in lookups and searches', async () => {
      const store = await freshStoreUri(dialect);
      const users = tempDir('mlflow-ts-exp-ids-users-');
      const admin = { user: 'admin', password: 'password1234' };
      const bob = { user: 'bob', password: 'bob-password-123' };
      const as = async (
        who: typeof admin,
        api: string,
        method: 'GET' | 'POST',
        endpoint: string,
        body: object,
      ) => {
        const get = method === 'GET';
        const query = get ? `?${new URLSearchParams(body as Record<string, string>)}` : '';
        const response = await fetch(`${api}/${endpoint}${query}`, {
          method,
          headers: {
            Authorization: `Basic ${Buffer.from(`${who.user}:${who.password}`).toString('base64')}`,
            ...(get ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(get ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, any> };
      };
      try {
        await importStore({ from: MLRUNS_FIXTURE, to: store.uri });
        const auth = {
          defaultPermission: 'READ' as const,
          databaseUri: `sqlite:///${path.join(users.dir, 'basic_auth.db')}`,
          adminUsername: admin.user,
          adminPassword: admin.password,
        };
        await withServer(
          store.uri,
          async (api) => {
            const created = await as(admin, api, 'POST', 'users/create', {
              username: bob.user,
              password: bob.password,
            });
            assert.equal(created.status, 200, JSON.stringify(created.body));
            const granted = await as(admin, api, 'POST', 'experiments/permissions/create', {
              experiment_id: MAIN,
              username: bob.user,
              permission: 'NO_PERMISSIONS',
            });
            assert.equal(granted.status, 200, JSON.stringify(granted.body));
            assert.equal((await as(bob, api, 'GET', 'experiments/get', { experiment_id: MAIN })).status, 403);
            assert.equal(
              (await as(bob, api, 'GET', 'experiments/get', { experiment_id: OTHER })).status,
              200,
            );
            const listed = await as(bob, api, 'POST', 'experiments/search', { max_results: 100 });
            const ids = listed.body.experiments.map((e: { experiment_id: string }) => e.experiment_id);
            assert.ok(!ids.includes(MAIN), `hidden: ${ids}`);
            assert.ok(ids.includes(OTHER), `shown: ${ids}`);
            const runs = await as(bob, api, 'POST', 'runs/search', { experiment_ids: [MAIN, OTHER] });
            assert.ok(runs.body.runs.length > 0);
            for (const r of runs.body.runs) assert.equal(r.info.experiment_id, OTHER);
          },
          { auth },
        );
      } finally {
        store.cleanup();
        users.cleanup();
      }
    });

    test('ids past 2^63 - 1 and ids that are not digits name no experiment', async () => {
      const store = await freshStoreUri(dialect);
      try {
        await withServer(store.uri, async (api) => {
          for (const id of ['9223372036854775808', '99999999999999999999999', 'abc', '-1', '1e3', ' 1']) {
            const got = await call(api, 'GET', 'experiments/get', { experiment_id: id });
            assert.equal(got.status, 404, `${id}: ${JSON.stringify(got.body)}`);
            assert.equal(got.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
            assert.equal(got.body.message, `No Experiment with id=${id} exists`);
            const run = await call(api, 'POST', 'runs/create', { experiment_id: id });
            assert.equal(run.status, 404, `${id}: ${JSON.stringify(run.body)}`);
            const deleted = await call(api, 'POST', 'experiments/delete', { experiment_id: id });
            assert.equal(deleted.status, 404, `${id}: ${JSON.stringify(deleted.body)}`);
            const model = await call(api, 'POST', 'logged-models', { experiment_id: id });
            assert.equal(model.status, 404, `${id}: ${JSON.stringify(model.body)}`);
            const runs = await call(api, 'POST', 'runs/search', { experiment_ids: [id, '0'] });
            assert.equal(runs.status, 200, `${id}: ${JSON.stringify(runs.body)}`);
            const datasets = await call(api, 'POST', 'experiments/search-datasets', { experiment_ids: [id] });
            assert.equal(datasets.status, 200, `${id}: ${JSON.stringify(datasets.body)}`);
          }
        });
      } finally {
        store.cleanup();
      }
    });

    test('an mlruns/ source with an experiment id past 2^63 - 1 is refused', async () => {
      const source = mlrunsWithIds({ [OTHER]: '9223372036854775808' });
      const store = await freshStoreUri(dialect);
      try {
        await rejectsWith(
          importStore({ from: source.dir, to: store.uri }),
          'INVALID_PARAMETER_VALUE',
          /experiment id '9223372036854775808' is not an integer from 0 to 9223372036854775807/,
        );
      } finally {
        store.cleanup();
        source.cleanup();
      }
    });

    test('export to mlruns/ and SQLite keeps the ids; MLflow PostgreSQL schema refuses them', async () => {
      const store = await freshStoreUri(dialect);
      const out = tempDir('mlflow-ts-exp-ids-export-');
      try {
        await importStore({ from: MLRUNS_FIXTURE, to: store.uri });
        const mlruns = path.join(out.dir, 'mlruns');
        await exportStore({ from: store.uri, to: mlruns });
        assert.ok(readdirSync(mlruns).includes(MAIN));
        assert.match(
          readFileSync(path.join(mlruns, MAIN, 'meta.yaml'), 'utf8'),
          new RegExp(`experiment_id: ['"]?${MAIN}`),
        );
        const sqlite = `sqlite:///${path.join(out.dir, 'mlflow.db')}`;
        await exportStore({ from: store.uri, to: sqlite });
        // Both read back by the importer into a fresh store: the same experiments, the same ids.
        for (const from of [mlruns, sqlite]) {
          const again = await freshStoreUri(dialect);
          try {
            await importStore({ from, to: again.uri });
            await withServer(again.uri, async (api) => {
              const got = await call(api, 'GET', 'experiments/get', { experiment_id: MAIN });
              assert.equal(got.body.experiment.name, 'fixture-main', from);
            });
          } finally {
            again.cleanup();
          }
        }
        if (dialect === 'postgres') {
          const target = await freshPostgresUri();
          await rejectsWith(
            exportStore({ from: store.uri, to: target }),
            'INVALID_PARAMETER_VALUE',
            /Experiment 390161824234890863 cannot be exported into MLflow's PostgreSQL schema/,
          );
        }
      } finally {
        out.cleanup();
        store.cleanup();
      }
    });
  });
}
