import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionError } from './execution-error.js';
import type { EntryPoint, ParameterSpec } from './project-spec.js';

// Parameter values for one entry point run: required ones present, floats numeric, relative uri and
// path values made absolute and remote `path` values fetched to local files. The rules follow MLflow's
// _project_spec.py; float checking is ours (MLflow passes any text through).

/** Fetches a remote URI into `dir` and returns the local path (file or directory) it wrote. */
export type Downloader = (uri: string, dir: string) => Promise<string>;

export interface ResolvedParameters {
  /** Declared parameters, in declaration order: the user's value or the default. */
  declared: Map<string, string>;
  /** Parameters the user gave that the entry point does not declare (appended as --key value). */
  extra: Map<string, string>;
}

/** Throws before anything runs when a declared parameter without default has no value. */
export function checkRequiredParameters(
  entryPoint: EntryPoint,
  user: Readonly<Record<string, string>>,
): void {
  const missing = entryPoint.parameters.filter((p) => !(p.name in user) && p.default === undefined);
  if (missing.length > 0) {
    throw new ExecutionError(
      `No value given for missing parameters: ${missing.map((p) => `'${p.name}'`).join(', ')}`,
    );
  }
}

/** Python's urlparse scheme rule: letters first, then letters, digits, + - . ; then a colon. */
export function uriSchemeOf(value: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  return m ? m[1].toLowerCase() : '';
}

/** A local path for a value without scheme or with file:/// (no host), else undefined (remote). */
export function localPathOf(value: string): string | undefined {
  const scheme = uriSchemeOf(value);
  if (scheme === '') return value;
  if (scheme === 'file') {
    const url = new URL(value);
    if (url.host === '') return fileURLToPath(url);
  }
  return undefined;
}

const FLOAT_TEXT = /^\s*[+-]?(?:(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*\.|inf(?:inity)?|nan)\s*$/i;

function checkFloat(param: ParameterSpec, value: string): void {
  // Python's float() accepts inf/nan and underscores between digits; reject what it rejects.
  if (!FLOAT_TEXT.test(value) || /__|_\.|\._|^_|_$/.test(value.trim())) {
    throw new ExecutionError(
      `Parameter '${param.name}' is of type float, but the value '${value}' is not a number.`,
    );
  }
}

export interface ResolveOptions {
  /**
   * Where remote `path` values are downloaded (one param_<index> folder each); a function is called
   * only when a download needs the folder. Without it, values are only validated, not fetched (what
   * MLflow logs as params).
   */
  storageDir?: string | (() => string);
  download?: Downloader;
  /** Relative paths are resolved against this directory (the caller's working directory). */
  cwd?: string;
}

/**
 * Resolves every declared parameter (value or default) and separates the undeclared ones. Throws
 * ExecutionError for a missing required parameter, a non-numeric float, a uri without scheme, a
 * local path that does not exist, or a failed download.
 */
export async function resolveParameters(
  entryPoint: EntryPoint,
  user: Readonly<Record<string, string>>,
  options: ResolveOptions = {},
): Promise<ResolvedParameters> {
  checkRequiredParameters(entryPoint, user);
  const declared = new Map<string, string>();
  for (const [index, param] of entryPoint.parameters.entries()) {
    const value = param.name in user ? user[param.name] : (param.default as string);
    declared.set(param.name, await computeValue(param, value, index, options));
  }
  const extra = new Map<string, string>();
  for (const [key, value] of Object.entries(user)) {
    if (!declared.has(key)) extra.set(key, value);
  }
  return { declared, extra };
}

/**
 * The values a command on this machine gets, from values resolveParameters checked without options:
 * uri values made absolute, local `path` values checked to exist, remote ones downloaded.
 */
export async function localizeParameters(
  entryPoint: EntryPoint,
  resolved: ResolvedParameters,
  options: ResolveOptions,
): Promise<ResolvedParameters> {
  const declared = new Map<string, string>();
  for (const [index, param] of entryPoint.parameters.entries()) {
    const value = resolved.declared.get(param.name);
    if (value !== undefined) declared.set(param.name, await computeValue(param, value, index, options));
  }
  return { declared, extra: resolved.extra };
}

async function computeValue(param: ParameterSpec, value: string, index: number, options: ResolveOptions) {
  if (param.type === 'float') {
    checkFloat(param, value);
    return value;
  }
  if (param.type === 'uri') {
    // MLflow's docs: relative paths become absolute; anything with a scheme passes through unchanged.
    if (options.storageDir !== undefined && uriSchemeOf(value) === '') {
      return path.resolve(options.cwd ?? process.cwd(), value);
    }
    return value;
  }
  if (param.type === 'path' && options.storageDir !== undefined) {
    const local = localPathOf(value);
    if (local !== undefined) {
      const absolute = path.resolve(options.cwd ?? process.cwd(), local);
      if (!existsSync(absolute)) {
        throw new ExecutionError(
          `Got value ${value} for parameter ${param.name}, but no such file or directory was found.`,
        );
      }
      return absolute;
    }
    if (!options.download) throw new ExecutionError(`Cannot download ${value} for parameter ${param.name}.`);
    const base = typeof options.storageDir === 'function' ? options.storageDir() : options.storageDir;
    const dir = path.join(base, `param_${index}`);
    try {
      return await options.download(value, dir);
    } catch (error) {
      throw new ExecutionError(
        `Could not download ${value} for parameter ${param.name}: ${(error as Error).message}`,
      );
    }
  }
  return value;
}
