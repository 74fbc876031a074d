// Smaller behaviours of MLflow's server that clients and its UI rely on, through HTTP on both dialects:
// /version, doubled slashes, relative artifact locations, float literals in type errors, local model
// version sources, upload-artifact, experiments/search-datasets and download MIME types.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactMimeType } from '../src/http/mime-type.js';
import { pyFloatRepr } from '../src/services/validation.js';
import { call, DIALECTS, expectError, startTestServer, type TestServer, tempDir } from './helpers.js';

const DOCS = ' See the API docs for more information about request parameters.';

/** POSTs a raw JSON text (numbers exactly as written), as Python's json.dumps would send 9.0. */
async function postText(url: string, text: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: text,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function upload(srv: TestServer, query: string, body?: string | Blob) {
  const res = await fetch(`${srv.url}/ajax-api/2.0/mlflow/upload-artifact${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

for (const dialect of DIALECTS) {
  describe(`MLflow server parity on ${dialect}`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer(dialect);
    });
    after(async () => {
      await srv.close();
    });

    test('/version answers the MLflow API version; our own version is in a header of every answer', async () => {
      const res = await fetch(`${srv.url}/version`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '3.6.0');
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      assert.equal(res.headers.get('x-mlflow-ts-version'), pkg.version);
      const missing = await fetch(`${srv.api}/experiments/get?experiment_id=424242`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('x-mlflow-ts-version'), pkg.version);
    });

    test('doubled slashes reach the same handlers, under /api and /ajax-api', async () => {
      const got = await fetch(`${srv.url}//api/2.0/mlflow//experiments/get?experiment_id=0`);
      assert.equal(got.status, 200);
      assert.equal(((await got.json()) as Record<string, any>).experiment.name, 'Default');
      const ajax = await fetch(`${srv.url}/ajax-api/2.0//mlflow/experiments/get?experiment_id=0`);
      assert.equal(ajax.status, 200);
      const run = await call(srv.url, 'POST', '/api/2.0/mlflow//runs/create', { experiment_id: '0' });
      assert.equal(run.status, 200);
      const runId = run.body.run.info.run_id as string;
      const runGet = await fetch(`${srv.url}/api/2.0/mlflow//runs/get?run_id=${runId}`);
      assert.equal(runGet.status, 200);
      // The artifact downloads check their path, so a climbing path is MLflow's 400, not a 404.
      for (const url of [
        `${srv.url}//model-versions/get-artifact?name=m&version=1&path=../../etc/passwd`,
        `${srv.url}//get-artifact?run_id=${runId}&path=../../etc/passwd`,
      ]) {
        const res = await fetch(url);
        assert.equal(res.status, 400, url);
        const body = (await res.json()) as Record<string, any>;
        assert.equal(body.error_code, 'INVALID_PARAMETER_VALUE');
        assert.equal(body.message, 'Invalid path');
      }
    });

    test('a relative artifact_location is resolved against the working directory', async () => {
      const cases: [string, string][] = [
        ['my_location', path.join(process.cwd(), 'my_location')],
        ['./a/./b/', path.join(process.cwd(), 'a/b')],
        ['file:rel/dir', `file://${path.join(process.cwd(), 'rel/dir')}`],
        ['/abs/place', '/abs/place'],
        ['file:///abs/uri', 'file:///abs/uri'],
        ['s3://bucket/relative', 's3://bucket/relative'],
      ];
      for (const [i, [given, stored]] of cases.entries()) {
        const created = await call(srv.api, 'POST', 'experiments/create', {
          name: `relative-${i}`,
          artifact_location: given,
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const got = await call(srv.api, 'GET', 'experiments/get', {
          experiment_id: created.body.experiment_id,
        });
        assert.equal(got.body.experiment.artifact_location, stored, given);
      }
    });

    test('a non-string artifact_location is refused, its value shown as Python parsed it', async () => {
      const url = `${srv.api}/experiments/create`;
      const asFloat = await postText(url, '{"name": "typed", "artifact_location": 9.0, "tags": []}');
      assert.equal(asFloat.status, 400);
      assert.equal(asFloat.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(
        asFloat.body.message,
        /^Invalid value 9\.0 for parameter 'artifact_location' supplied[.:] +Hint: Value was of type 'float'\./,
      );
      assert.ok(asFloat.body.message.endsWith(DOCS));
      const asExp = await postText(url, '{"name": "typed", "artifact_location": 1e16}');
      assert.match(asExp.body.message, /^Invalid value 1e\+16 for parameter 'artifact_location'.*'float'/);
      // A key that merely looks like a float elsewhere in the body does not make an int a float.
      const asInt = await postText(url, '{"name": "typed", "x": "9.0", "y": 2.5, "artifact_location": 9}');
      assert.match(asInt.body.message, /^Invalid value 9 for parameter 'artifact_location'.*'int'/);
      assert.equal(
        (await call(srv.api, 'GET', 'experiments/get-by-name', { experiment_name: 'typed' })).status,
        404,
      );
    });

    test('upload-artifact writes one file into the run, with MLflow checks and messages', async () => {
      const runId = (await call(srv.api, 'POST', 'runs/create', { experiment_id: '0' })).body.run.info
        .run_id as string;
      const ok = await upload(srv, `?run_uuid=${runId}&path=dir/notes.txt`, 'hello upload');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.text, '');
      const file = await fetch(`${srv.url}/get-artifact?run_id=${runId}&path=dir/notes.txt`);
      assert.equal(await file.text(), 'hello upload');
      const listed = await call(srv.api, 'GET', 'artifacts/list', { run_id: runId, path: 'dir' });
      assert.deepEqual(
        listed.body.files.map((f: { path: string }) => f.path),
        ['dir/notes.txt'],
      );

      const bad: [string, string | Blob | undefined, string][] = [
        [`?path=a.txt`, 'x', 'Request must specify run_uuid.'],
        [`?run_uuid=${runId}`, 'x', 'Request must specify path.'],
        [`?run_uuid=${runId}&path=../escape.txt`, 'x', 'Invalid path'],
        [`?run_uuid=${runId}&path=a.txt`, undefined, 'Request must specify data.'],
        [
          `?run_uuid=${runId}&path=big.bin`,
          new Blob([new Uint8Array(10 * 1024 * 1024 + 1)]),
          'Artifact size is too large. Max size is 10MB.',
        ],
      ];
      for (const [query, body, message] of bad) {
        const res = await upload(srv, query, body);
        assert.equal(res.status, 400, query);
        assert.deepEqual(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message }, query);
      }
      const unknown = await upload(srv, `?run_uuid=${'f'.repeat(32)}&path=a.txt`, 'x');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      // Only the UI's prefix has it, as on MLflow's server.
      const api = await fetch(`${srv.api}/upload-artifact?run_uuid=${runId}&path=a.txt`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(api.status, 404);
    });

    test('experiments/search-datasets summarises the datasets of runs, by context', async () => {
      const exp = (await call(srv.api, 'POST', 'experiments/create', { name: 'datasets' })).body
        .experiment_id as string;
      const other = (await call(srv.api, 'POST', 'experiments/create', { name: 'datasets-other' })).body
        .experiment_id as string;
      const dataset = (name: string, digest: string) => ({
        name,
        digest,
        source_type: 'local',
        source: '{"uri": "/data"}',
      });
      const log = async (experimentId: string, inputs: Record<string, unknown>[]) => {
        const runId = (await call(srv.api, 'POST', 'runs/create', { experiment_id: experimentId })).body.run
          .info.run_id;
        const res = await call(srv.api, 'POST', 'runs/log-inputs', { run_id: runId, datasets: inputs });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      };
      const context = (value: string) => [{ key: 'mlflow.data.context', value }];
      await log(exp, [
        { dataset: dataset('iris', 'd1'), tags: context('training') },
        { dataset: dataset('iris-eval', 'd2'), tags: context('eval') },
      ]);
      // The same dataset and context from another run is one summary; no context leaves it out.
      await log(exp, [{ dataset: dataset('iris', 'd1'), tags: context('training') }]);
      await log(exp, [{ dataset: dataset('bare', 'd3') }]);
      await log(other, [{ dataset: dataset('wine', 'd4'), tags: context('training') }]);

      for (const prefix of ['api', 'ajax-api']) {
        const res = await call(`${srv.url}/${prefix}/2.0/mlflow`, 'POST', 'experiments/search-datasets', {
          experiment_ids: [exp],
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, {
          dataset_summaries: [
            { experiment_id: exp, name: 'bare', digest: 'd3' },
            { experiment_id: exp, name: 'iris', digest: 'd1', context: 'training' },
            { experiment_id: exp, name: 'iris-eval', digest: 'd2', context: 'eval' },
          ],
        });
      }
      const both = await call(srv.api, 'POST', 'experiments/search-datasets', {
        experiment_ids: [exp, other, 'x'],
      });
      assert.equal(both.body.dataset_summaries.length, 4);
      const none = await call(srv.api, 'POST', 'experiments/search-datasets', { experiment_ids: ['424242'] });
      assert.deepEqual(none.body, {});

      await expectError(
        call(srv.api, 'POST', 'experiments/search-datasets', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        'SearchDatasets request must specify at least one experiment_id.',
      );
      await expectError(
        call(srv.api, 'POST', 'experiments/search-datasets', {
          experiment_ids: Array.from({ length: 21 }, (_, i) => String(i)),
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        'SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids.',
      );
    });
  });

  test(`local model version sources (${dialect}): inside the run's or logged model's artifacts only`, async () => {
    const root = tempDir('mlflow-ts-parity-root-');
    const srv = await startTestServer(dialect, {
      serveArtifacts: false,
      defaultArtifactRoot: `file://${root.dir}`,
    });
    try {
      const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
        call(srv.api, method, endpoint, body);
      await api('POST', 'registered-models/create', { name: 'm' });
      const run = (await api('POST', 'runs/create', { experiment_id: '0' })).body.run.info;
      assert.ok(run.artifact_uri.startsWith('file://'), run.artifact_uri);
      const dir = run.artifact_uri.slice('file://'.length) as string;
      mkdirSync(path.join(dir, 'model'), { recursive: true });
      writeFileSync(path.join(dir, 'model', 'MLmodel'), 'flavors: {}\n');
      // MLflow's accepted spellings: the URI itself, below it, with `.` and a `..` that stays inside.
      for (const source of [
        run.artifact_uri,
        `${run.artifact_uri}/model`,
        `${run.artifact_uri}/.`,
        `${run.artifact_uri}/model/..`,
        `${dir}/model`,
      ]) {
        const res = await api('POST', 'model-versions/create', { name: 'm', source, run_id: run.run_id });
        assert.equal(res.status, 200, `${source}: ${JSON.stringify(res.body)}`);
      }
      const refused = (field: string, shown: string) =>
        `Invalid model version source: '${shown}'. To use a local path as a model version source, the ${field} request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the ${field}.`;
      await expectError(
        api('POST', 'model-versions/create', { name: 'm', source: run.artifact_uri }),
        400,
        'INVALID_PARAMETER_VALUE',
        refused('run_id', run.artifact_uri),
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'm', source: 'file:///tmp', run_id: run.run_id }),
        400,
        'INVALID_PARAMETER_VALUE',
        refused('run_id', '/tmp'),
      );
      await expectError(
        api('POST', 'model-versions/create', { name: 'm', source: `${dir}/../other`, run_id: run.run_id }),
        400,
        'INVALID_PARAMETER_VALUE',
        refused('run_id', path.resolve(dir, '../other')),
      );
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'm',
          source: 'file://123.456.789.123/path/to/source',
          run_id: run.run_id,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        'file://123.456.789.123/path/to/source is not a valid remote uri. For remote access on windows, please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>).',
      );

      // An experiment with a relative artifact location: its runs' local sources are accepted too.
      const relative = `parity-rel-${dialect}-${process.pid}`;
      const exp = (await api('POST', 'experiments/create', { name: 'rel', artifact_location: relative })).body
        .experiment_id;
      const relRun = (await api('POST', 'runs/create', { experiment_id: exp })).body.run.info;
      assert.equal(relRun.artifact_uri, path.join(process.cwd(), relative, relRun.run_id, 'artifacts'));
      const inside = await api('POST', 'model-versions/create', {
        name: 'm',
        source: `${relRun.artifact_uri}/model`,
        run_id: relRun.run_id,
      });
      assert.equal(inside.status, 200, JSON.stringify(inside.body));

      // A logged model's own artifact location, with model_id.
      const model = await api('POST', 'logged-models', { experiment_id: '0', name: 'lm' });
      assert.equal(model.status, 200, JSON.stringify(model.body));
      const location = model.body.model.info.artifact_uri as string;
      const fromModel = await api('POST', 'model-versions/create', {
        name: 'm',
        source: location,
        model_id: model.body.model.info.model_id,
      });
      assert.equal(fromModel.status, 200, `${location}: ${JSON.stringify(fromModel.body)}`);
      await expectError(
        api('POST', 'model-versions/create', {
          name: 'm',
          source: `${dir}/model`,
          model_id: model.body.model.info.model_id,
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        refused('model_id', `${dir}/model`),
      );
    } finally {
      await srv.close();
      root.cleanup();
    }
  });
}

test('download MIME types ignore the case of names and extensions', () => {
  for (const name of [
    'mlproject',
    'MLproject',
    'MLPROJECT',
    'MLmodel',
    'mlmodel',
    'run/LOG.TXT',
    'conf.YAML',
  ]) {
    assert.equal(artifactMimeType(name), 'text/plain', name);
  }
  assert.equal(artifactMimeType('plot.PNG'), 'image/png');
  assert.equal(artifactMimeType('Page.Html'), 'text/html');
  assert.equal(artifactMimeType('weights.BIN'), 'application/octet-stream');
  assert.equal(artifactMimeType('README'), 'application/octet-stream');
});

test("Python's float repr, as json.dumps writes floats", () => {
  assert.equal(pyFloatRepr(9), '9.0');
  assert.equal(pyFloatRepr(-0.5), '-0.5');
  assert.equal(pyFloatRepr(1e16), '1e+16');
  assert.equal(pyFloatRepr(123456789012345.0), '123456789012345.0');
  assert.equal(pyFloatRepr(0.0001), '0.0001');
  assert.equal(pyFloatRepr(0.00001), '1e-05');
  assert.equal(pyFloatRepr(1.5e-7), '1.5e-07');
});

test('mlflow-ts --version names our version and the MLflow API version', () => {
  const bin = new URL('../bin/mlflow-ts.js', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const out = execFileSync(process.execPath, [bin.pathname, '--version'], { encoding: 'utf8' });
  assert.equal(out.trim(), `${pkg.version} (MLflow REST API 3.6.0)`);
});
