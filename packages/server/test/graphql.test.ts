import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'graphql';
import { MAX_DEPTH, queryLimitError } from '../src/http/graphql/query-limits.js';
import { call, DIALECTS, expectError, startTestServer, type TestServer } from './helpers.js';

// MLflow's /graphql endpoint over HTTP: the queries MLflow's UI sends, its limits and its error shape.

interface Answer {
  data: Record<string, any> | null;
  errors: string[] | null;
}

/** The answer's data, which must be there. */
function dataOf(answer: Answer): Record<string, any> {
  assert.ok(answer.data, JSON.stringify(answer.errors));
  return answer.data;
}

const GET_RUN = `
  query MlflowGetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentTracking.RunView") {
    mlflowGetRun(input: $data) {
      apiError { code message }
      run {
        info { runId runUuid runName experimentId userId status startTime endTime artifactUri lifecycleStage }
        data { metrics { key value step timestamp } params { key value } tags { key value } }
        inputs {
          datasetInputs { dataset { name digest sourceType source schema profile } tags { key value } }
          modelInputs { modelId }
        }
        outputs { modelOutputs { modelId step } }
        experiment { experimentId name artifactLocation lifecycleStage lastUpdateTime creationTime tags { key value } }
        modelVersions { name version status runId aliases tags { key value } }
      }
    }
  }`;

const SEARCH_RUNS = `
  query MlflowSearchRuns($data: MlflowSearchRunsInput!) {
    mlflowSearchRuns(input: $data) {
      apiError { code message }
      nextPageToken
      runs { info { runId runName status } data { metrics { key value } } experiment { name } }
    }
  }`;

const BULK_INTERVAL = `
  query MlflowGetMetricHistoryBulkInterval($data: MlflowGetMetricHistoryBulkIntervalInput!) {
    mlflowGetMetricHistoryBulkInterval(input: $data) { metrics { runId key value step timestamp } apiError { code } }
  }`;

