import { ExecutionError } from '../execution-error.js';

// The few Databricks REST calls a project run needs (DBFS 2.0 and Jobs 2.0), with the workspace and
// token from DATABRICKS_HOST / DATABRICKS_TOKEN. Errors keep Databricks' error_code and message.

/** DBFS accepts at most 1 MB of data per put (inline contents) and per add-block call. */
export const DBFS_BLOCK_BYTES = 1024 * 1024;

export class DatabricksApiError extends ExecutionError {
  constructor(
    message: string,
    readonly status: number,
    readonly databricksErrorCode: string | undefined,
  ) {
    super(message);
  }
}

export interface DatabricksCredentials {
  host: string;
  token: string;
}

/** DATABRICKS_HOST (with or without https://) and DATABRICKS_TOKEN, or a message saying what to set. */
export function databricksCredentials(env: NodeJS.ProcessEnv = process.env): DatabricksCredentials {
  const missing = ['DATABRICKS_HOST', 'DATABRICKS_TOKEN'].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new ExecutionError(
      `Running on Databricks needs ${missing.join(' and ')}: set DATABRICKS_HOST to your workspace URL (https://<workspace>.cloud.databricks.com) and DATABRICKS_TOKEN to a personal access token.`,
    );
  }
  let host = (env.DATABRICKS_HOST as string).trim().replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(host)) host = `https://${host}`;
  try {
    new URL(host);
  } catch {
    throw new ExecutionError(`DATABRICKS_HOST is not a URL: '${env.DATABRICKS_HOST}'.`);
  }
  return { host, token: env.DATABRICKS_TOKEN as string };
}

export interface JobRunState {
  life_cycle_state: string;
  result_state?: string;
  state_message?: string;
}

export interface JobRun {
  run_id: number;
  job_id?: number;
  run_page_url?: string;
  state: JobRunState;
}

export class DatabricksApi {
  constructor(readonly credentials: DatabricksCredentials) {}

  private async request(
    method: 'GET' | 'POST',
    endpoint: string,
    options: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<Record<string, unknown>> {
    const url = new URL(`${this.credentials.host}${endpoint}`);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${this.credentials.token}`,
          ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      throw new ExecutionError(
        `Could not reach Databricks at ${this.credentials.host} (${method} ${endpoint}): ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Gateways and auth failures may answer with HTML or plain text; reported below.
    }
    if (!response.ok) {
      const code = typeof body.error_code === 'string' ? body.error_code : undefined;
      const message = typeof body.message === 'string' ? body.message : text.slice(0, 300);
      let hint = '';
      if (response.status === 401 || response.status === 403) {
        hint =
          ' Check that DATABRICKS_TOKEN is a valid token for this workspace with access to DBFS and Jobs.';
      }
      throw new DatabricksApiError(
        `Databricks ${method} ${endpoint} failed with HTTP ${response.status}${code ? ` ${code}` : ''}: ${message}.${hint}`,
        response.status,
        code,
      );
    }
    return body;
  }

  /** Whether a DBFS path exists (GET dbfs/get-status; RESOURCE_DOES_NOT_EXIST means no). */
  async dbfsExists(dbfsPath: string): Promise<boolean> {
    try {
      await this.request('GET', '/api/2.0/dbfs/get-status', { query: { path: dbfsPath } });
      return true;
    } catch (error) {
      if (error instanceof DatabricksApiError && error.databricksErrorCode === 'RESOURCE_DOES_NOT_EXIST')
        return false;
      throw error;
    }
  }

  /**
   * Writes a file to DBFS without overwriting: one dbfs/put for up to 1 MB, else a streaming upload
   * (create, add-block per MB, close). Returns false when the file already existed.
   */
  async dbfsUpload(dbfsPath: string, data: Buffer, progress?: (sent: number) => void): Promise<boolean> {
    try {
      if (data.length <= DBFS_BLOCK_BYTES) {
        await this.request('POST', '/api/2.0/dbfs/put', {
          body: { path: dbfsPath, contents: data.toString('base64'), overwrite: false },
        });
        progress?.(data.length);
        return true;
      }
      const created = await this.request('POST', '/api/2.0/dbfs/create', {
        body: { path: dbfsPath, overwrite: false },
      });
      const handle = created.handle;
      if (typeof handle !== 'number') {
        throw new ExecutionError(
          `Databricks dbfs/create answered without a handle: ${JSON.stringify(created)}`,
        );
      }
      for (let offset = 0; offset < data.length; offset += DBFS_BLOCK_BYTES) {
        const block = data.subarray(offset, offset + DBFS_BLOCK_BYTES);
        await this.request('POST', '/api/2.0/dbfs/add-block', {
          body: { handle, data: block.toString('base64') },
        });
        progress?.(offset + block.length);
      }
      await this.request('POST', '/api/2.0/dbfs/close', { body: { handle } });
      return true;
    } catch (error) {
      // Another run uploaded the same archive (same hash) first.
      if (error instanceof DatabricksApiError && error.databricksErrorCode === 'RESOURCE_ALREADY_EXISTS')
        return false;
      throw error;
    }
  }

  /** POST jobs/runs/submit; the Databricks run id. */
  async submitRun(body: Record<string, unknown>): Promise<number> {
    const answer = await this.request('POST', '/api/2.0/jobs/runs/submit', { body });
    if (typeof answer.run_id !== 'number') {
      throw new ExecutionError(`Databricks runs/submit answered without a run_id: ${JSON.stringify(answer)}`);
    }
    return answer.run_id;
  }

  async getRun(runId: number): Promise<JobRun> {
    const answer = await this.request('GET', '/api/2.0/jobs/runs/get', { query: { run_id: String(runId) } });
    const state = answer.state as JobRunState | undefined;
    if (!state || typeof state.life_cycle_state !== 'string') {
      throw new ExecutionError(`Databricks runs/get answered without a state: ${JSON.stringify(answer)}`);
    }
    return answer as unknown as JobRun;
  }

  async cancelRun(runId: number): Promise<void> {
    await this.request('POST', '/api/2.0/jobs/runs/cancel', { body: { run_id: runId } });
  }
}
