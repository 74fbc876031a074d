import http from 'node:http';
import https from 'node:https';
import { ExecutionError } from '../execution-error.js';
import { CredentialSource, type KubeConnection } from './kubeconfig.js';

// The three calls of the batch/v1 Job API a project run needs (create, read status, delete), over
// node's https with the kubeconfig's CA, client certificate and token. An error answer (a
// Kubernetes Status object) becomes an ExecutionError that names the call, the HTTP status, the
// Status reason and message, and what to check.

export class KubernetesApiError extends ExecutionError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
  ) {
    super(message);
  }
}

/** The parts of a batch/v1 Job the runner reads. */
export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  conditions?: JobCondition[];
}

export interface Job {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string };
  status?: JobStatus;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hint(status: number, connection: KubeConnection): string {
  if (status === 401) {
    return ` Check the credentials of ${connection.source} (token, client certificate or exec plugin): the API server did not accept them.`;
  }
  if (status === 403) {
    return ' The user is authenticated but not allowed: it needs RBAC permission to create, get and delete jobs (batch) in that namespace.';
  }
  return '';
}

const JOBS_PATH = '/apis/batch/v1/namespaces';

export class KubernetesApi {
  private readonly credentials: CredentialSource;

  constructor(readonly connection: KubeConnection) {
    this.credentials = new CredentialSource(connection);
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    apiPath: string,
    body: unknown,
  ): Promise<{ status: number; text: string }> {
    const creds = await this.credentials.current();
    const url = new URL(`${this.connection.server}${apiPath}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json', ...creds.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method,
      headers,
      ...(secure
        ? {
            ca: this.connection.ca,
            cert: creds.clientCert,
            key: creds.clientKey,
            rejectUnauthorized: !this.connection.insecureSkipTlsVerify,
            servername: this.connection.tlsServerName,
            // A fresh agent per request: TLS options must not leak between connections.
            agent: false,
          }
        : {}),
    };
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(url, options, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      });
      request.setTimeout(60_000, () => request.destroy(new Error('no answer within 60 s')));
      request.on('error', (error) =>
        reject(
          new ExecutionError(
            `Could not reach the Kubernetes API server ${this.connection.server} (${method} ${apiPath}, ${this.connection.source}): ${error.message}`,
          ),
        ),
      );
      request.end(payload);
    });
  }

  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    apiPath: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    let answer = await this.send(method, apiPath, body);
    // An exec plugin's token may have been revoked or expired early: ask it again once.
    if (answer.status === 401 && this.credentials.hasExec) {
      this.credentials.invalidate();
      answer = await this.send(method, apiPath, body);
    }
    let parsed: unknown;
    try {
      parsed = answer.text ? JSON.parse(answer.text) : {};
    } catch {
      // Proxies and load balancers may answer with HTML or text: reported below as it is.
    }
    if (answer.status < 200 || answer.status >= 300) {
      const status = isRecord(parsed) && parsed.kind === 'Status' ? parsed : undefined;
      const reason = typeof status?.reason === 'string' ? status.reason : undefined;
      const message =
        typeof status?.message === 'string'
          ? status.message
          : answer.text.trim().slice(0, 300) || '(no body)';
      throw new KubernetesApiError(
        `Kubernetes ${method} ${apiPath} failed with HTTP ${answer.status}${reason ? ` ${reason}` : ''}: ${message}.${hint(answer.status, this.connection)}`,
        answer.status,
        reason,
      );
    }
    if (!isRecord(parsed)) {
      throw new ExecutionError(
        `Kubernetes ${method} ${apiPath} answered HTTP ${answer.status} without a JSON object: ${answer.text.slice(0, 300)}`,
      );
    }
    return parsed;
  }

  private jobsPath(namespace: string, name?: string): string {
    const base = `${JOBS_PATH}/${encodeURIComponent(namespace)}/jobs`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async createJob(namespace: string, job: Record<string, unknown>): Promise<Job> {
    const created = await this.request('POST', this.jobsPath(namespace), job);
    if (!isRecord(created.metadata) || typeof created.metadata.name !== 'string') {
      throw new ExecutionError(
        `Kubernetes answered the Job creation without metadata.name: ${JSON.stringify(created).slice(0, 300)}`,
      );
    }
    return created as unknown as Job;
  }

  async readJobStatus(namespace: string, name: string): Promise<Job> {
    const job = await this.request('GET', `${this.jobsPath(namespace, name)}/status`);
    return job as unknown as Job;
  }

  /** Deletes the Job and, in the background, its pods (the API's default for Jobs would orphan them). */
  async deleteJob(namespace: string, name: string): Promise<void> {
    await this.request('DELETE', this.jobsPath(namespace, name), {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
    });
  }
}