for (const dialect of DIALECTS) {
  describe(`GraphQL on ${dialect}`, () => {
    let srv: TestServer;
    let experimentId: string;
    let runId: string;
    let otherRunId: string;
    const api = (method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>) =>
      call(srv.api, method, endpoint, body);
    const gql = async (query: string, variables?: Record<string, unknown>, operationName?: string) => {
      const res = await call<Answer>(srv.url, 'POST', 'graphql', { query, variables, operationName });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    before(async () => {
      srv = await startTestServer(dialect);
      experimentId = (
        await api('POST', 'experiments/create', { name: 'gql', tags: [{ key: 'team', value: 'a' }] })
      ).body.experiment_id;
      const create = async (name: string) =>
        (
          await api('POST', 'runs/create', {
            experiment_id: experimentId,
            run_name: name,
            start_time: 1700000000123,
          })
        ).body.run.info.run_id as string;
      runId = await create('first');
      otherRunId = await create('second');
      const logged = await api('POST', 'runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'loss', value: 0.5, timestamp: 1700000000500, step: 0 },
          { key: 'loss', value: 0.25, timestamp: 1700000000600, step: 1 },
          { key: 'bad', value: 'NaN', timestamp: 1700000000700, step: 3 },
        ],
        params: [{ key: 'lr', value: '0.01' }],
        tags: [{ key: 'team', value: 'vision' }],
      });
      assert.equal(logged.status, 200, JSON.stringify(logged.body));
      await api('POST', 'runs/log-metric', {
        run_id: otherRunId,
        key: 'loss',
        value: 0.75,
        timestamp: 1,
        step: 2,
      });
      const inputs = await api('POST', 'runs/log-inputs', {
        run_id: runId,
        datasets: [
          {
            dataset: {
              name: 'iris',
              digest: 'abc123',
              source_type: 'local',
              source: '/data/iris',
              schema: '{}',
            },
            tags: [{ key: 'mlflow.data.context', value: 'training' }],
          },
          { dataset: { name: 'plain', digest: 'def456', source_type: 'local', source: '/data/plain' } },
        ],
      });
      assert.equal(inputs.status, 200, JSON.stringify(inputs.body));
      await api('POST', 'registered-models/create', { name: 'gql-model' });
      const version = await api('POST', 'model-versions/create', {
        name: 'gql-model',
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
      assert.equal(version.status, 200, JSON.stringify(version.body));
    });
    after(async () => {
      await srv.close();
    });

    test('the test field echoes, by POST and by GET', async () => {
      const query = 'query testQuery { test(inputString: "abc") { output } }';
      assert.deepEqual(await gql(query, undefined, 'testQuery'), {
        data: { test: { output: 'abc' } },
        errors: null,
      });
      const got = await fetch(`${srv.url}/graphql?${new URLSearchParams({ query })}`);
      assert.equal(got.status, 200);
      assert.deepEqual(await got.json(), { data: { test: { output: 'abc' } }, errors: null });
      const mutation = await gql('mutation { testMutation(inputString: "x") { output } }');
      assert.deepEqual(mutation.data, { testMutation: { output: 'x' } });
    });

    test('MlflowGetExperiment: MLflow field names, int64 as strings', async () => {
      const res = await gql(
        `query MlflowGetExperiment($input: MlflowGetExperimentInput) {
          mlflowGetExperiment(input: $input) {
            experiment { experimentId name artifactLocation lifecycleStage lastUpdateTime creationTime tags { key value } }
          }
        }`,
        { input: { experimentId } },
      );
      assert.equal(res.errors, null);
      const e = res.data?.mlflowGetExperiment.experiment;
      assert.equal(e.experimentId, experimentId);
      assert.equal(e.name, 'gql');
      assert.equal(e.lifecycleStage, 'active');
      assert.match(e.creationTime, /^\d{13}$/);
      assert.match(e.lastUpdateTime, /^\d{13}$/);
      assert.match(e.artifactLocation, /^mlflow-artifacts:/);
      assert.deepEqual(e.tags, [{ key: 'team', value: 'a' }]);
    });

    test('MlflowGetRun: info, data with NaN as null, inputs, experiment and model versions', async () => {
      const res = await gql(GET_RUN, { data: { runId } }, 'MlflowGetRun');
      assert.equal(res.errors, null, JSON.stringify(res.errors));
      const { apiError, run } = dataOf(res).mlflowGetRun;
      assert.equal(apiError, null);
      assert.equal(run.info.runId, runId);
      assert.equal(run.info.runUuid, runId);
      assert.equal(run.info.runName, 'first');
      assert.equal(run.info.status, 'RUNNING');
      assert.equal(run.info.startTime, '1700000000123');
      assert.equal(run.info.endTime, null);
      assert.equal(run.info.experimentId, experimentId);
      const metrics = Object.fromEntries(run.data.metrics.map((m: any) => [m.key, m]));
      assert.deepEqual(metrics.loss, { key: 'loss', value: 0.25, step: '1', timestamp: '1700000000600' });
      assert.deepEqual(metrics.bad, { key: 'bad', value: null, step: '3', timestamp: '1700000000700' });
      assert.deepEqual(run.data.params, [{ key: 'lr', value: '0.01' }]);
      assert.ok(run.data.tags.some((t: any) => t.key === 'team' && t.value === 'vision'));
      const byName = Object.fromEntries(run.inputs.datasetInputs.map((d: any) => [d.dataset.name, d]));
      assert.deepEqual(byName.iris, {
        dataset: {
          name: 'iris',
          digest: 'abc123',
          sourceType: 'local',
          source: '/data/iris',
          schema: '{}',
          profile: null,
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      });
      assert.equal(run.experiment.name, 'gql');
      assert.deepEqual(run.experiment.tags, [{ key: 'team', value: 'a' }]);
      assert.equal(run.modelVersions.length, 1);
      assert.deepEqual(run.modelVersions[0], {
        name: 'gql-model',
        version: '1',
        status: 'READY',
        runId,
        aliases: [],
        tags: [],
      });
      // runUuid, MLflow's older name, finds the run too.
      const byUuid = await gql(
        `query { mlflowGetRun(input: {runUuid: "${runId}"}) { run { info { runName } } } }`,
      );
      assert.equal(byUuid.data?.mlflowGetRun.run.info.runName, 'first');
    });

    test("a service error nulls the field and reports MLflow's message", async () => {
      const res = await gql(
        'query { mlflowGetRun(input: {runId: "0123456789abcdef"}) { run { info { runId } } } }',
      );
      assert.deepEqual(res.data, { mlflowGetRun: null });
      assert.equal(res.errors?.length, 1);
      assert.match(res.errors?.[0] ?? '', /0123456789abcdef/);
      const exp = await gql(
        'query { mlflowGetExperiment(input: {experimentId: "987654"}) { experiment { name } } }',
      );
      assert.deepEqual(exp.data, { mlflowGetExperiment: null });
      assert.match(exp.errors?.[0] ?? '', /987654/);
    });

    test('MlflowSearchRuns, as a query and as a mutation, with filter, order and pages', async () => {
      const res = await gql(SEARCH_RUNS, {
        data: {
          experimentIds: [experimentId],
          filter: 'metrics.loss < 1',
          orderBy: ['attributes.run_name ASC'],
          maxResults: 1,
        },
      });
      assert.equal(res.errors, null, JSON.stringify(res.errors));
      const first = res.data?.mlflowSearchRuns;
      assert.deepEqual(
        first.runs.map((r: any) => r.info.runName),
        ['first'],
      );
      assert.equal(first.runs[0].experiment.name, 'gql');
      assert.equal(first.runs[0].info.status, 'RUNNING');
      assert.ok(first.runs[0].data.metrics.some((m: any) => m.key === 'bad' && m.value === null));
      assert.equal(typeof first.nextPageToken, 'string');
      const next = await gql(SEARCH_RUNS.replace('query MlflowSearchRuns', 'mutation MlflowSearchRuns'), {
        data: {
          experimentIds: [experimentId],
          orderBy: ['attributes.run_name ASC'],
          pageToken: first.nextPageToken,
        },
      });
      assert.equal(next.errors, null);
      assert.deepEqual(
        next.data?.mlflowSearchRuns.runs.map((r: any) => r.info.runName),
        ['second'],
      );
      assert.equal(next.data?.mlflowSearchRuns.nextPageToken, null);
      const bad = await gql(SEARCH_RUNS, {
        data: { experimentIds: [experimentId], filter: 'metrics.loss <' },
      });
      assert.deepEqual(bad.data, { mlflowSearchRuns: null });
      assert.equal(bad.errors?.length, 1);
    });

    test('MlflowGetMetricHistoryBulkInterval: points of each run; NaN fails the value as in MLflow', async () => {
      const res = await gql(BULK_INTERVAL, {
        data: { runIds: [runId, otherRunId], metricKey: 'loss', maxResults: 10 },
      });
      assert.equal(res.errors, null);
      assert.deepEqual(res.data?.mlflowGetMetricHistoryBulkInterval.metrics, [
        { runId, key: 'loss', value: 0.5, step: '0', timestamp: '1700000000500' },
        { runId, key: 'loss', value: 0.25, step: '1', timestamp: '1700000000600' },
        { runId: otherRunId, key: 'loss', value: 0.75, step: '2', timestamp: '1' },
      ]);
      const nan = await gql(BULK_INTERVAL, { data: { runIds: [runId], metricKey: 'bad' } });
      assert.deepEqual(nan.errors, ['Float cannot represent non numeric value: NaN']);
      assert.equal(nan.data?.mlflowGetMetricHistoryBulkInterval.metrics[0].value, null);
      assert.equal(nan.data?.mlflowGetMetricHistoryBulkInterval.metrics[0].step, '3');
      const range = await gql(BULK_INTERVAL, {
        data: { runIds: [runId], metricKey: 'loss', startStep: 5, endStep: 1 },
      });
      assert.deepEqual(range.data, { mlflowGetMetricHistoryBulkInterval: null });
      assert.match(range.errors?.[0] ?? '', /end_step must be greater than start_step/);
    });

    test("MlflowListArtifacts lists a run's folder", async () => {
      const run = (await api('GET', 'runs/get', { run_id: runId })).body.run;
      const where = String(run.info.artifact_uri).replace(/^mlflow-artifacts:\/*/, '');
      const put = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${where}/model/notes.txt`, {
        method: 'PUT',
        body: 'hello',
      });
      assert.equal(put.status, 200);
      const query = `query MlflowListArtifacts($data: MlflowListArtifactsInput!) {
        mlflowListArtifacts(input: $data) { rootUri nextPageToken files { path isDir fileSize } apiError { code } }
      }`;
      const root = await gql(query, { data: { runId } });
      assert.equal(root.errors, null);
      assert.equal(root.data?.mlflowListArtifacts.rootUri, run.info.artifact_uri);
      assert.deepEqual(root.data?.mlflowListArtifacts.files, [
        { path: 'model', isDir: true, fileSize: null },
      ]);
      const folder = await gql(query, { data: { runUuid: runId, path: 'model' } });
      assert.deepEqual(folder.data?.mlflowListArtifacts.files, [
        { path: 'model/notes.txt', isDir: false, fileSize: '5' },
      ]);
      const outside = await gql(query, { data: { runId, path: '../x' } });
      assert.deepEqual(outside.data, { mlflowListArtifacts: null });
      assert.equal(outside.errors?.length, 1);
    });

    test('MlflowSearchDatasets: one summary per dataset and context, and its limits', async () => {
      const query = `mutation MlflowSearchDatasets($data: MlflowSearchDatasetsInput!) {
        mlflowSearchDatasets(input: $data) { datasetSummaries { experimentId name digest context } }
      }`;
      const res = await gql(query, { data: { experimentIds: [experimentId, '99999999999'] } });
      assert.equal(res.errors, null);
      const summaries = [...dataOf(res).mlflowSearchDatasets.datasetSummaries].sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      assert.deepEqual(summaries, [
        { experimentId, name: 'iris', digest: 'abc123', context: 'training' },
        { experimentId, name: 'plain', digest: 'def456', context: null },
      ]);
      const none = await gql(query, { data: { experimentIds: [] } });
      assert.deepEqual(none.errors, ['SearchDatasets request must specify at least one experiment_id.']);
      const many = await gql(query, {
        data: { experimentIds: Array.from({ length: 21 }, (_, i) => String(i)) },
      });
      assert.deepEqual(many.errors, [
        'SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids.',
      ]);
    });

    test('MlflowSearchModelVersions', async () => {
      const res = await gql(
        `query { mlflowSearchModelVersions(input: {filter: "name='gql-model'", maxResults: 5}) {
          modelVersions { name version creationTimestamp currentStage source } nextPageToken } }`,
      );
      assert.equal(res.errors, null);
      const [version] = dataOf(res).mlflowSearchModelVersions.modelVersions;
      assert.equal(version.name, 'gql-model');
      assert.equal(version.currentStage, 'None');
      assert.equal(version.source, `runs:/${runId}/model`);
      assert.match(version.creationTimestamp, /^\d{13}$/);
    });

    test('bad queries: syntax, unknown fields and variables are GraphQL errors with data null', async () => {
      const syntax = await gql('query { test(inputString: "abc") { output }');
      assert.equal(syntax.data, null);
      assert.match(syntax.errors?.[0] ?? '', /^Syntax Error/);
      const unknown = await gql('query { mlflowGetRun(input: {runId: "x"}) { run { nope } } }');
      assert.equal(unknown.data, null);
      assert.match(unknown.errors?.[0] ?? '', /Cannot query field "nope" on type "MlflowRunExtension"/);
      const badVariable = await gql(GET_RUN, { data: { runId: 5 } });
      assert.equal(badVariable.data, null);
      assert.match(badVariable.errors?.[0] ?? '', /String cannot represent a non string value/);
      const badEnum = await gql(SEARCH_RUNS, {
        data: { experimentIds: [experimentId], runViewType: 'SOME' },
      });
      assert.match(badEnum.errors?.[0] ?? '', /MlflowViewType/);
      const unknownOperation = await gql('query a { test { output } }', undefined, 'b');
      assert.match(unknownOperation.errors?.[0] ?? '', /Unknown operation named "b"/);
    });

    test("MLflow's batching limits: root fields, aliases, depth and selections", async () => {
      const rootFields = `query { ${Array.from({ length: 12 }, (_, i) => `k${i}: test(inputString: "a") { output }`).join(' ')} }`;
      assert.deepEqual((await gql(rootFields)).errors, [
        'GraphQL queries should have at most 10 root fields, got 12 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable.',
      ]);
      const aliases = `query { mlflowGetExperiment(input: {experimentId: "${experimentId}"}) { ${Array.from({ length: 12 }, (_, i) => `e${i}: experiment { name }`).join(' ')} } }`;
      assert.deepEqual((await gql(aliases)).errors, [
        'GraphQL queries should have at most 10 aliases, got 12 aliases. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ALIASES environment variable.',
      ]);
      const tenAliases = aliases.replace(/e1[01]: experiment \{ name \} /g, '');
      assert.equal((await gql(tenAliases)).errors, null);
      let inner = 'name';
      for (let i = 0; i < 12; i++) inner = `name { ${inner} }`;
      const deep = await gql(
        `query { mlflowGetExperiment(input: {experimentId: "1"}) { experiment { ${inner} } } }`,
      );
      assert.deepEqual(deep, { data: null, errors: [`Query exceeds maximum depth of ${MAX_DEPTH}`] });
      const wide = Array.from({ length: 1002 }, (_, i) => `f${i} { name }`).join(' ');
      const selections = await gql(
        `query { mlflowGetExperiment(input: {experimentId: "1"}) { experiment { ${wide} } } }`,
      );
      assert.deepEqual(selections.errors, ['Query exceeds maximum total selections of 1000']);
    });

    test('bad requests get MLflow errors: Content-Type, missing query, bad variables', async () => {
      const wrongType = await fetch(`${srv.url}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ query: '{ test { output } }' }),
      });
      assert.equal(wrongType.status, 400);
      assert.equal(((await wrongType.json()) as any).error_code, 'INVALID_PARAMETER_VALUE');
      await expectError(
        call(srv.url, 'POST', 'graphql', { variables: {} }),
        400,
        'INVALID_PARAMETER_VALUE',
        /'query'/,
      );
      await expectError(
        call(srv.url, 'POST', 'graphql', { query: '{ test { output } }', variables: [1] }),
        400,
        'INVALID_PARAMETER_VALUE',
        /variables/,
      );
      await expectError(
        call(srv.url, 'GET', 'graphql', { query: '{ test { output } }', variables: '{not json' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /variables/,
      );
      await expectError(call(srv.url, 'GET', 'graphql'), 400, 'INVALID_PARAMETER_VALUE', /'query'/);
    });
  });
}

describe('GraphQL query limits', () => {
  const limits = { maxRootFields: 2, maxAliases: 1 };
  test('inline fragments count toward the limits; fragment definitions are not root fields', () => {
    const inline = parse(
      'query { ... on Query { a: test { output } b: test { output } c: test { output } } }',
    );
    assert.match(queryLimitError(inline, limits) ?? '', /at most 2 root fields, got 3/);
    const fragment = parse(
      'query { mlflowGetRun { ...R } } fragment R on MlflowGetRunResponse { run { info { runId } } apiError { code } x: run { data { params { key } } } }',
    );
    assert.equal(queryLimitError(fragment, limits), undefined);
    assert.match(
      queryLimitError(fragment, { maxRootFields: 1, maxAliases: 0 }) ?? '',
      /at most 0 aliases, got 1/,
    );
  });
});
