import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { type DialectName, freshStoreUri, REPO_ROOT, tempDir } from './helpers.js';

export const CLI = path.join(REPO_ROOT, 'packages/server/bin/mlflow-ts.js');

export interface ServerProcess {
  url: string;
  artifactsDir: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/**
 * Starts the built `mlflow-ts server` binary as a separate process on a free loopback port over a
 * fresh store of `dialect`, serving artifacts from a temporary directory; resolves once it listens.
 */
export async function startServerProcess(
  dialect: DialectName,
  extraArgs: string[] = [],
): Promise<ServerProcess> {
  const store = await freshStoreUri(dialect);
  const artifacts = tempDir('mlflow-ts-artifacts-');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--backend-store-uri',
      store.uri,
      '--artifacts-destination',
      artifacts.dir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    artifactsDir: artifacts.dir,
    child,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      store.cleanup();
      artifacts.cleanup();
    },
  };
}
