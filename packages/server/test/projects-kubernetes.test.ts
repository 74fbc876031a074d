import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionFromKubeconfig, resolveKubeConnection } from '../src/projects/backends/kubeconfig.js';
import { loadJobTemplate, parseKubernetesConfig } from '../src/projects/backends/kubernetes-config.js';
import {
  containerCommand,
  dnsLabel,
  jobDefinition,
  jobName,
  jobProgress,
  jobTimestamp,
} from '../src/projects/backends/kubernetes-job.js';
import { ExecutionError } from '../src/projects/execution-error.js';
import { runProject } from '../src/projects/run-project.js';
import { call, DIALECTS, REPO_ROOT, startTestServer, type TestServer, tempDir } from './helpers.js';
import { KubernetesMock, makeTestPki, type TestPki } from './kubernetes-mock.js';

// The kubernetes backend against a local mock of the Kubernetes API (we cannot reach a cluster from
// here) over real TLS, which checks every request's shape; the image build and push through a docker
// CLI shim that records its arguments and the build context (there is no container engine here);
// tracking on a real mlflow-ts server.

const DIGEST = `sha256:${'ab12'.repeat(16)}`;

const TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  name: "{replaced with MLflow Project name}"
  namespace: mlflow
spec:
  ttlSecondsAfterFinished: 100
  backoffLimit: 0
  template:
    spec:
      containers:
        - name: "{replaced with MLflow Project name}"
          image: "{replaced with URI of Docker image created during Project execution}"
          command: ["{replaced with MLflow Project entry point command}"]
          env:
            - name: FROM_TEMPLATE
              value: "kept"
          resources:
            limits:
              memory: 512Mi
            requests:
              memory: 256Mi
      restartPolicy: Never
`;

const MLPROJECT = `name: K8s_Demo
docker_env:
  image: registry.example/team/base:1.0
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      text: string
    command: "python train.py --alpha {alpha} --text {text}"
`;

function makeProject(files: Record<string, string> = {}) {
  const t = tempDir('mlflow-ts-k8s-project-');
  writeFileSync(path.join(t.dir, 'MLproject'), MLPROJECT);
  writeFileSync(path.join(t.dir, 'train.py'), 'print("train")\n');
  mkdirSync(path.join(t.dir, 'data'));
  writeFileSync(path.join(t.dir, 'data', 'rows.csv'), 'a,b\n1,2\n');
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(t.dir, name), content);
  return t;
}

/**
 * A docker CLI shim: records each call's arguments (NUL-separated), keeps a copy of each build
 * context, and answers `push` like docker does (the digest line), or as configured by
 * MOCK_DOCKER_MODE: push-denied (the registry refuses), no-digest (push prints none; the digest is
 * then in `image inspect`'s RepoDigests).
 */
function dockerShim(dir: string): { bin: string; calls: () => string[][]; contexts: () => string[] } {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const callsFile = path.join(dir, 'calls');
  const contextsDir = path.join(dir, 'contexts');
  mkdirSync(contextsDir);
  writeFileSync(
    path.join(bin, 'docker'),
    `#!/bin/bash
{ printf '%s\\0' "$@"; printf '\\n'; } >> ${JSON.stringify(callsFile)}
case "$1" in
  info) exit 0 ;;
  build) n=$(ls ${JSON.stringify(contextsDir)} | wc -l); cp -r "\${@: -1}" ${JSON.stringify(contextsDir)}/ctx-$n; echo "Successfully built 0123abcd"; exit 0 ;;
  push)
    if [ "$MOCK_DOCKER_MODE" = push-denied ]; then echo "The push refers to repository [$2]"; echo "denied: requested access to the resource is denied" >&2; exit 1; fi
    echo "The push refers to repository [\${2%:*}]"
    echo "5f70bf18a086: Pushed"
    if [ "$MOCK_DOCKER_MODE" != no-digest ]; then echo "\${2##*:}: digest: ${DIGEST} size: 1784"; fi
    exit 0 ;;
  image) ref="\${@: -1}"; echo "[\\"registry.example/team/other@sha256:${'0'.repeat(64)}\\",\\"\${ref%:*}@${DIGEST}\\"]"; exit 0 ;;
  *) exit 0 ;;
