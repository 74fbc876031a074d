import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ExecutionError } from '../execution-error.js';

// Where and how to reach the Kubernetes API, as kubectl and MLflow's Python client find it: the
// kubeconfig files of KUBECONFIG (a path list, the first file to define a name or the current
// context wins) or ~/.kube/config, and the chosen context's cluster (server, CA) and user (client
// certificate, bearer token or token file, basic auth, or an exec credential plugin). Without a
// usable kubeconfig, the pod's service account when running inside a cluster (MLflow does the same).

const execFileAsync = promisify(execFile);

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
  /** Directory the command is resolved against when it is a relative path. */
  baseDir: string;
}

export interface KubeConnection {
  /** The API server URL, without a trailing slash. */
  server: string;
  /** Where these settings came from (a context name, or "in-cluster"), for messages. */
  source: string;
  /** The context's namespace, else "default". */
  namespace: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  clientCert?: Buffer;
  clientKey?: Buffer;
  token?: string;
  /** Read at each request: projected service account tokens are rotated. */
  tokenFile?: string;
  basicAuth?: { username: string; password: string };
  exec?: ExecPlugin;
}

type Yaml = Record<string, unknown>;

function isRecord(value: unknown): value is Yaml {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface LoadedFile {
  file: string;
  doc: Yaml;
}

interface Named {
  entry: Yaml;
  /** The kubeconfig the entry came from: relative paths in it are relative to that file. */
  file: string;
}

/** The kubeconfig files in force: KUBECONFIG's existing entries, else ~/.kube/config if present. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.KUBECONFIG) {
    return env.KUBECONFIG.split(path.delimiter)
      .filter(Boolean)
      .map((f) => path.resolve(f))
      .filter((f) => existsSync(f));
  }
  const home = env.HOME || homedir();
  const file = path.join(home, '.kube', 'config');
  return existsSync(file) ? [file] : [];
}

function loadFile(file: string): LoadedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExecutionError(`Could not read the kubeconfig ${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ExecutionError(`The kubeconfig ${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return { file, doc: {} };
  if (!isRecord(doc)) throw new ExecutionError(`The kubeconfig ${file} must hold a YAML mapping.`);
  return { file, doc };
}

/** name -> entry over all files, the first definition winning (kubectl's merge rule). */
function mergeNamed(files: LoadedFile[], list: string, field: string): Map<string, Named> {
  const out = new Map<string, Named>();
  for (const { file, doc } of files) {
    const items = doc[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) throw new ExecutionError(`The kubeconfig ${file}: '${list}' must be a list.`);
    for (const item of items) {
      if (!isRecord(item) || typeof item.name !== 'string') {
        throw new ExecutionError(`The kubeconfig ${file}: every entry of '${list}' needs a 'name'.`);
      }
      const entry = item[field];
      if (!out.has(item.name)) out.set(item.name, { entry: isRecord(entry) ? entry : {}, file });
    }
  }
  return out;
}

function str(entry: Yaml, key: string): string | undefined {
  const value = entry[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readPath(file: string, relativeTo: string, what: string): Buffer {
  const resolved = path.resolve(path.dirname(relativeTo), file);
  try {
    return readFileSync(resolved);
  } catch (error) {
    throw new ExecutionError(
      `Could not read the ${what} ${resolved} named in the kubeconfig ${relativeTo}: ${(error as Error).message}`,
    );
  }
}

/** An inline *-data field (base64) or a file field, the inline one taking precedence as in kubectl. */
function material(named: Named, dataKey: string, fileKey: string, what: string): Buffer | undefined {
  const data = str(named.entry, dataKey);
  if (data) return Buffer.from(data, 'base64');
  const file = str(named.entry, fileKey);
  return file ? readPath(file, named.file, what) : undefined;
}

function parseExec(named: Named, userName: string): ExecPlugin {
  const exec = named.entry.exec as Yaml;
  const command = str(exec, 'command');
  if (!command)
    throw new ExecutionError(`The kubeconfig user '${userName}' has an exec section without a command.`);
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const env: Record<string, string> = {};
  if (Array.isArray(exec.env)) {
    for (const item of exec.env)
      if (isRecord(item) && typeof item.name === 'string') env[item.name] = String(item.value ?? '');
  }
  return {
    command,
    args,
    env,
    apiVersion: str(exec, 'apiVersion') ?? 'client.authentication.k8s.io/v1beta1',
    baseDir: path.dirname(named.file),
  };
}

/** The connection of `contextName` (or the current context) in the given kubeconfig files. */
export function connectionFromKubeconfig(files: string[], contextName?: string): KubeConnection {
  const loaded = files.map(loadFile);
  const contexts = mergeNamed(loaded, 'contexts', 'context');
  const clusters = mergeNamed(loaded, 'clusters', 'cluster');
  const users = mergeNamed(loaded, 'users', 'user');
  const current = loaded
    .map((f) => f.doc['current-context'])
    .find((c) => typeof c === 'string' && c !== '') as string | undefined;
  const name = contextName ?? current;
  if (!name) {
    throw new ExecutionError(
      `The kubeconfig (${files.join(', ')}) has no current-context: set 'kube-context' in the backend config or run \`kubectl config use-context <name>\`.`,
    );
  }
  const context = contexts.get(name);
  if (!context) {
    const known = [...contexts.keys()].map((c) => `'${c}'`).join(', ') || 'none';
    throw new ExecutionError(
      `Kubernetes context '${name}' is not in the kubeconfig (${files.join(', ')}); its contexts: ${known}.`,
    );
  }
  const clusterName = str(context.entry, 'cluster');
  const cluster = clusterName ? clusters.get(clusterName) : undefined;
  if (!cluster) {
    throw new ExecutionError(
      `The kubeconfig context '${name}' names a cluster '${clusterName ?? ''}' that is not defined.`,
    );
  }
  const server = str(cluster.entry, 'server');
  if (!server) throw new ExecutionError(`The kubeconfig cluster '${clusterName}' has no 'server'.`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ExecutionError(
      `The kubeconfig cluster '${clusterName}' has a server that is not a URL: '${server}'.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ExecutionError(
      `The kubeconfig cluster '${clusterName}' server must be https:// or http://, got '${server}'.`,
    );
  }
  const connection: KubeConnection = {
    server: server.replace(/\/+$/, ''),
    source: `context '${name}'`,
    namespace: str(context.entry, 'namespace') ?? 'default',
    ca: material(cluster, 'certificate-authority-data', 'certificate-authority', 'certificate authority'),
    insecureSkipTlsVerify: cluster.entry['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster.entry, 'tls-server-name'),
  };
  const userName = str(context.entry, 'user');
  if (userName === undefined) return connection;
  const user = users.get(userName);
  if (!user)
    throw new ExecutionError(
      `The kubeconfig context '${name}' names a user '${userName}' that is not defined.`,
    );
  if (user.entry['auth-provider'] !== undefined) {
    throw new ExecutionError(
      `The kubeconfig user '${userName}' uses an auth-provider, which mlflow-ts does not support (kubectl dropped them too): use an exec credential plugin (e.g. gke-gcloud-auth-plugin, kubelogin) or a token.`,
    );
  }
  connection.clientCert = material(
    user,
    'client-certificate-data',
    'client-certificate',
    'client certificate',
  );
  connection.clientKey = material(user, 'client-key-data', 'client-key', 'client key');
  if (Boolean(connection.clientCert) !== Boolean(connection.clientKey)) {
    throw new ExecutionError(
      `The kubeconfig user '${userName}' needs both a client certificate and its key.`,
    );
  }
  connection.token = str(user.entry, 'token');
  const tokenFile = str(user.entry, 'tokenFile');
  if (tokenFile) connection.tokenFile = path.resolve(path.dirname(user.file), tokenFile);
  const username = str(user.entry, 'username');
  if (username) connection.basicAuth = { username, password: str(user.entry, 'password') ?? '' };
  if (isRecord(user.entry.exec)) connection.exec = parseExec(user, userName);
  return connection;
}

/** The pod's service account, when this process runs in a Kubernetes pod. */
export function inClusterConnection(
  env: NodeJS.ProcessEnv = process.env,
  accountDir = SERVICE_ACCOUNT_DIR,
): KubeConnection | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(accountDir, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const caFile = path.join(accountDir, 'ca.crt');
  const nsFile = path.join(accountDir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    source: 'in-cluster service account',
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() || 'default' : 'default',
    ca: existsSync(caFile) ? readFileSync(caFile) : undefined,
    insecureSkipTlsVerify: false,
    tokenFile,
  };
}

/**
 * The connection for `kube-context` (or the current context). As in MLflow, when no kubeconfig can be
 * used the in-cluster service account is tried; if there is none either, the kubeconfig's problem is
 * reported.
 */
export function resolveKubeConnection(
  contextName: string | undefined,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  accountDir = SERVICE_ACCOUNT_DIR,
): KubeConnection {
  const files = kubeconfigFiles(env);
  let problem: ExecutionError;
  if (files.length > 0) {
    try {
      return connectionFromKubeconfig(files, contextName);
    } catch (error) {
      if (!(error instanceof ExecutionError)) throw error;
      problem = error;
    }
  } else {
    problem = new ExecutionError(
      `No kubeconfig found (${env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : '~/.kube/config'}) and not running inside a Kubernetes pod: set KUBECONFIG or create ~/.kube/config for your cluster.`,
    );
  }
  const inCluster = inClusterConnection(env, accountDir);
  if (!inCluster) throw problem;
  log(`=== No usable kubeconfig (${problem.message}); using the in-cluster service account ===`);
  return inCluster;
}

export interface Credentials {
  headers: Record<string, string>;
  clientCert?: Buffer;
  clientKey?: Buffer;
}

interface ExecResult {
  token?: string;
  clientCert?: Buffer;
  clientKey?: Buffer;
  expires?: number;
}

/** Runs an exec credential plugin and reads its ExecCredential answer. */
async function runExecPlugin(exec: ExecPlugin, server: string): Promise<ExecResult> {
  const command =
    exec.command.includes('/') && !path.isAbsolute(exec.command)
      ? path.resolve(exec.baseDir, exec.command)
      : exec.command;
  const request = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false, cluster: { server } },
  };
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(command, exec.args, {
      env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(request) },
      timeout: 120_000,
      maxBuffer: 4 * 1024 * 1024,
    }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new ExecutionError(
      `The kubeconfig's exec credential plugin \`${exec.command}\` failed: ${stderr || (error as Error).message}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw new ExecutionError(
      `The exec credential plugin \`${exec.command}\` did not print an ExecCredential JSON object.`,
    );
  }
  const status = isRecord(answer) && isRecord(answer.status) ? answer.status : undefined;
  if (!status)
    throw new ExecutionError(`The exec credential plugin \`${exec.command}\` answered without a status.`);
  const result: ExecResult = {};
  if (typeof status.token === 'string' && status.token) result.token = status.token;
  if (typeof status.clientCertificateData === 'string')
    result.clientCert = Buffer.from(status.clientCertificateData);
  if (typeof status.clientKeyData === 'string') result.clientKey = Buffer.from(status.clientKeyData);
  if (!result.token && !(result.clientCert && result.clientKey)) {
    throw new ExecutionError(
      `The exec credential plugin \`${exec.command}\` gave neither a token nor a client certificate and key.`,
    );
  }
  if (typeof status.expirationTimestamp === 'string') {
    const expires = Date.parse(status.expirationTimestamp);
    if (Number.isFinite(expires)) result.expires = expires;
  }
  return result;
}

/**
 * The credentials of each request: static ones from the kubeconfig, a token file read afresh, and an
 * exec plugin's answer kept until shortly before it expires (runs can be followed for hours).
 */
export class CredentialSource {
  private cached?: ExecResult;

  constructor(private readonly connection: KubeConnection) {}

  async current(): Promise<Credentials> {
    const c = this.connection;
    const headers: Record<string, string> = {};
    let clientCert = c.clientCert;
    let clientKey = c.clientKey;
    let token = c.token;
    if (c.tokenFile) {
      try {
        token = readFileSync(c.tokenFile, 'utf8').trim();
      } catch (error) {
        throw new ExecutionError(
          `Could not read the Kubernetes token file ${c.tokenFile}: ${(error as Error).message}`,
        );
      }
    }
    if (c.exec) {
      if (!this.cached || (this.cached.expires !== undefined && this.cached.expires - Date.now() < 60_000)) {
        this.cached = await runExecPlugin(c.exec, c.server);
      }
      token = this.cached.token ?? token;
      if (this.cached.clientCert && this.cached.clientKey) {
        clientCert = this.cached.clientCert;
        clientKey = this.cached.clientKey;
      }
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (c.basicAuth) {
      headers.Authorization = `Basic ${Buffer.from(`${c.basicAuth.username}:${c.basicAuth.password}`).toString('base64')}`;
    }
    return { headers, clientCert, clientKey };
  }

  /** Forgets an exec plugin's answer (after a 401, as kubectl does). */
  invalidate(): void {
    this.cached = undefined;
  }

  get hasExec(): boolean {
    return this.connection.exec !== undefined;
  }
}
