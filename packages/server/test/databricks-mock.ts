import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for a Databricks workspace that we cannot reach from the tests: it checks every request
// against the documented shapes of the DBFS 2.0 and Jobs 2.0 APIs (method, path, bearer token, JSON
// fields and their types, base64 blocks of at most 1 MB) and answers as Databricks does. Any
// departure is recorded in `violations` (tests assert it stays empty) and answered with a 400.
// shell_command_task is the task MLflow's databricks backend submits; it is not in the public Jobs
// docs, so its shape is checked against what MLflow sends.

export type Outcome = 'SUCCESS' | 'FAILED' | 'HANG';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
}

interface MockRun {
  runId: number;
  jobId: number;
  outcome: Outcome;
  gets: number;
  cancelled: boolean;
  submit: any;
}

const MAX_BLOCK = 1024 * 1024;
const LIBRARY_KINDS = ['jar', 'egg', 'whl', 'pypi', 'maven', 'cran', 'requirements'];
const TASK_KINDS = [
  'notebook_task',
  'spark_jar_task',
  'spark_python_task',
  'spark_submit_task',
  'shell_command_task',
];

function isBase64(text: unknown): text is string {
  return typeof text === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
}

export class DatabricksMock {
  readonly token = 'dapi-test-token-1234';
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  /** DBFS files by absolute path. */
  readonly files = new Map<string, Buffer>();
  readonly runs = new Map<number, MockRun>();
  /** What the next submitted run does. */
  nextOutcome: Outcome = 'SUCCESS';
  private readonly handles = new Map<number, { path: string; chunks: Buffer[] }>();
  private nextHandle = 7;
  private nextRunId = 1001;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The recorded calls as "METHOD path" lines. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  reset(): void {
    this.requests.length = 0;
    this.violations.length = 0;
    this.nextOutcome = 'SUCCESS';
  }

