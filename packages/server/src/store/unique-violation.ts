// A name checked free and then inserted can still clash: another server process (or --workers process)
// may insert the same name between the check and this insert, on PostgreSQL where both transactions
// run at once. The database's unique index refuses the second; this turns that refusal into MLflow's
// RESOURCE_ALREADY_EXISTS instead of an internal error.
import { MlflowError } from '../entities/errors.js';

/** A unique-constraint violation from either driver. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Runs `write`; a unique-constraint violation becomes RESOURCE_ALREADY_EXISTS with `message`. */
export async function orAlreadyExists<T>(write: Promise<T>, message: string): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isUniqueViolation(error)) throw new MlflowError('RESOURCE_ALREADY_EXISTS', message);
    throw error;
  }
}
