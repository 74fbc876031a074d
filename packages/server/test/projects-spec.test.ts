import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatCommand } from '../src/projects/command-template.js';
import { entryPointCommand } from '../src/projects/entry-point-command.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { resolveParameters } from '../src/projects/parameters.js';
import { getEntryPoint, loadProject } from '../src/projects/project-spec.js';
import { shellQuote } from '../src/projects/shell-quote.js';
import { tempDir } from './helpers.js';

// The MLproject format and parameter handling, as MLflow's _project_spec.py defines them.

function project(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const tmp = tempDir('mlflow-ts-spec-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp.dir, name)), { recursive: true });
    writeFileSync(path.join(tmp.dir, name), text);
  }
  return tmp;
}

function throwsExecution(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ExecutionError, `expected ExecutionError, got ${error}`);
    assert.match((error as Error).message, message);
    return true;
  });
}

async function rejectsExecution(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ExecutionError, `expected ExecutionError, got ${error}`);
    assert.match((error as Error).message, message);
    return true;
  });
}

const FULL = `name: tutorial
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      l1_ratio:
        type: float
        default: 1.0
      data_file: path
      name: string
      uri_param: {type: uri, default: s3://bucket/x}
      untyped:
    command: "python train.py {alpha} {l1_ratio} {data_file} {name}"
  validate:
    command: "python validate.py"
`;

