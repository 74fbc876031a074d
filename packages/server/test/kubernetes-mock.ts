import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

// A stand-in for a Kubernetes API server that we cannot reach from the tests, over real TLS (its
// certificate signed by a test CA, client certificates verified). It checks every request against
// the batch/v1 Job API: method, path, authentication (a client certificate or a bearer token),
// Accept and Content-Type, and the Job's fields and their types; and it answers as the API server
// does, with Job objects and with Status objects for errors (401, 403, 404, 409, 422). What a
// correct client would never send is recorded in `violations` (tests assert it stays empty).

/** VANISH: the Job is deleted (as ttlSecondsAfterFinished does) before a status read sees it end. */
export type Outcome = 'SUCCESS' | 'FAILED' | 'HANG' | 'VANISH';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** The CN of a verified client certificate. */
  clientCn?: string;
  body: any;
}

interface MockJob {
  job: any;
  uid: string;
  outcome: Outcome;
  reads: number;
}

export interface TestPki {
  dir: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  serverCert: Buffer;
  serverKey: Buffer;
  ca: Buffer;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
export function makeTestPki(dir: string): TestPki {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', name]);
  key('ca.key');
  run([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=mock-kubernetes-ca',
  ]);
  const signed = (name: string, subject: string, ext: string) => {
    key(`${name}.key`);
    run(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed('client', '/O=system:masters/CN=mlflow-tester', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
    serverCert: readFileSync(path.join(dir, 'server.crt')),
    serverKey: readFileSync(path.join(dir, 'server.key')),
    ca: readFileSync(path.join(dir, 'ca.crt')),
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const JOBS = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+)(\/status)?)?$/;

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class KubernetesMock {
  /** Bearer tokens the API server accepts, and one it knows but whose user may not touch jobs. */
  readonly token = 'mock-token-0123456789';
  readonly forbiddenToken = 'mock-token-no-rbac';
  readonly clientCn = 'mlflow-tester';
  readonly namespaces = new Set(['default', 'mlflow', 'team-a']);
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly jobs = new Map<string, MockJob>();
  /** What the next created Job does. */
  nextOutcome: Outcome = 'SUCCESS';
  /** The next create finds a Job of its name already there (another client was first). */
  takeNextName = false;
  /** The next status reads answer 503, as an API server does while it is unavailable. */
  unavailableReads = 0;
  private server!: Server;
  url = '';

  constructor(private readonly pki: TestPki) {}

  async start(): Promise<this> {
    this.server = createServer(
      {
        cert: this.pki.serverCert,
        key: this.pki.serverKey,
        ca: this.pki.ca,
        // Client certificates are optional (token users have none) but verified when given.
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        void this.handle(req, res);
      },
    );
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  reset(): void {
    this.requests.length = 0;
    this.violations.length = 0;
    this.nextOutcome = 'SUCCESS';
    this.takeNextName = false;
    this.unavailableReads = 0;
  }

  /** A Job as if created by someone else (to make a name conflict). */
  addJob(namespace: string, name: string): void {
    this.jobs.set(`${namespace}/${name}`, {
      job: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace }, spec: {}, status: {} },
      uid: randomUUID(),
      outcome: 'HANG',
      reads: 0,
    });
  }

  private status(
    res: ServerResponse,
    code: number,
    reason: string,
    message: string,
    details?: object,
  ): undefined {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        ...(details ? { details } : {}),
        code,
      }),
    );
  }

  private send(res: ServerResponse, code: number, body: unknown): undefined {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private violation(res: ServerResponse, what: string): undefined {
    this.violations.push(what);
    return this.status(res, 400, 'BadRequest', what);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      clientCn: peer?.subject?.CN as string | undefined,
      body: undefined,
    };
    this.requests.push(record);

    // Authentication: a verified client certificate of a known user, or a known bearer token.
    const auth = req.headers.authorization;
    const byCert = record.clientCn === this.clientCn;
    const byToken = auth === `Bearer ${this.token}`;
    const forbidden = auth === `Bearer ${this.forbiddenToken}`;
    if (!byCert && !byToken && !forbidden) return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    if (byCert && auth !== undefined && !byToken)
      this.violations.push('a client certificate and a different Authorization header on one request');

    if (!String(req.headers.accept ?? '').includes('application/json'))
      this.violations.push(`${record.method} ${record.path}: Accept does not include application/json`);
    const m = JOBS.exec(url.pathname);
    if (!m) {
      this.violations.push(`unknown path ${record.method} ${url.pathname}`);
      return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const namespace = decodeURIComponent(m[1]);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const subresource = m[3];
    if (raw) {
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return this.violation(
          res,
          `${record.method} ${record.path}: a body without Content-Type application/json`,
        );
      try {
        record.body = JSON.parse(raw);
      } catch {
        return this.violation(res, `${record.method} ${record.path}: the body is not JSON`);
      }
    }
    if (forbidden) {
      const verb = { POST: 'create', GET: 'get', DELETE: 'delete' }[record.method] ?? 'use';
      return this.status(
        res,
        403,
        'Forbidden',
        `jobs.batch${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:default:no-rbac" cannot ${verb} resource "jobs${subresource ? '/status' : ''}" in API group "batch" in the namespace "${namespace}"`,
        { ...(name ? { name } : {}), group: 'batch', kind: 'jobs' },
      );
    }
    if (!this.namespaces.has(namespace))
      return this.status(res, 404, 'NotFound', `namespaces "${namespace}" not found`, {
        name: namespace,
        kind: 'namespaces',
      });

    if (record.method === 'POST' && name === undefined) return this.create(res, namespace, record.body);
    if (record.method === 'GET' && name !== undefined && subresource) {
      if (raw) this.violations.push('GET with a body');
      return this.read(res, namespace, name);
    }
    if (record.method === 'DELETE' && name !== undefined && !subresource)
      return this.remove(res, namespace, name, record.body);
    this.violations.push(`unexpected call ${record.method} ${url.pathname}`);
    return this.status(
      res,
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    );
  }

  /** The Job shape checks: what our client builds must be well-typed; template mistakes get 422. */
  private create(res: ServerResponse, namespace: string, job: any): undefined {
    if (!isRecord(job)) return this.violation(res, 'create: the body is not a JSON object');
    if (job.apiVersion !== 'batch/v1' || job.kind !== 'Job')
      return this.violation(
        res,
        `create: apiVersion/kind must be batch/v1 Job, got ${job.apiVersion}/${job.kind}`,
      );
    const meta = job.metadata;
    if (!isRecord(meta) || typeof meta.name !== 'string')
      return this.violation(res, 'create: metadata.name must be a string');
    if (meta.namespace !== undefined && meta.namespace !== namespace) {
      this.violations.push('create: metadata.namespace differs from the path');
      return this.status(
        res,
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const invalid = (causes: string[]) =>
      this.status(res, 422, 'Invalid', `Job.batch "${meta.name}" is invalid: ${causes.join(', ')}`, {
        name: meta.name,
        group: 'batch',
        kind: 'Job',
      });
    if (!DNS_SUBDOMAIN.test(meta.name) || meta.name.length > 63) {
      this.violations.push(`create: invalid Job name ${meta.name}`);
      return invalid([
        `metadata.name: Invalid value: "${meta.name}": must be a lowercase RFC 1123 subdomain of at most 63 characters`,
      ]);
    }
    const podSpec = job.spec?.template?.spec;
    if (!isRecord(podSpec) || !Array.isArray(podSpec.containers) || podSpec.containers.length === 0)
      return this.violation(res, 'create: spec.template.spec.containers must be a non-empty list');
    for (const [i, c] of podSpec.containers.entries()) {
      const at = `spec.template.spec.containers[${i}]`;
      if (!isRecord(c)) return this.violation(res, `create: ${at} is not an object`);
      if (typeof c.name !== 'string' || !DNS_LABEL.test(c.name) || c.name.length > 63)
        return this.violation(res, `create: ${at}.name is not a DNS-1123 label: ${c.name}`);
      if (typeof c.image !== 'string' || c.image === '')
        return this.violation(res, `create: ${at}.image must be a string`);
      for (const field of ['command', 'args']) {
        if (
          c[field] !== undefined &&
          (!Array.isArray(c[field]) || !c[field].every((a: unknown) => typeof a === 'string'))
        )
          return this.violation(res, `create: ${at}.${field} must be a list of strings`);
      }
      if (c.env !== undefined) {
        if (!Array.isArray(c.env)) return this.violation(res, `create: ${at}.env must be a list`);
        for (const e of c.env) {
          if (!isRecord(e) || typeof e.name !== 'string' || !ENV_NAME.test(e.name))
            return this.violation(res, `create: ${at}.env has an entry without a valid name`);
          if (e.value !== undefined && typeof e.value !== 'string')
            return this.violation(res, `create: ${at}.env ${e.name} value must be a string`);
        }
      }
    }
    // A Job's pods must not restart forever: the API server requires Never or OnFailure.
    if (podSpec.restartPolicy !== 'Never' && podSpec.restartPolicy !== 'OnFailure') {
      return invalid([
        `spec.template.spec.restartPolicy: ${podSpec.restartPolicy === undefined ? 'Required value' : `Unsupported value: "${podSpec.restartPolicy}"`}: valid values: "OnFailure", "Never"`,
      ]);
    }
    const key = `${namespace}/${meta.name}`;
    if (this.takeNextName) {
      this.takeNextName = false;
      this.addJob(namespace, meta.name);
    }
    if (this.jobs.has(key))
      return this.status(res, 409, 'AlreadyExists', `jobs.batch "${meta.name}" already exists`, {
        name: meta.name,
        group: 'batch',
        kind: 'jobs',
      });
    const uid = randomUUID();
    const stored = {
      ...job,
      metadata: {
        ...meta,
        namespace,
        uid,
        resourceVersion: '1001',
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        labels: { ...(meta.labels ?? {}), 'batch.kubernetes.io/job-name': meta.name, 'job-name': meta.name },
      },
      status: {},
    };
    this.jobs.set(key, { job: stored, uid, outcome: this.nextOutcome, reads: 0 });
    return this.send(res, 201, stored);
  }

  /** Not started on the first read, running on the next ones, then the outcome's conditions. */
  private read(res: ServerResponse, namespace: string, name: string): undefined {
    const entry = this.jobs.get(`${namespace}/${name}`);
    if (!entry)
      return this.status(res, 404, 'NotFound', `jobs.batch "${name}" not found`, {
        name,
        group: 'batch',
        kind: 'jobs',
      });
    if (this.unavailableReads > 0) {
      this.unavailableReads -= 1;
      return this.status(
        res,
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
      );
    }
    entry.reads += 1;
    if (entry.outcome === 'VANISH' && entry.reads >= 3) {
      this.jobs.delete(`${namespace}/${name}`);
      return this.status(res, 404, 'NotFound', `jobs.batch "${name}" not found`, {
        name,
        group: 'batch',
        kind: 'jobs',
      });
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    let status: Record<string, unknown> = {};
    if (entry.reads >= 2) status = { startTime: now, active: 1, ready: 0, terminating: 0 };
    if (entry.reads >= 4 && entry.outcome === 'SUCCESS') {
      status = {
        startTime: now,
        completionTime: now,
        succeeded: 1,
        ready: 0,
        terminating: 0,
        conditions: [
          {
            type: 'SuccessCriteriaMet',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastProbeTime: now,
            lastTransitionTime: now,
          },
          {
            type: 'Complete',
            status: 'True',
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
            lastProbeTime: now,
            lastTransitionTime: now,
          },
        ],
      };
    } else if (entry.reads >= 4 && entry.outcome === 'FAILED') {
      status = {
        startTime: now,
        failed: 1,
        ready: 0,
        terminating: 0,
        conditions: [
          {
            type: 'FailureTarget',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastProbeTime: now,
            lastTransitionTime: now,
          },
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastProbeTime: now,
            lastTransitionTime: now,
          },
        ],
      };
    }
    entry.job.status = status;
    return this.send(res, 200, entry.job);
  }

  private remove(res: ServerResponse, namespace: string, name: string, options: any): undefined {
    if (options !== undefined) {
      if (!isRecord(options)) return this.violation(res, 'delete: DeleteOptions must be an object');
      if (options.kind !== undefined && options.kind !== 'DeleteOptions')
        return this.violation(res, `delete: body kind ${options.kind} is not DeleteOptions`);
      if (
        options.propagationPolicy !== undefined &&
        !['Foreground', 'Background', 'Orphan'].includes(options.propagationPolicy)
      )
        return this.violation(res, `delete: unknown propagationPolicy ${options.propagationPolicy}`);
    }
    const key = `${namespace}/${name}`;
    const entry = this.jobs.get(key);
    if (!entry)
      return this.status(res, 404, 'NotFound', `jobs.batch "${name}" not found`, {
        name,
        group: 'batch',
        kind: 'jobs',
      });
    this.jobs.delete(key);
    return this.send(res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: 'batch', kind: 'jobs', uid: entry.uid },
    });
  }
}
