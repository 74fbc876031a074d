// What the client needs from its runtime beyond fetch. The browser entry (index.ts) leaves these unset;
// the Node entry (node.ts) fills them in with node:fs and friends, so that browser bundles never see a
// Node import.

/** A request body that can be produced again for a retry (a stream can only be read once). */
export type BodySource = () => BodyInit | Promise<BodyInit>;

export interface LocalFile {
  /** Path relative to the directory being uploaded, with forward slashes. */
  relativePath: string;
  absolutePath: string;
}

export interface Platform {
  /** A fetch that skips TLS certificate checks (MLFLOW_TRACKING_INSECURE_TLS). */
  insecureFetch?: () => Promise<typeof fetch>;
  /** Whether a local path is a directory. */
  isDirectory?: (path: string) => Promise<boolean>;
  /** A re-readable upload body for a local file, and its size. */
  fileBody?: (path: string) => Promise<{ body: BodySource; size: number }>;
  /** Every file below a local directory. */
  listFiles?: (dir: string) => Promise<LocalFile[]>;
  /** Writes a response body to a local file (creating parent directories), returning bytes written. */
  writeFile?: (path: string, body: ReadableStream<Uint8Array> | null) => Promise<number>;
  /** Joins local path segments. */
  joinPath?: (...parts: string[]) => string;
  /** A fresh temporary directory. */
  tempDir?: () => Promise<string>;
  /** Runs `hook` once before the process exits normally; returns a function that removes it. */
  onExit?: (hook: () => Promise<void>) => () => void;
  /**
   * A fetch answered by a tracking server inside this process, for a local tracking URI (a path,
   * file:, sqlite:/// or postgresql://); Node only, and only with the mlflow-ts server package installed.
   */
  localFetch?: (trackingUri: string) => Promise<typeof fetch>;
  /** The operating system's name for the account running this process (Node's os.userInfo). */
  accountName?: () => string | undefined;
  /** The environment variables (process.env in Node). */
  env?: () => Record<string, string | undefined>;
}

const current: Platform = {};

export function platform(): Platform {
  return current;
}

/** Installs runtime support; the Node entry calls this once when it is loaded. */
export function setPlatform(support: Platform): void {
  Object.assign(current, support);
}

/** The environment variables, or none in a browser. */
export function environment(): Record<string, string | undefined> {
  if (current.env) return current.env();
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

/** Fails with a message naming what is missing when a Node-only feature is used elsewhere. */
export function need<K extends keyof Platform>(key: K, what: string): NonNullable<Platform[K]> {
  const fn = current[key];
  if (!fn) {
    throw new Error(
      `${what} needs local file access, which this runtime lacks; in Node import '@mlflow-ts/client' (its node entry), in a browser pass Blob/Uint8Array data instead.`,
    );
  }
  return fn as NonNullable<Platform[K]>;
}
