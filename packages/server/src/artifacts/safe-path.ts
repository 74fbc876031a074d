import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { MlflowError } from '../entities/errors.js';

// Every artifact path that arrives from a request passes through here before it touches storage. A path
// is relative, '/'-separated and stays below the repository's root: nothing outside the root is ever
// read, written, listed or deleted.

/** Name of the folder (at a local repository's root) that holds uploads until they are complete. */
export const UPLOAD_TEMP_DIR = '.mlflow-ts-uploads';

/** The error MLflow raises for an unsafe path. */
export function invalidPath(): MlflowError {
  return MlflowError.invalidParameter('Invalid path');
}

/** Decodes percent-escapes until the text stops changing, as MLflow does before checking a path. */
function fullyDecoded(text: string): string | undefined {
  let current = text;
  for (let i = 0; i < 10; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      // A lone '%' is an ordinary character in a file name.
      return current;
    }
    if (next === current) return current;
    current = next;
  }
  return undefined;
}

/** True when a form of the path contains something that could leave the root or confuse a filesystem. */
function unsafe(form: string, allowTrailingSlash: boolean): boolean {
  // Control characters (NUL included), backslashes (a separator on Windows) and '#' (a URI fragment).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what is refused
  if (/[\u0000-\u001f\u007f\\#]/.test(form)) return true;
  if (form.startsWith('/') || /^[A-Za-z]:/.test(form)) return true;
  if (form.startsWith('file:')) return true;
  const body = allowTrailingSlash && form.endsWith('/') ? form.slice(0, -1) : form;
  if (body === '') return false;
  return body.split('/').some((segment) => segment === '' || segment === '..');
}

export interface SafePathOptions {
  /** Whether the empty path (the root itself) is acceptable, as it is for listing. */
  allowRoot?: boolean;
}

/**
 * Checks a relative artifact path (already URL-decoded once, as the HTTP layer gives it) and returns it
 * normalised: no '.' segments, no trailing '/'. Refused with INVALID_PARAMETER_VALUE "Invalid path":
 * '..' segments, absolute and drive paths, file: URIs, backslashes, doubled separators, control
 * characters including NUL, '#', and any of these hidden behind further percent-encoding (%2e%2e%2f,
 * %252f...). The root itself ('' or '.') is refused unless allowRoot.
 */
export function safeArtifactPath(raw: string, options: SafePathOptions = {}): string {
  const decoded = fullyDecoded(raw);
  if (decoded === undefined || unsafe(raw, true) || unsafe(decoded, true)) throw invalidPath();
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  // Uploads in progress live in this folder; it is not part of any artifact tree.
  if (segments[0] === UPLOAD_TEMP_DIR) throw invalidPath();
  const normalised = segments.join('/');
  if (normalised === '' && !options.allowRoot) throw invalidPath();
  return normalised;
}

/** True when `child` is `parent` or lies below it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Where `target` (absolute, lexically inside `realRoot`) really is after following symlinks: its
 * realpath, or when it does not exist yet, the realpath of its nearest existing ancestor joined with
 * the missing names. Throws "Invalid path" when a symlink leads outside the root.
 */
export async function realLocationInside(realRoot: string, target: string): Promise<string> {
  let probe = target;
  const missing: string[] = [];
  for (;;) {
    let real: string | undefined;
    try {
      real = await realpath(probe);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    if (real !== undefined) {
      if (!isInside(realRoot, real)) throw invalidPath();
      return path.join(real, ...missing);
    }
    const parent = path.dirname(probe);
    if (parent === probe || !isInside(realRoot, parent)) throw invalidPath();
    missing.unshift(path.basename(probe));
    probe = parent;
  }
}

/** The object or blob name of a checked relative path under a store prefix ('' is the prefix itself). */
export function keyUnderPrefix(prefix: string, rel: string): string {
  return prefix && rel ? `${prefix}/${rel}` : prefix || rel;
}
