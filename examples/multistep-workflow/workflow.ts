/**
 * A multi-step workflow driven from TypeScript with runProject: one parent run, a data preparation
 * step, then a small hyperparameter search (three training runs in parallel) reading the prepared data
 * through a runs:/ URI, and the best learning rate recorded on the parent.
 *
 *   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 npx tsx examples/multistep-workflow/workflow.ts
 *
 * The tracking server must serve artifacts (the default for `mlflow-ts server`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProject } from 'mlflow-ts';

export interface WorkflowResult {
  parentRunId: string;
  prepareRunId: string;
  trials: Array<{ runId: string; learningRate: string; rmse: number }>;
  best: { runId: string; learningRate: string; rmse: number };
}

export interface WorkflowOptions {
  trackingUri: string;
  experimentId?: string;
  learningRates?: string[];
  log?: (line: string) => void;
}

async function rest<T>(
  trackingUri: string,
  method: 'GET' | 'POST',
  endpoint: string,
  body: Record<string, unknown>,
) {
  const base = `${trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow/${endpoint}`;
  const response =
    method === 'GET'
      ? await fetch(`${base}?${new URLSearchParams(body as Record<string, string>)}`)
      : await fetch(base, {
          method,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
  if (!response.ok) throw new Error(`${endpoint}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function runWorkflow(options: WorkflowOptions): Promise<WorkflowResult> {
  const { trackingUri, log = (line: string) => console.error(line) } = options;
  const experimentId = options.experimentId ?? '0';
  const projectDir = path.dirname(fileURLToPath(import.meta.url));
  const common = { uri: projectDir, trackingUri, experimentId, envManager: 'local', log };

  const parent = await rest<{ run: { info: { run_id: string } } }>(trackingUri, 'POST', 'runs/create', {
    experiment_id: experimentId,
    run_name: 'multistep-workflow',
    start_time: Date.now(),
  });
  const parentRunId = parent.run.info.run_id;
  try {
    const prepare = await runProject({ ...common, entryPoint: 'prepare', parentRunId, runName: 'prepare' });
    if (!(await prepare.wait())) throw new Error(`the prepare step failed (run ${prepare.runId})`);

    const learningRates = options.learningRates ?? ['0.01', '0.1', '0.5'];
    const started = await Promise.all(
      learningRates.map((learningRate) =>
        runProject({
          ...common,
          entryPoint: 'train',
          parameters: { data: `runs:/${prepare.runId}/data.csv`, learning_rate: learningRate },
          parentRunId,
          runName: `train-lr-${learningRate}`,
        }),
      ),
    );
    const outcomes = await Promise.all(started.map((run) => run.wait()));
    if (outcomes.includes(false)) throw new Error('a training run failed');

    const trials = await Promise.all(
      started.map(async (run, i) => {
        const got = await rest<{ run: { data: { metrics?: Array<{ key: string; value: number }> } } }>(
          trackingUri,
          'GET',
          'runs/get',
          { run_id: run.runId },
        );
        const rmse = got.run.data.metrics?.find((m) => m.key === 'rmse')?.value ?? Number.NaN;
        return { runId: run.runId, learningRate: learningRates[i], rmse };
      }),
    );
    const best = trials.reduce((a, b) => (b.rmse < a.rmse ? b : a));
    await rest(trackingUri, 'POST', 'runs/log-batch', {
      run_id: parentRunId,
      params: [{ key: 'best_learning_rate', value: best.learningRate }],
      metrics: [{ key: 'best_rmse', value: best.rmse, timestamp: Date.now(), step: 0 }],
      tags: [{ key: 'best_run_id', value: best.runId }],
    });
    await rest(trackingUri, 'POST', 'runs/update', {
      run_id: parentRunId,
      status: 'FINISHED',
      end_time: Date.now(),
    });
    log(`best learning rate ${best.learningRate} (rmse ${best.rmse.toFixed(4)}, run ${best.runId})`);
    return { parentRunId, prepareRunId: prepare.runId, trials, best };
  } catch (error) {
    await rest(trackingUri, 'POST', 'runs/update', {
      run_id: parentRunId,
      status: 'FAILED',
      end_time: Date.now(),
    });
    throw error;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const trackingUri = process.env.MLFLOW_TRACKING_URI;
  if (!trackingUri?.startsWith('http')) {
    console.error('Set MLFLOW_TRACKING_URI to a running mlflow-ts server, e.g. http://127.0.0.1:5000');
    process.exit(1);
  }
  runWorkflow({ trackingUri }).catch((error: unknown) => {
    console.error(`Error: ${(error as Error).message}`);
    process.exit(1);
  });
}
