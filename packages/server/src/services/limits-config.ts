// Reads the quotas a server enforces: a YAML or JSON file (--limits) and MLFLOW_TS_LIMIT_<NAME>
// environment variables; anything malformed stops start-up with a message saying what.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LIMIT_NAMES, type LimitName, type ResourceLimits } from '../entities/resource-limits.js';

/** A limits file or variable the server refuses to start with. */
export class LimitsConfigError extends Error {}

function envName(name: LimitName): string {
  return `MLFLOW_TS_LIMIT_${name.toUpperCase()}`;
}

function checkValue(value: unknown, where: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new LimitsConfigError(
      `${where} must be a whole number of 0 or more; got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

/** The limits of `file` (when given), with those it leaves out taken from the environment. */
export function readLimits(file?: string, env: NodeJS.ProcessEnv = process.env): ResourceLimits {
  const limits: ResourceLimits = {};
  if (file !== undefined) {
    let parsed: unknown;
    try {
      // yaml is required here, not imported, so that a server started without --limits does not load it.
      const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
      parsed = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new LimitsConfigError(`could not read the limits file ${file}: ${(error as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new LimitsConfigError(`the limits file ${file} must hold a mapping of limit names to numbers.`);
      }
      for (const [key, value] of Object.entries(parsed)) {
        if (!(LIMIT_NAMES as readonly string[]).includes(key)) {
          throw new LimitsConfigError(
            `${key} (in ${file}) is not a limit; the limits are: ${LIMIT_NAMES.join(', ')}.`,
          );
        }
        limits[key as LimitName] = checkValue(value, `${key} (in ${file})`);
      }
    }
  }
  for (const name of LIMIT_NAMES) {
    const value = env[envName(name)];
    if (limits[name] === undefined && value !== undefined && value !== '') {
      limits[name] = checkValue(value, envName(name));
    }
  }
  return limits;
}
