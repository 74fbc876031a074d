import { ExecutionError } from './execution-error.js';
import { openRunTracking, resolveTrackingUri } from './open-run-tracking.js';
import { type RunProjectOptions, runProject, type SubmittedRun } from './run-project.js';

// --sweep (beyond MLflow): many runs of one entry point over a grid or a random sample of parameter
// values, at most --max-parallel at a time, each trial a child run (mlflow.parentRunId) of one parent
// run that ends FINISHED when every trial succeeded, FAILED otherwise, KILLED when cancelled.
//
// In a sweep each -P value is a list of choices: `a,b,c`; for random search also a range `lo..hi`
// (uniform; integers when both ends are integers, log-uniform with `lo..hi:log`).

export type SweepKind = 'grid' | 'random';

type Choice =
  | { kind: 'list'; values: string[] }
  | { kind: 'range'; lo: number; hi: number; int: boolean; log: boolean };

function parseChoice(name: string, text: string, kind: SweepKind): Choice {
  const range = /^\s*(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)\s*(:log)?\s*$/.exec(text);
  if (range) {
    if (kind === 'grid') {
      throw new ExecutionError(
        `--sweep grid needs a list of values for '${name}' (a,b,c), not a range: use --sweep random.`,
      );
    }
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    const log = Boolean(range[3]);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi || (log && lo <= 0)) {
      throw new ExecutionError(
        `Invalid range for '${name}': ${text} (write lo..hi with lo <= hi${log ? ' and lo > 0' : ''}).`,
      );
    }
    const int = /^-?\d+$/.test(range[1]) && /^-?\d+$/.test(range[2]) && !log;
    return { kind: 'range', lo, hi, int, log };
  }
  const values = text.split(',').map((v) => v.trim());
  if (values.some((v) => v === ''))
    throw new ExecutionError(`Empty value in the sweep list of '${name}': ${text}`);
  return { kind: 'list', values };
}

/** A small seeded generator (mulberry32), so `--seed` reproduces a random search. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The parameter sets of a sweep, in order. */
export function sweepTrials(
  parameters: Record<string, string>,
  kind: SweepKind,
  options: { maxTrials?: number; seed?: number } = {},
): Array<Record<string, string>> {
  const names = Object.keys(parameters);
  const choices = names.map((n) => parseChoice(n, parameters[n], kind));
  if (kind === 'grid') {
    let trials: Array<Record<string, string>> = [{}];
    names.forEach((name, i) => {
      const values = (choices[i] as { values: string[] }).values;
      trials = trials.flatMap((t) => values.map((v) => ({ ...t, [name]: v })));
    });
    return options.maxTrials ? trials.slice(0, options.maxTrials) : trials;
  }
  if (!options.maxTrials || options.maxTrials < 1) {
    throw new ExecutionError('--sweep random needs --max-trials N (how many parameter sets to draw).');
  }
  const next = random(options.seed ?? Date.now());
  const trials: Array<Record<string, string>> = [];
  for (let t = 0; t < options.maxTrials; t++) {
    const trial: Record<string, string> = {};
    names.forEach((name, i) => {
      const c = choices[i];
      if (c.kind === 'list') trial[name] = c.values[Math.floor(next() * c.values.length)];
      else if (c.int) trial[name] = String(c.lo + Math.floor(next() * (c.hi - c.lo + 1)));
      else if (c.log)
        trial[name] = String(Math.exp(Math.log(c.lo) + next() * (Math.log(c.hi) - Math.log(c.lo))));
      else trial[name] = String(c.lo + next() * (c.hi - c.lo));
    });
    trials.push(trial);
  }
  return trials;
}

export interface SweepOptions extends Omit<RunProjectOptions, 'runId' | 'parentRunId'> {
  sweep: SweepKind;
  maxParallel?: number;
  maxTrials?: number;
  seed?: number;
}

export interface SweepResult {
  parentRunId: string;
  trials: Array<{ runId?: string; parameters: Record<string, string>; ok: boolean; error?: string }>;
  ok: boolean;
}

/**
 * Runs every trial of a sweep as a child run of a new parent run, at most `maxParallel` at a time.
 * Aborting `signal` cancels running trials, starts no more and records the parent KILLED.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trials = sweepTrials(options.parameters ?? {}, options.sweep, options);
  const maxParallel = options.maxParallel ?? 1;
  if (!Number.isInteger(maxParallel) || maxParallel < 1)
    throw new ExecutionError('--max-parallel must be a positive integer.');
  if (trials.length === 0) throw new ExecutionError('The sweep has no trials.');

  const tracking = await openRunTracking(resolveTrackingUri(options.trackingUri));
  let parentRunId: string;
  let experimentId = options.experimentId;
  try {
    if (!experimentId && options.experimentName)
      experimentId = await tracking.experimentIdForName(options.experimentName);
    experimentId ??= process.env.MLFLOW_EXPERIMENT_ID || '0';
    const parent = await tracking.createRun(
      experimentId,
      {
        'mlflow.source.type': 'PROJECT',
        'mlflow.source.name': options.uri,
        'mlflow.sweep.kind': options.sweep,
      },
      options.runName ?? `sweep-${options.entryPoint ?? 'main'}`,
    );
    parentRunId = parent.runId;
    await tracking.logParams(parentRunId, [
      ['sweep', options.sweep],
      ['trials', String(trials.length)],
      ['max_parallel', String(maxParallel)],
    ]);
  } catch (error) {
    await tracking.close();
    throw error;
  }
  log(`=== Sweep '${parentRunId}': ${trials.length} trial(s), at most ${maxParallel} at a time ===`);

  const results: SweepResult['trials'] = trials.map((parameters) => ({ parameters, ok: false }));
  const running = new Set<SubmittedRun>();
  const cancelAll = () => Promise.all([...running].map((r) => r.cancel().catch(() => {})));
  options.signal?.addEventListener('abort', () => void cancelAll(), { once: true });
  let nextTrial = 0;
  const worker = async () => {
    while (nextTrial < trials.length && !options.signal?.aborted) {
      const index = nextTrial++;
      const { sweep: _s, maxParallel: _m, maxTrials: _t, seed: _seed, ...runOptions } = options;
      try {
        const submitted = await runProject({
          ...runOptions,
          experimentId,
          experimentName: undefined,
          runName: undefined,
          parameters: trials[index],
          parentRunId,
          log,
        });
        results[index].runId = submitted.runId;
        running.add(submitted);
        results[index].ok = await submitted.wait();
        running.delete(submitted);
      } catch (error) {
        results[index].error = (error as Error).message;
        log(
          `=== Sweep trial ${index + 1} (${JSON.stringify(trials[index])}) failed: ${(error as Error).message} ===`,
        );
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(maxParallel, trials.length) }, worker));
    const ok = results.every((r) => r.ok);
    const status = options.signal?.aborted ? 'KILLED' : ok ? 'FINISHED' : 'FAILED';
    await tracking.setTerminated(parentRunId, status);
    log(
      `=== Sweep '${parentRunId}' ended ${status}: ${results.filter((r) => r.ok).length}/${trials.length} trial(s) succeeded ===`,
    );
    return { parentRunId, trials: results, ok: ok && !options.signal?.aborted };
  } finally {
    await tracking.close();
  }
}