  private violation(res: ServerResponse, what: string): undefined {
    this.violations.push(what);
    this.send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: what });
  }

  private send(res: ServerResponse, status: number, body: unknown): undefined {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? '';
    const path = url.pathname;
    let body: any;
    const record: RecordedRequest = { method, path, query: Object.fromEntries(url.searchParams), body };
    this.requests.push(record);

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      // Databricks answers a bad or missing token with 403 (401 for a missing header on some clouds).
      this.send(res, 403, { error_code: '403', message: 'Invalid access token.' });
      return;
    }
    if (method === 'GET') {
      if (raw) return this.violation(res, `${path}: a GET must carry no body (parameters go in the query)`);
    } else if (method === 'POST') {
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return this.violation(res, `${path}: POST without Content-Type application/json`);
      try {
        body = JSON.parse(raw);
      } catch {
        return this.violation(res, `${path}: body is not JSON`);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return this.violation(res, `${path}: body is not a JSON object`);
      record.body = body;
    } else {
      return this.violation(res, `${path}: unexpected method ${method}`);
    }
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /api/2.0/dbfs/get-status':
        return this.getStatus(res, record.query);
      case 'POST /api/2.0/dbfs/put':
        return this.put(res, body);
      case 'POST /api/2.0/dbfs/create':
        return this.create(res, body);
      case 'POST /api/2.0/dbfs/add-block':
        return this.addBlock(res, body);
      case 'POST /api/2.0/dbfs/close':
        return this.closeHandle(res, body);
      case 'POST /api/2.0/jobs/runs/submit':
        return this.submit(res, body);
      case 'GET /api/2.0/jobs/runs/get':
        return this.getRun(res, record.query);
      case 'POST /api/2.0/jobs/runs/cancel':
        return this.cancel(res, body);
      default:
        this.violations.push(`unknown endpoint ${route}`);
        this.send(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `No API found for '${route}'` });
    }
  }

  private checkPath(value: unknown): string | undefined {
    if (typeof value !== 'string' || !value.startsWith('/')) return 'path must be an absolute DBFS path';
    if (value.startsWith('/dbfs/') || value.startsWith('dbfs:'))
      return 'path must be a DBFS path, not a FUSE path or dbfs: URI';
    return undefined;
  }

  private unknownKeys(body: Record<string, unknown>, allowed: string[]): string[] {
    return Object.keys(body).filter((k) => !allowed.includes(k));
  }

  private getStatus(res: ServerResponse, query: Record<string, string>): undefined {
    const bad = this.checkPath(query.path);
    if (bad) return this.violation(res, `dbfs/get-status: ${bad}`);
    const file = this.files.get(query.path);
    if (!file) {
      this.send(res, 404, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `No file or directory exists on path ${query.path}.`,
      });
      return;
    }
    this.send(res, 200, {
      path: query.path,
      is_dir: false,
      file_size: file.length,
      modification_time: 1700000000000,
    });
  }

  private put(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, ['path', 'contents', 'overwrite']);
    if (extra.length) return this.violation(res, `dbfs/put: unknown fields ${extra}`);
    const bad = this.checkPath(body.path);
    if (bad) return this.violation(res, `dbfs/put: ${bad}`);
    if (!isBase64(body.contents)) return this.violation(res, 'dbfs/put: contents must be base64 text');
    if (body.overwrite !== undefined && typeof body.overwrite !== 'boolean')
      return this.violation(res, 'dbfs/put: overwrite must be a boolean');
    const data = Buffer.from(body.contents, 'base64');
    if (data.length > MAX_BLOCK) {
      this.violations.push('dbfs/put: contents over 1 MB');
      this.send(res, 400, { error_code: 'MAX_BLOCK_SIZE_EXCEEDED', message: 'Block size exceeds 1 MB' });
      return;
    }
    if (this.files.has(body.path) && !body.overwrite) {
      this.send(res, 400, {
        error_code: 'RESOURCE_ALREADY_EXISTS',
        message: `A file or directory already exists at the input path ${body.path}.`,
      });
      return;
    }
    this.files.set(body.path, data);
    this.send(res, 200, {});
  }

  private create(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, ['path', 'overwrite']);
    if (extra.length) return this.violation(res, `dbfs/create: unknown fields ${extra}`);
    const bad = this.checkPath(body.path);
    if (bad) return this.violation(res, `dbfs/create: ${bad}`);
    if (body.overwrite !== undefined && typeof body.overwrite !== 'boolean')
      return this.violation(res, 'dbfs/create: overwrite must be a boolean');
    if (this.files.has(body.path) && !body.overwrite) {
      this.send(res, 400, {
        error_code: 'RESOURCE_ALREADY_EXISTS',
        message: `A file or directory already exists at the input path ${body.path}.`,
      });
      return;
    }
    const handle = this.nextHandle++;
    this.handles.set(handle, { path: body.path, chunks: [] });
    this.send(res, 200, { handle });
  }

  private addBlock(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, ['handle', 'data']);
    if (extra.length) return this.violation(res, `dbfs/add-block: unknown fields ${extra}`);
    if (!Number.isInteger(body.handle))
      return this.violation(res, 'dbfs/add-block: handle must be an integer');
    if (!isBase64(body.data)) return this.violation(res, 'dbfs/add-block: data must be base64 text');
    const open = this.handles.get(body.handle);
    if (!open) {
      this.send(res, 404, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `No handle ${body.handle}.`,
      });
      return;
    }
    const data = Buffer.from(body.data, 'base64');
    if (data.length > MAX_BLOCK) {
      this.violations.push('dbfs/add-block: block over 1 MB');
      this.send(res, 400, { error_code: 'MAX_BLOCK_SIZE_EXCEEDED', message: 'Block size exceeds 1 MB' });
      return;
    }
    open.chunks.push(data);
    this.send(res, 200, {});
  }

  private closeHandle(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, ['handle']);
    if (extra.length) return this.violation(res, `dbfs/close: unknown fields ${extra}`);
    if (!Number.isInteger(body.handle)) return this.violation(res, 'dbfs/close: handle must be an integer');
    const open = this.handles.get(body.handle);
    if (!open) {
      this.send(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `No handle ${body.handle}.` });
      return;
    }
    this.handles.delete(body.handle);
    this.files.set(open.path, Buffer.concat(open.chunks));
    this.send(res, 200, {});
  }

  private submit(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, [
      'run_name',
      'new_cluster',
      'existing_cluster_id',
      'libraries',
      'timeout_seconds',
      'idempotency_token',
      ...TASK_KINDS,
    ]);
    if (extra.length) return this.violation(res, `runs/submit: unknown fields ${extra}`);
    if (body.run_name !== undefined && typeof body.run_name !== 'string')
      return this.violation(res, 'runs/submit: run_name must be a string');
    const cluster = body.new_cluster;
    if (typeof cluster !== 'object' || cluster === null || Array.isArray(cluster))
      return this.violation(res, 'runs/submit: new_cluster must be an object');
    if (typeof cluster.spark_version !== 'string')
      return this.violation(res, 'runs/submit: new_cluster.spark_version must be a string');
    if (cluster.num_workers !== undefined && !Number.isInteger(cluster.num_workers))
      return this.violation(res, 'runs/submit: new_cluster.num_workers must be an integer');
    const tasks = TASK_KINDS.filter((k) => body[k] !== undefined);
    if (tasks.length !== 1)
      return this.violation(res, `runs/submit: exactly one task expected, got ${tasks}`);
    if (body.shell_command_task) {
      const task = body.shell_command_task;
      const extraTask = this.unknownKeys(task, ['command', 'env_vars']);
      if (extraTask.length) return this.violation(res, `shell_command_task: unknown fields ${extraTask}`);
      if (!Array.isArray(task.command) || !task.command.every((c: unknown) => typeof c === 'string'))
        return this.violation(res, 'shell_command_task.command must be a list of strings');
      const env = task.env_vars ?? {};
      if (typeof env !== 'object' || !Object.values(env).every((v) => typeof v === 'string'))
        return this.violation(res, 'shell_command_task.env_vars must map names to strings');
    }
    if (body.spark_python_task) {
      const task = body.spark_python_task;
      if (typeof task.python_file !== 'string' || !task.python_file.startsWith('dbfs:/'))
        return this.violation(res, 'spark_python_task.python_file must be a dbfs:/ URI');
      if (task.parameters !== undefined && !Array.isArray(task.parameters))
        return this.violation(res, 'spark_python_task.parameters must be a list');
    }
    const libraries = body.libraries ?? [];
    if (!Array.isArray(libraries)) return this.violation(res, 'runs/submit: libraries must be a list');
    for (const lib of libraries) {
      const kinds = Object.keys(lib ?? {});
      if (kinds.length !== 1 || !LIBRARY_KINDS.includes(kinds[0]))
        return this.violation(res, `runs/submit: a library must have exactly one of ${LIBRARY_KINDS}`);
      if (kinds[0] === 'pypi' && typeof lib.pypi?.package !== 'string')
        return this.violation(res, 'runs/submit: pypi library needs a package string');
    }
    const runId = this.nextRunId++;
    this.runs.set(runId, {
      runId,
      jobId: runId + 500,
      outcome: this.nextOutcome,
      gets: 0,
      cancelled: false,
      submit: body,
    });
    this.send(res, 200, { run_id: runId });
  }

  private runIdOf(value: unknown): number | undefined {
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    return Number.isInteger(n) ? (n as number) : undefined;
  }

  private getRun(res: ServerResponse, query: Record<string, string>): undefined {
    const runId = this.runIdOf(query.run_id);
    if (runId === undefined) return this.violation(res, 'runs/get: run_id must be an integer');
    const run = this.runs.get(runId);
    if (!run) {
      this.send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: `Run ${runId} does not exist.` });
      return;
    }
    run.gets += 1;
    // PENDING on the first look (cluster starting), RUNNING on the next ones, then the outcome.
    let state: Record<string, string>;
    if (run.cancelled) {
      state = { life_cycle_state: 'TERMINATED', result_state: 'CANCELED', state_message: 'Run cancelled.' };
    } else if (run.gets <= 1) {
      state = { life_cycle_state: 'PENDING', state_message: 'Waiting for cluster' };
    } else if (run.gets <= 3 || run.outcome === 'HANG') {
      state = { life_cycle_state: 'RUNNING', state_message: 'In run' };
    } else if (run.outcome === 'SUCCESS') {
      state = { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS', state_message: '' };
    } else {
      state = {
        life_cycle_state: 'TERMINATED',
        result_state: 'FAILED',
        state_message: 'Command exited with code 1',
      };
    }
    this.send(res, 200, {
      job_id: run.jobId,
      run_id: run.runId,
      number_in_job: 1,
      creator_user_name: 'someone@example.com',
      state,
      run_page_url: `${this.url}/?o=1234#job/${run.jobId}/run/1`,
      run_type: 'SUBMIT_RUN',
      run_name: run.submit.run_name,
    });
  }

  private cancel(res: ServerResponse, body: any): undefined {
    const extra = this.unknownKeys(body, ['run_id']);
    if (extra.length) return this.violation(res, `runs/cancel: unknown fields ${extra}`);
    if (!Number.isInteger(body.run_id)) return this.violation(res, 'runs/cancel: run_id must be an integer');
    const run = this.runs.get(body.run_id);
    if (!run) {
      this.send(res, 400, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `Run ${body.run_id} does not exist.`,
      });
      return;
    }
    run.cancelled = true;
    this.send(res, 200, {});
  }
}
