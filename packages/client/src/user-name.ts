// The user a run is recorded as (tag mlflow.user), found the way MLflow finds it with Python's
// getpass.getuser(): the login environment variables first, then the OS account of the process.

import { environment, platform } from './platform.js';

/** getpass.getuser's variables, in its order. */
const USER_VARIABLES = ['LOGNAME', 'USER', 'LNAME', 'USERNAME'] as const;

/** The user name, or undefined where there is none (a browser, an account without a name). */
export function currentUserName(env = environment()): string | undefined {
  for (const name of USER_VARIABLES) {
    const value = env[name];
    if (value) return value;
  }
  return platform().accountName?.();
}