esac
`,
  );
  chmodSync(path.join(bin, 'docker'), 0o755);
  return {
    bin,
    calls: () =>
      existsSync(callsFile)
        ? readFileSync(callsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => line.split('\0').slice(0, -1))
        : [],
    contexts: () => readdirSync(contextsDir).map((d) => path.join(contextsDir, d)),
  };
}

function runCli(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'packages/server/dist/cli/main.js'), ...args],
      { env, encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('kubernetes backend config and job template', () => {
  test("missing keys and files are refused with MLflow's messages", (t) => {
    const d = tempDir('mlflow-ts-k8s-config-');
    t.after(d.cleanup);
    const template = path.join(d.dir, 'job.yaml');
    writeFileSync(template, TEMPLATE);
    assert.throws(
      () => parseKubernetesConfig(undefined),
      /^ExecutionError: Backend_config file not found\.$/,
    );
    assert.throws(() => parseKubernetesConfig({}), /Backend_config file not found\./);
    assert.throws(
      () => parseKubernetesConfig({ 'repository-uri': 'user/repo' }),
      /'kube-job-template-path' attribute must be specified in backend_config\./,
    );
    assert.throws(
      () =>
        parseKubernetesConfig({
          'kube-job-template-path': path.join(d.dir, 'nope.yaml'),
          'repository-uri': 'x/y',
        }),
      new RegExp(`Could not find 'kube-job-template-path': ${path.join(d.dir, 'nope.yaml')}$`),
    );
    assert.throws(
      () => parseKubernetesConfig({ 'kube-job-template-path': template }),
      /Could not find 'repository-uri' in backend_config\./,
    );
    assert.throws(
      () => parseKubernetesConfig({ 'kube-job-template-path': template, 'repository-uri': 'user/repo:v1' }),
      /'repository-uri' must be an image repository without a tag or digest/,
    );
    assert.throws(
      () => parseKubernetesConfig({ 'kube-job-template-path': template, 'repository-uri': 'User Repo' }),
      /not a valid image repository name/,
    );
    assert.throws(
      () =>
        parseKubernetesConfig({
          'kube-job-template-path': template,
          'repository-uri': 'a/b',
          'kube-context': 3,
        }),
      /'kube-context' must be the name of a kubeconfig context/,
    );
    const ok = parseKubernetesConfig({
      'kube-job-template-path': template,
      'repository-uri': 'registry.example:5000/team/k8s-demo',
      'kube-context': 'ctx',
      'backend-type': 'x',
    });
    assert.equal(ok.repositoryUri, 'registry.example:5000/team/k8s-demo');
    assert.equal(ok.kubeContext, 'ctx');
    assert.deepEqual(ok.ignoredKeys, ['backend-type']);
    assert.equal((ok.template.spec as any).template.spec.restartPolicy, 'Never');
  });

  test('unreadable, invalid and non-Job templates are clear errors', (t) => {
    const d = tempDir('mlflow-ts-k8s-template-');
    t.after(d.cleanup);
    const write = (name: string, text: string) => {
      writeFileSync(path.join(d.dir, name), text);
      return path.join(d.dir, name);
    };
    // A directory cannot be read as a file (chmod would not stop root, who runs the tests).
    mkdirSync(path.join(d.dir, 'dir.yaml'));
    assert.throws(
      () => loadJobTemplate(path.join(d.dir, 'dir.yaml')),
      /Could not read 'kube-job-template-path' .*dir\.yaml: EISDIR/,
    );
    assert.throws(() => loadJobTemplate(write('bad.yaml', 'spec: [unclosed\n')), /is not valid YAML/);
    assert.throws(
      () => loadJobTemplate(write('two.yaml', `${TEMPLATE}---\n${TEMPLATE}`)),
      /exactly one YAML document/,
    );
    assert.throws(() => loadJobTemplate(write('list.yaml', '- a\n- b\n')), /must be a YAML mapping/);
    assert.throws(
      () => loadJobTemplate(write('deploy.yaml', TEMPLATE.replace('kind: Job', 'kind: Deployment'))),
      /kind is 'Deployment', not 'Job'/,
    );
    assert.throws(
      () => loadJobTemplate(write('v2.yaml', TEMPLATE.replace('batch/v1', 'batch/v2'))),
      /apiVersion is 'batch\/v2', not 'batch\/v1'/,
    );
    assert.throws(
      () =>
        loadJobTemplate(
          write('nocontainers.yaml', 'kind: Job\nspec:\n  template:\n    spec:\n      containers: []\n'),
        ),
      /containers must list at least one container/,
    );
    assert.throws(
      () => loadJobTemplate(write('nopod.yaml', 'kind: Job\nspec: {}\n')),
      /pod spec\) is missing/,
    );
  });

  test('job names, container command and the filled-in Job', () => {
    assert.match(jobTimestamp(), /^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{6}$/);
    assert.equal(jobTimestamp(new Date(2024, 0, 2, 3, 4, 5, 67), 8), '2024-01-02-03-04-05-067008');
    assert.equal(jobName('tutorial', '2024-01-02-03-04-05-067008'), 'tutorial-2024-01-02-03-04-05-067008');
    assert.equal(dnsLabel('My_Project.v2'), 'my-project-v2');
    assert.equal(dnsLabel('__'), 'mlflow-project');
    const long = jobName('x'.repeat(80));
    assert.equal(long.length, 63);
    assert.match(long, /^x+-\d{4}-/);
    assert.deepEqual(containerCommand(`python train.py --alpha 0.5 --text 'it'"'"'s $(x)' --n ''`), [
      'python',
      'train.py',
      '--alpha',
      '0.5',
      '--text',
      "it's $(x)",
      '--n',
      '',
    ]);
    assert.throws(() => containerCommand("python 'unclosed"), /Could not split the entry point command/);

    const template = loadJobTemplate(
      (() => {
        const d = tempDir();
        const f = path.join(d.dir, 'job.yaml');
        writeFileSync(f, TEMPLATE);
        return f;
      })(),
    );
    const before = JSON.stringify(template);
    const job = jobDefinition(template, {
      projectName: 'K8s_Demo',
      image: `r/x:abc@${DIGEST}`,
      command: ['python', 'a.py'],
      env: { MLFLOW_RUN_ID: 'r1' },
      name: 'k8s-demo-1',
      namespace: 'mlflow',
    }) as any;
    assert.equal(JSON.stringify(template), before, 'the template is not modified');
    assert.deepEqual(job.metadata, { name: 'k8s-demo-1', namespace: 'mlflow' });
    const container = job.spec.template.spec.containers[0];
    assert.equal(container.name, 'k8s-demo');
    assert.equal(container.image, `r/x:abc@${DIGEST}`);
    assert.deepEqual(container.command, ['python', 'a.py']);
    assert.deepEqual(container.env, [
      { name: 'FROM_TEMPLATE', value: 'kept' },
      { name: 'MLFLOW_RUN_ID', value: 'r1' },
    ]);
    assert.deepEqual(container.resources, { limits: { memory: '512Mi' }, requests: { memory: '256Mi' } });
    assert.equal(job.spec.ttlSecondsAfterFinished, 100);
  });

  test('job status: started, Complete and Failed conditions', () => {
    assert.deepEqual(jobProgress(undefined), { started: false, messages: [] });
    assert.deepEqual(jobProgress({ startTime: '2024-01-01T00:00:00Z', active: 1 }), {
      started: true,
      messages: [],
    });
    const done = jobProgress({
      startTime: 'x',
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', message: 'Reached' },
        { type: 'Complete', status: 'True', message: 'Reached' },
      ],
    });
    assert.equal(done.outcome, 'FINISHED');
    const failed = jobProgress({
      startTime: 'x',
      conditions: [
        { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded' },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
        },
      ],
    });
    assert.equal(failed.outcome, 'FAILED');
    assert.deepEqual(failed.messages, [
      'FailureTarget: BackoffLimitExceeded',
      'Failed: Job has reached the specified backoff limit',
    ]);
    assert.equal(jobProgress({ conditions: [{ type: 'Failed', status: 'False' }] }).outcome, undefined);
    assert.equal(jobProgress({ conditions: [{ type: 'Suspended', status: 'True' }] }).outcome, undefined);
  });
});

describe('kubeconfig', () => {
  test('KUBECONFIG lists merge (first wins), relative paths, inline data, tokens, basic auth', (t) => {
    const d = tempDir('mlflow-ts-kubeconfig-');
    t.after(d.cleanup);
    mkdirSync(path.join(d.dir, 'certs'));
    writeFileSync(path.join(d.dir, 'certs', 'ca.crt'), 'CA-PEM');
    writeFileSync(path.join(d.dir, 'certs', 'c.crt'), 'CERT');
    writeFileSync(path.join(d.dir, 'certs', 'c.key'), 'KEY');
    const first = path.join(d.dir, 'first.yaml');
    const second = path.join(d.dir, 'second.yaml');
    writeFileSync(
      first,
      `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443/", certificate-authority: certs/ca.crt, tls-server-name: api.prod}
