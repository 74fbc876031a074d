import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowError } from '../src/entities/errors.js';
import { parseModelUri } from '../src/services/model-uri.js';

// models:/ URIs read as MLflow reads them; the resolution of each form against a registry is tested
// over REST in registry.test.ts.

test('models:/ URI forms', () => {
  const cases: [string, ReturnType<typeof parseModelUri>][] = [
    ['models:/churn/3', { kind: 'version', name: 'churn', version: 3 }],
    ['models:/churn/Production', { kind: 'stage', name: 'churn', stage: 'Production' }],
    ['models:/churn/staging', { kind: 'stage', name: 'churn', stage: 'staging' }],
    ['models:/churn/latest', { kind: 'latest', name: 'churn' }],
    ['models:/churn/LATEST', { kind: 'latest', name: 'churn' }],
    ['models:/churn@champion', { kind: 'alias', name: 'churn', alias: 'champion' }],
    ['models:/a@b@c', { kind: 'alias', name: 'a@b', alias: 'c' }],
    ['models:/m-0123abcd', { kind: 'logged-model', modelId: 'm-0123abcd' }],
    ['models://profile/churn/2', { kind: 'version', name: 'churn', version: 2 }],
    ['models:/my model/1', { kind: 'version', name: 'my model', version: 1 }],
  ];
  for (const [uri, expected] of cases) assert.deepEqual(parseModelUri(uri), expected, uri);
});

test('improper models:/ URIs get MLflow message', () => {
  for (const uri of [
    'models:',
    'models:/',
    'models:churn/1',
    'models:/churn/1/extra',
    'models:/churn/',
    'models:/ /1',
    'models:/churn@',
    'runs:/abc/model',
  ]) {
    assert.throws(
      () => parseModelUri(uri),
      (error: unknown) =>
        error instanceof MlflowError &&
        error.errorCode === 'INVALID_PARAMETER_VALUE' &&
        error.message.startsWith(`Not a proper models:/ URI: ${uri}. Models URIs must be of the form`),
      uri,
    );
  }
});
