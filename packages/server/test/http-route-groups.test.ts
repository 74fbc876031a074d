import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/http/app.js';
import { RequestFields } from '../src/http/request-fields.js';
import { ArtifactService } from '../src/services/artifact-service.js';
import type { TrackingService } from '../src/services/tracking-service.js';

// Route groups at the HTTP edge: a group without its service answers MLflow's --artifacts-only 503
// on every one of its routes, and experiment ids are read once, with MLflow's messages.

function disabledText(url: string): string {
  return `Endpoint: ${url} disabled due to the mlflow server running in \`--artifacts-only\` mode. To enable tracking server functionality, run \`mlflow server\` without \`--artifacts-only\``;
}

/** `rule`: the route as MLflow's message names it (its path parameters unfilled). */
async function expect503(
  app: FastifyInstance,
  method: 'GET' | 'POST',
  url: string,
  rule = url.split('?')[0],
): Promise<void> {
  const answer = await app.inject({
    method,
    url,
    headers: { 'content-type': 'application/json' },
    payload: method === 'POST' ? '{}' : undefined,
  });
  assert.equal(answer.statusCode, 503, `${method} ${url}`);
  assert.equal(answer.body, disabledText(rule));
}

describe('route groups without their service', () => {
  test('every group of an --artifacts-only server answers 503 with the rule it matched', async () => {
    const app = buildApp({ artifacts: new ArtifactService({}), uiDir: '/nonexistent' });
    try {
      await expect503(app, 'POST', '/api/2.0/mlflow/experiments/create');
      await expect503(app, 'GET', '/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=x');
      await expect503(app, 'GET', '/api/2.0/mlflow/artifacts/list?run_id=x');
      await expect503(app, 'POST', '/api/2.0/mlflow/logged-models');
      await expect503(
        app,
        'GET',
        '/api/2.0/mlflow/logged-models/m-1',
        '/api/2.0/mlflow/logged-models/:model_id',
      );
      await expect503(app, 'GET', '/api/2.0/mlflow/webhooks');
      await expect503(app, 'POST', '/ajax-api/2.0/mlflow/registered-models/create');
      await expect503(app, 'GET', '/get-artifact?run_id=x&path=y');
      await expect503(app, 'GET', '/model-versions/get-artifact?name=m&version=1&path=y');
      // Routes MLflow does not keep in that mode are not there at all.
      const graphql = await app.inject({ method: 'GET', url: '/graphql?query={__typename}' });
      assert.equal(graphql.statusCode, 404);
      const file = await app.inject({
        method: 'GET',
        url: '/ajax-api/2.0/mlflow/logged-models/m-1/artifacts/files?artifact_file_path=a',
      });
      assert.equal(file.statusCode, 404);
    } finally {
      await app.close();
    }
  });

  test('a group goes with its own service: tracking present, webhooks absent', async () => {
    const tracking = {
      getExperiment: async (id: string) => ({ experiment_id: id }),
    } as unknown as TrackingService;
    const app = buildApp({ tracking, artifacts: new ArtifactService({}), uiDir: '/nonexistent' });
    try {
      const got = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/get?experiment_id=7' });
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), { experiment: { experiment_id: '7' } });
      await expect503(app, 'GET', '/api/2.0/mlflow/webhooks');
    } finally {
      await app.close();
    }
  });
});

describe('RequestFields experiment ids', () => {
  test('required: present as text or a number, else MLflow’s messages', () => {
    assert.equal(new RequestFields({ experiment_id: '12' }, false).requiredExperimentId(), '12');
    assert.equal(new RequestFields({ experiment_id: 12 }, false).requiredExperimentId(), '12');
    assert.equal(new RequestFields({ experiment_id: ['3', '4'] }, true).requiredExperimentId(), '3');
    assert.throws(
      () => new RequestFields({ experiment_id: '' }, false).requiredExperimentId(),
      /Missing value for required parameter 'experiment_id'\./,
    );
    assert.throws(
      () => new RequestFields({}, false).requiredExperimentId(),
      /Missing value for required parameter 'experiment_id'/,
    );
    assert.throws(
      () => new RequestFields({ experiment_id: true }, false).requiredExperimentId(),
      /Invalid value true for parameter 'experiment_id' supplied\. Hint: Value was of type 'bool'\./,
    );
    assert.throws(
      () => new RequestFields({ experiment_id: 1.5 }, false).requiredExperimentId(),
      /Invalid value 1\.5 for parameter 'experiment_id' supplied/,
    );
  });

  test('optional: absent or empty is undefined', () => {
    assert.equal(new RequestFields({}, false).optionalExperimentId(), undefined);
    assert.equal(new RequestFields({ experiment_id: null }, false).optionalExperimentId(), undefined);
    assert.equal(new RequestFields({ experiment_id: '' }, false).optionalExperimentId(), undefined);
    assert.equal(new RequestFields({ experiment_id: 5 }, false).optionalExperimentId(), '5');
  });
});
