// A repository is one entity's persistence split by type into `reads` and `writes`. Where a method lives
// decides where it runs (on an SQLite file every write goes to the writer thread), so the split is
// declared once, by the code itself, and a new write method cannot be left on the reading side.
import type { ReadOnlyDatabase, StoreDatabase, WriteOnlyDatabase } from './database.js';

/**
 * The shape required of a writes object: every public member a method that runs its own write
 * transaction and returns a promise. Its arguments and result may cross to the writer thread, so
 * they are plain data (structured clones). Its helpers are #private (off the prototype, so never
 * forwarded) or module functions, as are the helpers that other repositories' writes call with their
 * transaction.
 */
export type WriteMethods<W> = {
  [K in keyof W]: W[K] extends (...args: never[]) => Promise<unknown> ? W[K] : never;
};

export interface Repository<R extends object = object, W extends WriteMethods<W> = object> {
  /** Queries, over a view of the database that has no writer (readView). */
  readonly reads: R;
  /** One write transaction per method, over a view that has no reader (writeView). */
  readonly writes: W;
}

/** A store's repositories by name. */
export type RepositorySet = { readonly [name: string]: Repository };

/** The database as a repository's reads see it, at run time too: no writer to reach. */
export function readView(database: StoreDatabase): ReadOnlyDatabase {
  const { dialect, reader, historyReaders } = database;
  return historyReaders ? { dialect, reader, historyReaders } : { dialect, reader };
}

/**
 * The database as a repository's writes see it: only write transactions, so what a write checks and
 * what it changes are read and written in one transaction.
 */
export function writeView(database: StoreDatabase): WriteOnlyDatabase {
  return { dialect: database.dialect, writer: database.writer };
}

// Per prototype: the writer thread looks a method up on every write it is sent.
const namesByPrototype = new WeakMap<object, ReadonlySet<string>>();

/** The names of the methods `object` has from its class and the classes that class extends. */
export function methodNames(object: object): string[] {
  return [...prototypeMethods(object)];
}

function prototypeMethods(object: object): ReadonlySet<string> {
  const first = Object.getPrototypeOf(object) as object | null;
  const known = first && namesByPrototype.get(first);
  if (known) return known;
  const names = new Set<string>();
  for (
    let proto: object | null = Object.getPrototypeOf(object);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof Reflect.get(proto, name) === 'function') names.add(name);
    }
  }
  if (first) namesByPrototype.set(first, names);
  return names;
}

/** Sends a write method's call elsewhere (the writer thread) and settles with its result there. */
export type SendWrite = (method: string, args: unknown[]) => Promise<unknown>;

/**
 * `writes` with each of its methods replaced by a call through `send`. The names come from the object
 * itself, so every write method goes, whichever ones a later change adds.
 */
export function forwardedWrites<W extends object>(writes: W, send: SendWrite): W {
  const forwarded: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of methodNames(writes)) forwarded[name] = (...args) => send(name, args);
  return forwarded as W;
}

/** Calls write method `method` of `writes` (on the writer thread, for a message from the reading side). */
export function callWrite(writes: object, method: string, args: unknown[]): Promise<unknown> {
  const fn: unknown = prototypeMethods(writes).has(method) ? Reflect.get(writes, method) : undefined;
  if (typeof fn !== 'function') return Promise.reject(new Error(`no write method ${method}`));
  return Promise.resolve(fn.apply(writes, args));
}

/** `set` with the writes of each repository passed through `wrap` (reads stay as they are). */
export function mapWrites<S extends RepositorySet>(
  set: S,
  wrap: (repository: string, writes: object) => object,
): S {
  const out: Record<string, Repository> = {};
  for (const [name, repository] of Object.entries(set)) {
    out[name] = { reads: repository.reads, writes: wrap(name, repository.writes) };
  }
  return out as S;
}
