// Seeds a test server through MLflow's REST API, as a real client would.
import assert from 'node:assert/strict';

export class Seeder {
  constructor(readonly url: string) {}

  async call<T = any>(method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>): Promise<T> {
    let url = `${this.url}/api/2.0/mlflow/${endpoint}`;
    const init: RequestInit = { method };
    if (method === 'GET' && body) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(body))
        for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
      url += `?${q}`;
    } else if (body) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    const text = await r.text();
    assert.equal(r.status, 200, `${endpoint}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async experiment(name: string): Promise<string> {
    return (await this.call('POST', 'experiments/create', { name })).experiment_id;
  }

  async run(
    experimentId: string,
    o: {
      name?: string;
      startTime?: number;
      params?: Record<string, string>;
      metrics?: Record<string, number>;
      tags?: Record<string, string>;
      status?: 'FINISHED' | 'FAILED' | 'RUNNING' | 'KILLED';
    } = {},
  ): Promise<{ runId: string; artifactUri: string }> {
    const start = o.startTime ?? Date.now();
    const created = await this.call('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: o.name,
      start_time: start,
      tags: Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    const runId = created.run.info.run_id as string;
    const metrics = Object.entries(o.metrics ?? {}).map(([key, value]) => ({
      key,
      value,
      timestamp: start,
      step: 0,
    }));
    const params = Object.entries(o.params ?? {}).map(([key, value]) => ({ key, value }));
    if (metrics.length || params.length)
      await this.call('POST', 'runs/log-batch', { run_id: runId, metrics, params });
    if (o.status !== 'RUNNING') {
      await this.call('POST', 'runs/update', {
        run_id: runId,
        status: o.status ?? 'FINISHED',
        end_time: start + 65_000,
      });
    }
    return { runId, artifactUri: created.run.info.artifact_uri as string };
  }

  /** Logs a metric history: values[i] at step i, one second apart. */
  async history(runId: string, key: string, values: number[], t0 = Date.now()): Promise<void> {
    for (let i = 0; i < values.length; i += 1000) {
      const metrics = values
        .slice(i, i + 1000)
        .map((value, j) => ({ key, value, step: i + j, timestamp: t0 + (i + j) * 1000 }));
      await this.call('POST', 'runs/log-batch', { run_id: runId, metrics });
    }
  }

  /** Uploads an artifact through the server's proxy (the run's artifact URI is mlflow-artifacts:/...). */
  async artifact(artifactUri: string, relPath: string, body: string | Buffer): Promise<void> {
    const base = artifactUri.replace(/^mlflow-artifacts:\/?/, '');
    const r = await fetch(`${this.url}/api/2.0/mlflow-artifacts/artifacts/${base}/${relPath}`, {
      method: 'PUT',
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    assert.equal(r.status, 200, await r.text());
  }
}