describe('loading MLproject files', () => {
  test('reads name, environment file, entry points and both parameter forms', (t) => {
    const p = project({ MLproject: FULL, 'python_env.yaml': 'python: "3.11"\n' });
    t.after(p.cleanup);
    const loaded = loadProject(p.dir);
    assert.equal(loaded.name, 'tutorial');
    assert.equal(loaded.envType, 'python_env');
    assert.equal(loaded.envConfigPath, path.join(p.dir, 'python_env.yaml'));
    assert.deepEqual([...loaded.entryPoints.keys()], ['main', 'validate']);
    const main = loaded.entryPoints.get('main');
    assert.deepEqual(main?.parameters, [
      { name: 'alpha', type: 'float', default: '0.5' },
      // YAML 1.0 keeps its text, as Python prints the float 1.0.
      { name: 'l1_ratio', type: 'float', default: '1.0' },
      { name: 'data_file', type: 'path' },
      { name: 'name', type: 'string' },
      { name: 'uri_param', type: 'uri', default: 's3://bucket/x' },
      { name: 'untyped', type: 'string' },
    ]);
    assert.equal(main?.command, 'python train.py {alpha} {l1_ratio} {data_file} {name}');
  });

  test('the file name is matched case-insensitively (mlproject, MLProject)', (t) => {
    const p = project({ mlproject: 'name: lower\nentry_points:\n  main:\n    command: "true"\n' });
    t.after(p.cleanup);
    assert.equal(loadProject(p.dir).name, 'lower');
  });

  test('conda_env and docker_env with volumes and environment entries', (t) => {
    const conda = project({
      MLproject: 'name: c\nconda_env: env/conda.yaml\n',
      'env/conda.yaml': 'name: x\n',
    });
    t.after(conda.cleanup);
    const c = loadProject(conda.dir);
    assert.equal(c.envType, 'conda_env');
    assert.equal(c.envConfigPath, path.join(conda.dir, 'env/conda.yaml'));

    const docker = project({
      MLproject: `name: d
docker_env:
  image: repo/image:tag
  volumes: ["/a:/a", "/b:/b"]
  environment: [["NEW_VAR", "value"], "COPIED", ["NUM", 3]]
entry_points:
  main:
    command: "python x.py"
`,
    });
    t.after(docker.cleanup);
    const d = loadProject(docker.dir);
    assert.equal(d.envType, 'docker_env');
    assert.deepEqual(d.dockerEnv, {
      image: 'repo/image:tag',
      volumes: ['/a:/a', '/b:/b'],
      environment: [['NEW_VAR', 'value'], 'COPIED', ['NUM', '3']],
    });
  });

  test('without MLproject: name from the directory, python_env.yaml before conda.yaml, scripts as entry points', (t) => {
    const both = project({
      'python_env.yaml': 'python: "3.11"\n',
      'conda.yaml': 'name: x\n',
      'train.py': '',
    });
    t.after(both.cleanup);
    const loaded = loadProject(both.dir);
    assert.equal(loaded.name, path.basename(both.dir));
    assert.equal(loaded.envType, 'python_env');
    assert.equal(loaded.envConfigPath, path.join(both.dir, 'python_env.yaml'));
    assert.deepEqual(getEntryPoint(loaded, 'train.py'), {
      name: 'train.py',
      parameters: [],
      command: 'python train.py',
    });
    const shell = process.env.SHELL ?? 'bash';
    assert.equal(getEntryPoint(loaded, 'dir/my script.sh')?.command, `${shell} 'dir/my script.sh'`);

    const condaOnly = project({ 'conda.yaml': 'name: x\n' });
    t.after(condaOnly.cleanup);
    assert.equal(loadProject(condaOnly.dir).envType, 'conda_env');

    const nothing = project({});
    t.after(nothing.cleanup);
    const bare = loadProject(nothing.dir);
    assert.equal(bare.envType, 'python_env');
    assert.equal(bare.envConfigPath, undefined);
  });

  test('an .R file is run through Rscript and mlflow_source, parameters after --args', async (t) => {
    const p = project({ 'my model.R': '' });
    t.after(p.cleanup);
    const entryPoint = getEntryPoint(loadProject(p.dir), 'my model.R');
    assert.equal(entryPoint?.command, `Rscript -e 'mlflow::mlflow_source("my model.R")' --args`);
    // What the shell hands Rscript: a stand-in prints its arguments one per line.
    const bin = tempDir('mlflow-ts-rscript-');
    t.after(bin.cleanup);
    writeFileSync(path.join(bin.dir, 'Rscript'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const params = await resolveParameters(entryPoint as NonNullable<typeof entryPoint>, {
      alpha: "0.5; echo 'x'",
    });
    const out = execFileSync(
      'bash',
      ['-c', entryPointCommand(entryPoint as NonNullable<typeof entryPoint>, params)],
      {
        env: { ...process.env, PATH: `${bin.dir}:${process.env.PATH}` },
        encoding: 'utf8',
      },
    );
    assert.deepEqual(out.split('\n').slice(0, -1), [
      '-e',
      'mlflow::mlflow_source("my model.R")',
      '--args',
      '--alpha',
      "0.5; echo 'x'",
    ]);
  });

  test('an unknown entry point that is no script is an error listing the known ones', (t) => {
    const p = project({ MLproject: FULL, 'python_env.yaml': '' });
    t.after(p.cleanup);
    throwsExecution(
      () => getEntryPoint(loadProject(p.dir), 'nope'),
      /^Could not find nope among entry points \['main', 'validate'\] or interpret nope as a runnable script\. Supported script file extensions: \['\.py', '\.sh'\]$/,
    );
  });

  const invalid: Array<[string, Record<string, string>, RegExp]> = [
    [
      'two environments',
      { MLproject: 'python_env: a.yaml\nconda_env: b.yaml\n' },
      /^Project cannot contain multiple environment fields: python_env, conda_env$/,
    ],
    [
      'a missing python_env file',
      { MLproject: 'python_env: nope.yaml\n' },
      /^Project specified python_env file .*nope\.yaml, but no such file was found\.$/,
    ],
    [
      'a missing conda_env file',
      { MLproject: 'conda_env: nope.yaml\n' },
      /^Project specified conda environment file .*nope\.yaml, but no such file was found\.$/,
    ],
    [
      'docker_env without image',
      { MLproject: 'docker_env:\n  volumes: []\n' },
      /Docker environment specified but no image attribute found\./,
    ],
    [
      'docker volumes that are not strings',
      { MLproject: 'docker_env:\n  image: x\n  volumes: [[1, 2]]\n' },
      /Docker volumes must be a list of strings/,
    ],
    [
      'docker environment that is a mapping',
      { MLproject: 'docker_env:\n  image: x\n  environment: {A: b}\n' },
      /environment must be a list containing either strings/,
    ],
    [
      'an entry point without command',
      { MLproject: 'entry_points:\n  main:\n    parameters: {a: float}\n' },
      /entry point 'main' has no 'command'/,
    ],
    ['entry_points as a list', { MLproject: 'entry_points: [main]\n' }, /'entry_points' must be a mapping/],
    [
      'a parameter given as a list',
      { MLproject: 'entry_points:\n  main:\n    command: x\n    parameters: {a: [1]}\n' },
      /parameter 'a' of entry point 'main' must be a type name/,
    ],
    ['broken YAML', { MLproject: 'name: [unclosed\n' }, /is not valid YAML/],
    ['a YAML list at the top', { MLproject: '- a\n- b\n' }, /must hold a YAML mapping/],
  ];
  for (const [what, files, message] of invalid) {
    test(`refuses ${what}`, (t) => {
      const p = project(files);
      t.after(p.cleanup);
      throwsExecution(() => loadProject(p.dir), message);
    });
  }
});

describe('databricks_spark_job projects', () => {
  test('parses python_file, parameters and python_libraries', (t) => {
    const p = project({
      MLproject:
        'name: s\ndatabricks_spark_job:\n  python_file: job.py\n  parameters: [a, 1]\n  python_libraries: [numpy==1.0]\n',
    });
    t.after(p.cleanup);
    const loaded = loadProject(p.dir);
    assert.deepEqual(loaded.databricksSparkJob, {
      pythonFile: 'job.py',
      parameters: ['a', '1'],
      pythonLibraries: ['numpy==1.0'],
    });
    // With python_file there is no entry point (MLflow ignores -e).
    assert.equal(getEntryPoint(loaded, 'main'), undefined);
  });

  const refused: Array<[string, string, RegExp]> = [
    [
      'neither python_file nor entry points',
      'databricks_spark_job:\n  parameters: []\n',
      /requires either 'databricks_spark_job\.python_file' setting or 'entry_points' setting/,
    ],
    [
      'both python_file and entry points',
      'databricks_spark_job:\n  python_file: a.py\nentry_points:\n  main:\n    command: x\n',
      /does not allow setting both/,
    ],
    [
      'a path parameter',
      'databricks_spark_job: {}\nentry_points:\n  main:\n    command: x\n    parameters: {f: path}\n',
      /does not support entry point parameter of 'path' type\. 'f' value type is invalid\./,
    ],
    [
      'a docker environment',
      'databricks_spark_job:\n  python_file: a.py\ndocker_env:\n  image: x\n',
      /does not support setting docker environment/,
    ],
    [
      'a python environment',
      'databricks_spark_job:\n  python_file: a.py\npython_env: p.yaml\n',
      /does not support setting python environment/,
    ],
  ];
  for (const [what, text, message] of refused) {
    test(`refuses ${what}`, (t) => {
      const p = project({ MLproject: text, 'p.yaml': '' });
      t.after(p.cleanup);
      throwsExecution(() => loadProject(p.dir), message);
    });
  }

  test('an entry point missing from a Spark job project is an error', (t) => {
    const p = project({ MLproject: 'databricks_spark_job: {}\nentry_points:\n  main:\n    command: x\n' });
    t.after(p.cleanup);
    throwsExecution(
      () => getEntryPoint(loadProject(p.dir), 'other'),
      /The entry point 'other' is not defined in the Databricks spark job MLproject file\./,
    );
  });
});

describe('command templates (Python str.format)', () => {
  const values = new Map([
    ['a', '1'],
    ['b', "'x y'"],
  ]);
  test('substitutes fields and keeps doubled braces as literal braces', () => {
    assert.equal(formatCommand('run {a} {b} {{a}} }}{{ {{{a}}}', values), "run 1 'x y' {a} }{ {1}");
  });
  for (const [template, message] of [
    ['run {a', /has a '\{' without a matching '\}'/],
    ['run a}', /has a single '\}'/],
    ['run {c}', /uses '\{c\}', but the entry point declares no parameter 'c'/],
    ['run {}', /only plain parameter names are supported/],
    ['run {a!r}', /only plain parameter names are supported/],
    ['run {a:>4}', /only plain parameter names are supported/],
  ] as const) {
    test(`refuses ${template}`, () => throwsExecution(() => formatCommand(template, values), message));
  }
});

describe('shell quoting (shlex.quote)', () => {
  test('safe words stay as they are; everything else is single-quoted', () => {
    assert.equal(shellQuote('abc-1.5_x/y:z=w,@%+'), 'abc-1.5_x/y:z=w,@%+');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'"'"'s'`);
    assert.equal(shellQuote('$(rm -rf /); `x`\n'), "'$(rm -rf /); `x`\n'");
  });
});

describe('parameters', () => {
  const entryPoint = {
    name: 'main',
    command: 'python train.py --alpha {alpha} --data {data} --model {model}',
    parameters: [
      { name: 'alpha', type: 'float', default: '0.1' },
      { name: 'data', type: 'path' },
      { name: 'model', type: 'uri', default: 'models:/m/1' },
      { name: 'note', type: 'string', default: 'n' },
    ],
  };

  test('missing required parameters are named together, before anything runs', async () => {
    await rejectsExecution(
      resolveParameters(entryPoint, {}),
      /^No value given for missing parameters: 'data'$/,
    );
    const two = { ...entryPoint, parameters: [...entryPoint.parameters, { name: 'epochs', type: 'float' }] };
    await rejectsExecution(
      resolveParameters(two, { alpha: '1' }),
      /^No value given for missing parameters: 'data', 'epochs'$/,
    );
  });

  for (const good of ['1', '-2.5', '1e-3', '.5', '5.', '+3', 'inf', 'NaN', '1_000.5']) {
    test(`float accepts ${good}`, async () => {
      const r = await resolveParameters(entryPoint, { alpha: good, data: 'x' });
      assert.equal(r.declared.get('alpha'), good);
    });
  }
  for (const bad of ['abc', '1.2.3', '', '0x10', '1e', '1__0', '--1']) {
    test(`float refuses '${bad}'`, async () => {
      await rejectsExecution(
        resolveParameters(entryPoint, { alpha: bad, data: 'x' }),
        /^Parameter 'alpha' is of type float, but the value '.*' is not a number\.$/,
      );
    });
  }

  test('path values: relative made absolute, missing local paths refused, remote URIs downloaded', async (t) => {
    const tmp = tempDir('mlflow-ts-params-');
    t.after(tmp.cleanup);
    writeFileSync(path.join(tmp.dir, 'data.csv'), 'x');
    const storageDir = path.join(tmp.dir, 'storage');
    const local = await resolveParameters(entryPoint, { data: 'data.csv' }, { storageDir, cwd: tmp.dir });
    assert.equal(local.declared.get('data'), path.join(tmp.dir, 'data.csv'));
    const fileUri = await resolveParameters(
      entryPoint,
      { data: `file://${tmp.dir}/data.csv` },
      { storageDir },
    );
    assert.equal(fileUri.declared.get('data'), path.join(tmp.dir, 'data.csv'));
    await rejectsExecution(
      resolveParameters(entryPoint, { data: 'missing.csv' }, { storageDir, cwd: tmp.dir }),
      /^Got value missing\.csv for parameter data, but no such file or directory was found\.$/,
    );
    const asked: Array<[string, string]> = [];
    const remote = await resolveParameters(
      entryPoint,
      { data: 's3://bucket/key.csv' },
      {
        storageDir,
        download: async (uri, dir) => {
          asked.push([uri, dir]);
          return path.join(dir, 'key.csv');
        },
      },
    );
    // MLflow's layout: one param_<index> folder per parameter, the index being its declaration order.
    assert.deepEqual(asked, [['s3://bucket/key.csv', path.join(storageDir, 'param_1')]]);
    assert.equal(remote.declared.get('data'), path.join(storageDir, 'param_1', 'key.csv'));
    // Without a storage directory (what is logged) values are kept as given.
    const logged = await resolveParameters(entryPoint, { data: 'data.csv', model: 'rel/model' });
    assert.equal(logged.declared.get('data'), 'data.csv');
    assert.equal(logged.declared.get('model'), 'rel/model');
  });

  test('uri values: relative paths made absolute, URIs kept', async (t) => {
    const tmp = tempDir('mlflow-ts-params-');
    t.after(tmp.cleanup);
    const options = { storageDir: tmp.dir, cwd: '/work/here' };
    const rel = await resolveParameters(entryPoint, { data: tmp.dir, model: 'models/m' }, options);
    assert.equal(rel.declared.get('model'), '/work/here/models/m');
    const uri = await resolveParameters(entryPoint, { data: tmp.dir, model: 'runs:/abc/model' }, options);
    assert.equal(uri.declared.get('model'), 'runs:/abc/model');
  });

  test('undeclared parameters are appended as --key value, all quoted', async () => {
    const r = await resolveParameters(entryPoint, { data: 'a b', extra: 'x;y', 'k;rm -rf': 'v' });
    assert.equal(
      entryPointCommand(entryPoint, r),
      "python train.py --alpha 0.1 --data 'a b' --model models:/m/1 --extra 'x;y' --'k;rm -rf' v",
    );
  });
});