contexts:
- name: prod
  context: {cluster: prod, user: cert-user, namespace: team-a}
users:
- name: cert-user
  user: {client-certificate: certs/c.crt, client-key: certs/c.key}
`,
    );
    writeFileSync(
      second,
      `current-context: dev
clusters:
- name: prod
  cluster: {server: "https://shadowed.example"}
- name: dev
  cluster: {server: "http://127.0.0.1:8001", certificate-authority-data: ${Buffer.from('INLINE-CA').toString('base64')}, insecure-skip-tls-verify: true}
contexts:
- name: dev
  context: {cluster: dev, user: token-user}
- name: basic
  context: {cluster: dev, user: basic-user}
users:
- name: token-user
  user: {token: abc}
- name: basic-user
  user: {username: admin, password: secret}
`,
    );
    const files = [first, second];
    const prod = connectionFromKubeconfig(files);
    assert.equal(prod.server, 'https://prod.example:6443');
    assert.equal(prod.namespace, 'team-a');
    assert.equal(prod.ca?.toString(), 'CA-PEM');
    assert.equal(prod.clientCert?.toString(), 'CERT');
    assert.equal(prod.clientKey?.toString(), 'KEY');
    assert.equal(prod.tlsServerName, 'api.prod');
    const dev = connectionFromKubeconfig(files, 'dev');
    assert.equal(dev.namespace, 'default');
    assert.equal(dev.token, 'abc');
    assert.equal(dev.ca?.toString(), 'INLINE-CA');
    assert.equal(dev.insecureSkipTlsVerify, true);
    assert.deepEqual(connectionFromKubeconfig(files, 'basic').basicAuth, {
      username: 'admin',
      password: 'secret',
    });
    assert.throws(
      () => connectionFromKubeconfig(files, 'staging'),
      /Kubernetes context 'staging' is not in the kubeconfig .*; its contexts: 'prod', 'dev', 'basic'\./,
    );
    const auth = path.join(d.dir, 'auth.yaml');
    writeFileSync(
      auth,
      'current-context: g\nclusters: [{name: g, cluster: {server: "https://g"}}]\ncontexts: [{name: g, context: {cluster: g, user: g}}]\nusers: [{name: g, user: {auth-provider: {name: gcp}}}]\n',
    );
    assert.throws(
      () => connectionFromKubeconfig([auth]),
      /uses an auth-provider, which mlflow-ts does not support/,
    );
    const nocluster = path.join(d.dir, 'nocluster.yaml');
    writeFileSync(nocluster, 'current-context: x\ncontexts: [{name: x, context: {cluster: gone}}]\n');
    assert.throws(() => connectionFromKubeconfig([nocluster]), /names a cluster 'gone' that is not defined/);
  });

  test('no kubeconfig: the in-cluster service account, else a message saying what to set', (t) => {
    const d = tempDir('mlflow-ts-kubeconfig-');
    t.after(d.cleanup);
    const logs: string[] = [];
    const env = { HOME: d.dir };
    assert.throws(
      () => resolveKubeConnection(undefined, (l) => logs.push(l), env, path.join(d.dir, 'sa')),
      /No kubeconfig found \(~\/\.kube\/config\) and not running inside a Kubernetes pod/,
    );
    const sa = path.join(d.dir, 'sa');
    mkdirSync(sa);
    writeFileSync(path.join(sa, 'token'), 'sa-token\n');
    writeFileSync(path.join(sa, 'ca.crt'), 'SA-CA');
    writeFileSync(path.join(sa, 'namespace'), 'jobs-ns');
    const inCluster = resolveKubeConnection(
      undefined,
      (l) => logs.push(l),
      { ...env, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(inCluster.server, 'https://10.0.0.1:443');
    assert.equal(inCluster.namespace, 'jobs-ns');
    assert.equal(inCluster.ca?.toString(), 'SA-CA');
    assert.equal(inCluster.tokenFile, path.join(sa, 'token'));
    assert.match(logs.join('\n'), /using the in-cluster service account/);
  });
});

for (const dialect of DIALECTS) {
  describe(`kubernetes backend against a mock API server (${dialect} tracking)`, () => {
    let server: TestServer;
    let mock: KubernetesMock;
    let pki: TestPki;
    let work: { dir: string; cleanup: () => void };
    let shim: ReturnType<typeof dockerShim>;
    let template: string;
    let kubeconfig: string;
    const saved: Record<string, string | undefined> = {};
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);

    before(async () => {
      server = await startTestServer(dialect);
      work = tempDir('mlflow-ts-k8s-');
      pki = makeTestPki(work.dir);
      mock = await new KubernetesMock(pki).start();
      shim = dockerShim(path.join(work.dir, 'docker'));
      template = path.join(work.dir, 'job.yaml');
      writeFileSync(template, TEMPLATE);
      // A plugin that hands out the mock's token, as gke-gcloud-auth-plugin or `aws eks get-token` do.
      const plugin = path.join(work.dir, 'token-plugin.sh');
      writeFileSync(
        plugin,
        `#!/bin/bash\necho "$KUBERNETES_EXEC_INFO" > ${JSON.stringify(path.join(work.dir, 'exec-info.json'))}\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}' "$PLUGIN_TOKEN"\n`,
      );
      chmodSync(plugin, 0o755);
      kubeconfig = path.join(work.dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        `apiVersion: v1
kind: Config
current-context: mock-cert
clusters:
- name: mock
  cluster:
    server: ${mock.url}
    certificate-authority: ca.crt
- name: mock-inline-ca
  cluster:
    server: ${mock.url}
    certificate-authority-data: ${pki.ca.toString('base64')}
- name: mock-untrusted
  cluster:
    server: ${mock.url}
contexts:
- name: mock-cert
  context: {cluster: mock, user: cert-user}
- name: mock-token
  context: {cluster: mock-inline-ca, user: token-user, namespace: team-a}
- name: mock-bad-token
  context: {cluster: mock, user: bad-token-user}
- name: mock-no-rbac
  context: {cluster: mock, user: no-rbac-user}
- name: mock-exec
  context: {cluster: mock, user: exec-user}
- name: mock-untrusted
  context: {cluster: mock-untrusted, user: token-user}
users:
- name: cert-user
  user: {client-certificate: client.crt, client-key: client.key}
- name: token-user
  user: {token: ${mock.token}}
- name: bad-token-user
  user: {token: wrong-token}
- name: no-rbac-user
  user: {token: ${mock.forbiddenToken}}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./token-plugin.sh
      env: [{name: PLUGIN_TOKEN, value: ${mock.token}}]
      interactiveMode: Never
`,
      );
      for (const name of [
        'KUBECONFIG',
        'PATH',
        'MLFLOW_TS_KUBERNETES_POLL_SECONDS',
        'KUBE_MLFLOW_TRACKING_URI',
        'MOCK_DOCKER_MODE',
      ])
        saved[name] = process.env[name];
      process.env.KUBECONFIG = kubeconfig;
      process.env.PATH = `${shim.bin}:${saved.PATH}`;
      process.env.MLFLOW_TS_KUBERNETES_POLL_SECONDS = '0.02';
    });
    after(async () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await mock?.close();
      await server?.close();
      work?.cleanup();
    });
    beforeEach(() => {
      mock.reset();
      logs.length = 0;
      delete process.env.KUBE_MLFLOW_TRACKING_URI;
      delete process.env.MOCK_DOCKER_MODE;
    });

    async function newExperiment(): Promise<string> {
      const created = await call(server.api, 'POST', 'experiments/create', {
        name: `k8s-${randomBytes(4).toString('hex')}`,
      });
      return created.body.experiment_id;
    }

    async function getRun(runId: string) {
      const got = await call(server.api, 'GET', 'runs/get', { run_id: runId });
      const run = got.body.run;
      return {
        status: run.info.status as string,
        tags: Object.fromEntries(run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value])),
        params: Object.fromEntries(
          (run.data.params ?? []).map((p: { key: string; value: string }) => [p.key, p.value]),
        ),
      };
    }

    async function runsOf(experimentId: string) {
      const search = await call(server.api, 'POST', 'runs/search', { experiment_ids: [experimentId] });
      return (search.body.runs ?? []) as Array<{ info: { status: string; run_id: string } }>;
    }

    const config = (extra: Record<string, unknown> = {}) => ({
      'kube-job-template-path': template,
      'repository-uri': 'registry.example/team/k8s-demo',
      ...extra,
    });

    test('build, push, create the Job over TLS with a client certificate, follow it to FINISHED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      // A Git checkout: the image is tagged with the commit, as MLflow does; .git stays out of it.
      const git = (...args: string[]) => execFileSync('git', args, { cwd: p.dir, stdio: 'pipe' });
      git('init', '-q');
      git('add', '.');
      git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'init');
      const commit = git('rev-parse', 'HEAD').toString().trim();
      const tag = `registry.example/team/k8s-demo:${commit.slice(0, 7)}`;
      const callsBefore = shim.calls().length;
      const contextsBefore = shim.contexts().length;
      const experimentId = await newExperiment();
      const templateText = readFileSync(template, 'utf8');

      const submitted = await runProject({
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: "it's $(rm -rf /)", extra: 'a b' },
        experimentId,
        trackingUri: server.url,
        log,
      });
      assert.equal(submitted.status(), 'SCHEDULED');
      assert.equal(await submitted.wait(), true);
      assert.deepEqual(mock.violations, []);

      // The docker CLI: engine check, build FROM the docker_env image, push.
      const calls = shim.calls().slice(callsBefore);
      assert.deepEqual(calls[0], ['info']);
      assert.equal(calls[1][0], 'build');
      assert.deepEqual(calls[1].slice(0, 3), ['build', '-t', tag]);
      assert.equal(calls[1].length, 4);
      assert.deepEqual(calls[2], ['push', tag]);
      assert.equal(calls.length, 3);
      const context = shim.contexts()[contextsBefore];
      assert.equal(
        readFileSync(path.join(context, 'Dockerfile'), 'utf8'),
        'FROM registry.example/team/base:1.0\nCOPY project/ /mlflow/projects/code/\nWORKDIR /mlflow/projects/code/\n',
      );
      assert.deepEqual(readdirSync(path.join(context, 'project')).sort(), ['MLproject', 'data', 'train.py']);
      assert.equal(readFileSync(path.join(context, 'project', 'data', 'rows.csv'), 'utf8'), 'a,b\n1,2\n');

      // The Kubernetes calls: create, then status reads until Complete.
      const k8s = mock.calls();
      assert.match(k8s[0], /^POST \/apis\/batch\/v1\/namespaces\/mlflow\/jobs$/);
      assert.ok(k8s.length >= 5, k8s.join('\n'));
      assert.ok(
        k8s
          .slice(1)
          .every((c) => c === `GET /apis/batch/v1/namespaces/mlflow/jobs/${submitted.jobId}/status`),
      );
      assert.ok(
        mock.requests.every((r) => r.clientCn === 'mlflow-tester' && r.headers.authorization === undefined),
      );
      const create = mock.requests[0];
      assert.match(String(create.headers['content-type']), /^application\/json/);
      const job = create.body;
      assert.match(job.metadata.name, /^k8s-demo-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{6}$/);
      assert.equal(job.metadata.name, submitted.jobId);
      assert.equal(job.metadata.namespace, 'mlflow');
      assert.equal(job.spec.backoffLimit, 0);
      assert.equal(job.spec.ttlSecondsAfterFinished, 100);
      const container = job.spec.template.spec.containers[0];
      assert.equal(container.name, 'k8s-demo');
      assert.equal(container.image, `${tag}@${DIGEST}`);
      assert.deepEqual(container.command, [
        'python',
        'train.py',
        '--alpha',
        '0.5',
        '--text',
        "it's $(rm -rf /)",
        '--extra',
        'a b',
      ]);
      assert.deepEqual(container.env, [
        { name: 'FROM_TEMPLATE', value: 'kept' },
        { name: 'MLFLOW_RUN_ID', value: submitted.runId },
        { name: 'MLFLOW_TRACKING_URI', value: server.url },
        { name: 'MLFLOW_EXPERIMENT_ID', value: experimentId },
      ]);
      assert.deepEqual(container.resources, { limits: { memory: '512Mi' }, requests: { memory: '256Mi' } });
      assert.equal(readFileSync(template, 'utf8'), templateText, 'the template file is not modified');

      const run = await getRun(submitted.runId);
      assert.equal(run.status, 'FINISHED');
      assert.equal(run.tags['mlflow.project.backend'], 'kubernetes');
      assert.equal(run.tags['mlflow.project.env'], 'docker');
      assert.equal(run.tags['mlflow.docker.image.uri'], tag);
      assert.equal(run.tags['mlflow.docker.image.id'], DIGEST);
      assert.equal(run.tags['mlflow.kubernetes.jobName'], submitted.jobId);
      assert.equal(run.tags['mlflow.kubernetes.namespace'], 'mlflow');
      assert.equal(run.tags['mlflow.source.git.commit'], commit);
      assert.equal(run.params.text, `'it'"'"'s $(rm -rf /)'`);
      assert.equal(submitted.status(), 'FINISHED');
      const text = logs.join('\n');
      assert.match(text, /=== Pushing docker image registry\.example\/team\/k8s-demo:[0-9a-f]{7} ===/);
      assert.match(text, /Waiting for Job to start/);
      assert.match(text, /Job started/);
      assert.match(text, /Complete: Reached expected number of succeeded pods/);
    });

    test('a token context gives the namespace and KUBE_MLFLOW_TRACKING_URI the pods; a failing Job ends FAILED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const noNamespace = path.join(work.dir, 'job-no-ns.yaml');
      writeFileSync(noNamespace, TEMPLATE.replace('  namespace: mlflow\n', ''));
      process.env.KUBE_MLFLOW_TRACKING_URI = 'http://mlflow.mlflow.svc.cluster.local:5000';
      mock.nextOutcome = 'FAILED';
      const callsBefore = shim.calls().length;
      const submitted = await runProject({
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config({ 'kube-job-template-path': noNamespace, 'kube-context': 'mock-token' }),
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), false);
      assert.deepEqual(mock.violations, []);
      assert.ok(
        mock.requests.every((r) => r.headers.authorization === `Bearer ${mock.token}` && !r.clientCn),
      );
      assert.equal(mock.requests[0].path, '/apis/batch/v1/namespaces/team-a/jobs');
      const job = mock.requests[0].body;
      assert.equal(job.metadata.namespace, 'team-a');
      const env = job.spec.template.spec.containers[0].env;
      assert.deepEqual(
        env.find((e: { name: string }) => e.name === 'MLFLOW_TRACKING_URI'),
        { name: 'MLFLOW_TRACKING_URI', value: 'http://mlflow.mlflow.svc.cluster.local:5000' },
      );
      // Outside a Git checkout the tag is the project's content hash.
      const push = shim
        .calls()
        .slice(callsBefore)
        .find((c) => c[0] === 'push') as string[];
      assert.match(push[1], /^registry\.example\/team\/k8s-demo:[0-9a-f]{12}$/);
      const run = await getRun(submitted.runId);
      assert.equal(run.status, 'FAILED');
      assert.equal(run.tags['mlflow.kubernetes.namespace'], 'team-a');
      assert.equal(submitted.status(), 'FAILED');
      assert.match(logs.join('\n'), /Failed: Job has reached the specified backoff limit/);
    });

    test('an exec credential plugin supplies the token', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const submitted = await runProject({
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config({ 'kube-context': 'mock-exec' }),
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      });
      assert.equal(await submitted.wait(), true);
      assert.deepEqual(mock.violations, []);
      assert.ok(mock.requests.every((r) => r.headers.authorization === `Bearer ${mock.token}`));
      const info = JSON.parse(readFileSync(path.join(work.dir, 'exec-info.json'), 'utf8'));
      assert.equal(info.kind, 'ExecCredential');
      assert.equal(info.spec.cluster.server, mock.url);
    });

    test('cancel() deletes the Job with its pods and records KILLED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      mock.nextOutcome = 'HANG';
      const submitted = await runProject({
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      });
      const waiting = submitted.wait();
      for (let i = 0; i < 100 && submitted.status() !== 'RUNNING'; i++) await sleep(20);
      assert.equal(submitted.status(), 'RUNNING');
      assert.equal((await getRun(submitted.runId)).status, 'RUNNING');
      await submitted.cancel();
      assert.equal(await waiting, false);
      const del = mock.requests.find((r) => r.method === 'DELETE');
      assert.equal(del?.path, `/apis/batch/v1/namespaces/mlflow/jobs/${submitted.jobId}`);
      assert.deepEqual(del?.body, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
      });
      assert.equal(mock.jobs.has(`mlflow/${submitted.jobId}`), false);
      assert.equal((await getRun(submitted.runId)).status, 'KILLED');
      assert.equal(submitted.status(), 'KILLED');
      assert.deepEqual(mock.violations, []);
      // Cancelling again does nothing.
      await submitted.cancel();
      assert.equal(mock.requests.filter((r) => r.method === 'DELETE').length, 1);
    });

    test('status reads that fail with 503 are retried (5 in a row), then the error is reported', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const base = {
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      };
      mock.unavailableReads = 5;
      const flaky = await runProject(base);
      assert.equal(await flaky.wait(), true);
      assert.equal(logs.filter((l) => l.includes('trying again')).length, 5);
      assert.equal((await getRun(flaky.runId)).status, 'FINISHED');

      mock.unavailableReads = 6;
      const down = await runProject(base);
      await assert.rejects(
        down.wait(),
        /HTTP 503 ServiceUnavailable: the server is currently unable to handle the request\./,
      );
      assert.deepEqual(mock.violations, []);
    });

    test('a Job deleted before it was seen to end: FAILED, unless the code in the pod ended its run', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const base = {
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: 'x' },
        experimentId: await newExperiment(),
        trackingUri: server.url,
        log,
      };
      mock.nextOutcome = 'VANISH';
      const gone = await runProject(base);
      assert.equal(await gone.wait(), false);
      assert.equal((await getRun(gone.runId)).status, 'FAILED');
      assert.match(logs.join('\n'), /no longer exists and the run did not end: recording FAILED/);

      mock.nextOutcome = 'VANISH';
      const ended = await runProject(base);
      // What mlflow.end_run() in the pod does before ttlSecondsAfterFinished deletes the Job.
      const update = await call(server.api, 'POST', 'runs/update', {
        run_id: ended.runId,
        status: 'FINISHED',
        end_time: Date.now(),
      });
      assert.equal(update.status, 200);
      assert.equal(await ended.wait(), true);
      assert.equal((await getRun(ended.runId)).status, 'FINISHED');
      assert.equal(ended.status(), 'FINISHED');
      assert.deepEqual(mock.violations, []);
    });

    test('401, 403, 409 and 422 answers become clear errors; the run is recorded FAILED', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      const base = {
        uri: p.dir,
        backend: 'kubernetes',
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        log,
      };
      await assert.rejects(
        runProject({ ...base, backendConfig: config({ 'kube-context': 'mock-bad-token' }) }),
        (error: Error) =>
          error instanceof ExecutionError &&
          /^Kubernetes POST \/apis\/batch\/v1\/namespaces\/mlflow\/jobs failed with HTTP 401 Unauthorized: Unauthorized\. Check the credentials of context 'mock-bad-token'/.test(
            error.message,
          ),
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: config({ 'kube-context': 'mock-no-rbac' }) }),
        /HTTP 403 Forbidden: jobs\.batch is forbidden: User "system:serviceaccount:default:no-rbac" cannot create resource "jobs" in API group "batch" in the namespace "mlflow"\. The user is authenticated but not allowed: it needs RBAC permission/,
      );
      const untrusted = runProject({ ...base, backendConfig: config({ 'kube-context': 'mock-untrusted' }) });
      await assert.rejects(
        untrusted,
        /Could not reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ .*(self-signed|unable to verify|certificate)/i,
      );
      const noRestart = path.join(work.dir, 'job-no-restart.yaml');
      writeFileSync(noRestart, TEMPLATE.replace('      restartPolicy: Never\n', ''));
      await assert.rejects(
        runProject({ ...base, backendConfig: config({ 'kube-job-template-path': noRestart }) }),
        /HTTP 422 Invalid: Job\.batch "k8s-demo-[\d-]+" is invalid: spec\.template\.spec\.restartPolicy: Required value: valid values: "OnFailure", "Never"\./,
      );
      const runs = await runsOf(experimentId);
      const statuses = runs.map((r) => r.info.status).sort();
      assert.deepEqual(statuses, ['FAILED', 'FAILED', 'FAILED', 'FAILED']);
      assert.deepEqual(mock.violations, []);
    });

    test('a Job name that already exists: HTTP 409 AlreadyExists', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      // Someone else creates a Job of the same name just before us.
      mock.takeNextName = true;
      await assert.rejects(
        runProject({
          uri: p.dir,
          backend: 'kubernetes',
          backendConfig: config(),
          parameters: { text: 'x' },
          experimentId: await newExperiment(),
          trackingUri: server.url,
          log,
        }),
        /HTTP 409 AlreadyExists: jobs\.batch "k8s-demo-[\d-]+" already exists\./,
      );
      assert.deepEqual(mock.violations, []);
    });

    test('a refused push fails the run before any Job; a push without a printed digest uses RepoDigests', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const experimentId = await newExperiment();
      const base = {
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        log,
      };
      process.env.MOCK_DOCKER_MODE = 'push-denied';
      await assert.rejects(
        runProject(base),
        /Error while pushing to docker registry: `docker push registry\.example\/team\/k8s-demo:[0-9a-f]{12}` exited with code 1: denied: requested access to the resource is denied/,
      );
      assert.equal(mock.requests.length, 0);
      assert.equal((await runsOf(experimentId))[0].info.status, 'FAILED');

      process.env.MOCK_DOCKER_MODE = 'no-digest';
      const callsBefore = shim.calls().length;
      const submitted = await runProject(base);
      assert.equal(await submitted.wait(), true);
      const inspect = shim
        .calls()
        .slice(callsBefore)
        .find((c) => c[0] === 'image');
      assert.deepEqual(inspect?.slice(0, 4), ['image', 'inspect', '--format', '{{json .RepoDigests}}']);
      assert.match(
        mock.requests[0].body.spec.template.spec.containers[0].image,
        new RegExp(`:[0-9a-f]{12}@${DIGEST}$`),
      );
    });

    test('refused before any run, image or request: no docker_env, bad config, local store, unknown context, no docker', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const plain = tempDir('mlflow-ts-k8s-plain-');
      t.after(plain.cleanup);
      writeFileSync(
        path.join(plain.dir, 'MLproject'),
        'name: plain\nentry_points:\n  main:\n    command: "python a.py"\n',
      );
      const experimentId = await newExperiment();
      const base = {
        uri: p.dir,
        backend: 'kubernetes',
        backendConfig: config(),
        parameters: { text: 'x' },
        experimentId,
        trackingUri: server.url,
        log,
      };
      const callsBefore = shim.calls().length;
      await assert.rejects(
        runProject({ ...base, uri: plain.dir }),
        /Running on Kubernetes needs a docker_env in the MLproject file/,
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: undefined }),
        /Backend_config file not found\./,
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: { 'repository-uri': 'a/b' } }),
        /'kube-job-template-path' attribute must be specified in backend_config\./,
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: { 'kube-job-template-path': template } }),
        /Could not find 'repository-uri' in backend_config\./,
      );
      await assert.rejects(
        runProject({ ...base, trackingUri: `sqlite:///${path.join(work.dir, 'local.db')}` }),
        /the tracking URI must be an HTTP\(S\) server the Job's pods can reach; got local store sqlite:/,
      );
      await assert.rejects(
        runProject({ ...base, backendConfig: config({ 'kube-context': 'nope' }) }),
        /Kubernetes context 'nope' is not in the kubeconfig .*its contexts: 'mock-cert', 'mock-token'/,
      );
      await assert.rejects(
        runProject({ ...base, parameters: {} }),
        /No value given for missing parameters: 'text'/,
      );
      process.env.PATH = path.join(work.dir, 'empty-path');
      try {
        await assert.rejects(runProject(base), /Could not find the docker or podman executable/);
      } finally {
        process.env.PATH = `${shim.bin}:${saved.PATH}`;
      }
      assert.equal(mock.requests.length, 0);
      assert.ok(
        shim
          .calls()
          .slice(callsBefore)
          .every((c) => c[0] === 'info'),
      );
      assert.equal((await runsOf(experimentId)).length, 0);
    });

    test('mlflow-ts run -b kubernetes: waits (exit 0 / 1); --no-wait prints the run id and the Job name', async (t) => {
      const p = makeProject();
      t.after(p.cleanup);
      const configFile = path.join(work.dir, `k8s-${randomBytes(3).toString('hex')}.json`);
      writeFileSync(configFile, JSON.stringify(config({ 'kube-context': 'mock-token' })));
      const env = {
        ...process.env,
        MLFLOW_TRACKING_URI: server.url,
        MLFLOW_EXPERIMENT_ID: await newExperiment(),
      };
      const waited = await runCli(['run', p.dir, '-b', 'kubernetes', '-c', configFile, '-P', 'text=hi'], env);
      assert.equal(waited.code, 0, waited.stderr);
      assert.match(
        waited.stderr,
        /=== Creating Job k8s-demo-[\d-]+ in namespace mlflow \(context 'mock-token', https:\/\/127\.0\.0\.1:\d+\) ===/,
      );
      assert.match(waited.stderr, /Run \(ID '[0-9a-f]{32}'\) succeeded/);

      mock.nextOutcome = 'HANG';
      const noWait = await runCli(
        ['run', p.dir, '-b', 'kubernetes', '--no-wait', '-c', JSON.stringify(config()), '-P', 'text=hi'],
        env,
      );
      assert.equal(noWait.code, 0, noWait.stderr);
      const [runId, jobId] = noWait.stdout.trim().split(' ');
      assert.match(runId, /^[0-9a-f]{32}$/);
      assert.ok(mock.jobs.has(`mlflow/${jobId}`));
      const run = await getRun(runId);
      assert.equal(run.status, 'RUNNING');
      assert.equal(run.tags['mlflow.kubernetes.jobName'], jobId);

      mock.nextOutcome = 'FAILED';
      const failed = await runCli(['run', p.dir, '-b', 'kubernetes', '-c', configFile, '-P', 'text=hi'], env);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /Run \(ID '[0-9a-f]{32}'\) failed/);
      assert.deepEqual(mock.violations, []);
    });
  });
}
