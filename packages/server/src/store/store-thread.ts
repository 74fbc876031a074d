import { Worker } from 'node:worker_threads';

/**
 * Starts the worker thread whose module is `name` (without extension) beside the calling module
 * `base` (its import.meta.url). Run from TypeScript source (the tests, under tsx), the thread loads
 * its module through tsx too; from the build, the compiled .js directly.
 */
export function startStoreThread(name: string, base: string, workerData: unknown): Worker {
  if (base.endsWith('.ts')) {
    const script = new URL(`./${name}.ts`, base).href;
    return new Worker(
      `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(script)}, ${JSON.stringify(base)}))`,
      { eval: true, workerData },
    );
  }
  return new Worker(new URL(`./${name}.js`, base), { workerData });
}
