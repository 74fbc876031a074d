import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  flavorOf,
  MLmodelError,
  newMLmodel,
  parseMLmodel,
  pythonJson,
  readMLmodel,
  stringifyMLmodel,
  writeMLmodel,
} from '../src/models/mlmodel.js';
import { tempDir } from './helpers.js';

// MLmodel files: reading the files MLflow writes (fixtures in the shapes of MLflow 1.x, 2.x and 3.x
// models), typed access, writing them back unchanged, and clear errors for documents MLflow could not load.

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mlmodel');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

describe('MLmodel files as MLflow writes them', () => {
  test('an MLflow 3 sklearn model: flavors, signature, input example, run and logged model', () => {
    const m = parseMLmodel(fixture('sklearn-mlflow3.yaml'));
    assert.equal(m.model_id, 'm-4b1f0e2a9c3d4e5f8a7b6c5d4e3f2a1b');
    assert.equal(m.run_id, '8e2d41c7a05b4f6e9d3c2b1a0f9e8d7c');
    // MLflow 3 writes the logged model's id as the model_uuid too.
    assert.equal(m.model_uuid, m.model_id);
    assert.equal(m.mlflow_version, '3.1.0');
    assert.equal(m.utc_time_created, '2025-06-12 09:41:27.512307');
    assert.equal(m.model_size_bytes, 1843);
    assert.equal(flavorOf(m, 'python_function')?.loader_module, 'mlflow.sklearn');
    assert.equal(flavorOf(m, 'sklearn')?.sklearn_version, '1.5.2');
    assert.equal(flavorOf(m, 'pytorch'), undefined);
    assert.deepEqual(m.signature?.inputs, [
      { type: 'double', name: 'sepal length (cm)', required: true },
      { type: 'double', name: 'sepal width (cm)', required: true },
    ]);
    assert.deepEqual(m.signature?.outputs, [{ type: 'long', required: true }]);
    assert.equal(m.signature?.params, undefined);
    assert.equal(m.saved_input_example_info?.artifact_path, 'input_example.json');
    assert.equal(m.saved_input_example_info?.type, 'dataframe');
    // Fields this module does not type are kept.
    assert.deepEqual(m.extra, {
      is_signature_from_type_hint: false,
      prompts: null,
      type_hint_from_example: false,
    });
  });

  test('a pyfunc model with inference params and metadata', () => {
    const m = parseMLmodel(fixture('pyfunc-params.yaml'));
    assert.deepEqual(
      m.signature?.params?.map((p) => [p.name, p.type, p.default]),
      [
        ['temperature', 'float', 0.5],
        ['max_tokens', 'long', 100],
        ['scale', 'double', 1],
      ],
    );
    assert.deepEqual(m.metadata, { owner: 'search-team', task: 'llm/v1/chat' });
    assert.equal(m.run_id, undefined);
    assert.equal(m.model_id, undefined);
  });

  test('an MLflow 1.x tensor model without model_uuid', () => {
    const m = parseMLmodel(fixture('tensor-mlflow1.yaml'));
    assert.equal(m.model_uuid, undefined);
    assert.equal(m.artifact_path, 'model');
    assert.deepEqual(m.signature?.inputs, [
      { type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 28, 28] } },
    ]);
  });

  for (const name of ['sklearn-mlflow3.yaml', 'pyfunc-params.yaml', 'tensor-mlflow1.yaml']) {
    test(`${name} round-trips: same document, schema JSON text kept byte for byte`, () => {
      const text = fixture(name);
      const written = stringifyMLmodel(parseMLmodel(text));
      assert.deepEqual(parse(written), {
        ...parse(text),
        signature: { params: null, ...parse(text).signature },
      });
      // 1.0 stays 1.0 (JavaScript would write 1), as MLflow's reader may tell float from int.
      const original = parse(text).signature;
      const again = parse(written).signature;
      for (const part of ['inputs', 'outputs', 'params'] as const)
        assert.equal(again[part] ?? null, original[part] ?? null);
      // Keys are sorted, as PyYAML's safe_dump writes them.
      const keys = [...written.matchAll(/^(\w+):/gm)].map((k) => k[1]);
      assert.deepEqual(keys, [...keys].sort());
    });
  }

  test('a changed schema is written as Python json.dumps writes it', () => {
    const m = parseMLmodel(fixture('pyfunc-params.yaml'));
    m.signature?.inputs?.push({ type: 'string', name: 'héllo', required: false });
    const written = parse(stringifyMLmodel(m));
    assert.equal(
      written.signature.inputs,
      '[{"type": "string", "name": "prompt", "required": true}, {"type": "string", "name": "h\\u00e9llo", "required": false}]',
    );
    assert.equal(pythonJson({ a: [1, 2.5, null, true], b: 'x' }), '{"a": [1, 2.5, null, true], "b": "x"}');
  });

  test('a new model written to a file and read back', async () => {
    const tmp = tempDir('mlflow-ts-mlmodel-');
    try {
      const model = newMLmodel({
        artifact_path: 'model',
        run_id: 'r'.repeat(32),
        model_id: 'm-0123456789abcdef0123456789abcdef',
        flavors: { python_function: { loader_module: 'mlflow.pyfunc.model', python_version: '3.11.0' } },
        signature: {
          inputs: [{ type: 'double', name: 'x', required: true }],
          params: [{ name: 'k', type: 'long', default: 3, shape: null }],
        },
        saved_input_example_info: {
          artifact_path: 'input_example.json',
          type: 'dataframe',
          pandas_orient: 'split',
        },
        metadata: { stage: 'dev' },
      });
      assert.match(model.model_uuid ?? '', /^[0-9a-f]{32}$/);
      assert.match(model.utc_time_created ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      const file = path.join(tmp.dir, 'MLmodel');
      await writeMLmodel(file, model);
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^ {2}inputs: '\[\{"type": "double", "name": "x", "required": true\}\]'$/m);
      assert.match(text, /^ {2}outputs: null$/m);
      const back = await readMLmodel(file);
      assert.deepEqual(back, model);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('MLmodel documents MLflow could not load', () => {
  const bad: [string, RegExp][] = [
    ['flavors: [a, b]', /MLmodel: 'flavors' must map flavor names to their settings, found a list/],
    ['flavors:\n  sklearn: 3', /'flavors\.sklearn' must be a mapping of settings, found number 3/],
    ['- just\n- a list', /MLmodel: must be a YAML mapping of fields, found a list/],
    ['run_id: [1]', /'run_id' must be text, found a list/],
    ['model_id: abc', /'model_id' must be a logged model id/],
    ['signature: yes please', /'signature' must be a mapping/],
    ['signature:\n  inputs: "[{"', /'signature\.inputs' is not valid JSON/],
    ["signature:\n  inputs: '{}'", /'signature\.inputs' must be a JSON list of columns, found a mapping/],
    [
      'signature:\n  outputs: \'[{"name": "y"}]\'',
      /'signature\.outputs\[0\]\.type' must be text, found nothing/,
    ],
    ['signature:\n  params: \'[{"type": "long"}]\'', /'signature\.params\[0\]\.name' must be text/],
    ['signature:\n  inputs:\n    - type: double', /must be the schema as JSON text/],
    [
      'saved_input_example_info:\n  type: dataframe',
      /'saved_input_example_info\.artifact_path' must name the example's file/,
    ],
    ['metadata: 5', /'metadata' must be a mapping, found number 5/],
    ['model_size_bytes: -3', /'model_size_bytes' must be a whole number of bytes/],
    ['flavors: {a: [}', /MLmodel: not valid YAML/],
  ];
  for (const [text, message] of bad) {
    test(JSON.stringify(text), () => {
      assert.throws(
        () => parseMLmodel(text),
        (error: unknown) => error instanceof MLmodelError && message.test(error.message),
      );
    });
  }

  test('errors name the file they came from', async () => {
    const tmp = tempDir('mlflow-ts-mlmodel-');
    try {
      const file = path.join(tmp.dir, 'MLmodel');
      await writeMLmodel(file, newMLmodel());
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, 'flavors: 1\n');
      await assert.rejects(
        readMLmodel(file),
        new RegExp(`^MLmodelError: ${file.replace(/[/.]/g, '\\$&')}: 'flavors'`),
      );
    } finally {
      tmp.cleanup();
    }
  });
});
