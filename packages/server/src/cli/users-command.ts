// `mlflow-ts users` and `mlflow-ts tokens`: an administrator's commands over the users store itself.
//
// They open the users store named by the basic-auth config (MLFLOW_AUTH_CONFIG_PATH's database_uri, or
// --database-uri) rather than calling a server: like `db upgrade`, they work with no server running
// and without an admin's password, so they are the way in when the admin is locked out. Whoever can
// reach that database already holds every account, so they need no further authority. A server over
// a PostgreSQL users store (or with --workers) sees a change on its next request; a lone server over
// an SQLite users store sees it at once for new sign-ins, and a sign-in it cached may last up to 30 s.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { readAuthConfig } from '../auth/auth-config.js';
import { AuthService } from '../auth/auth-service.js';
import { runAsCaller } from '../auth/caller-scope.js';

interface StoreOptions {
  databaseUri?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function days(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of days above 0.');
  return n;
}

function bool(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false.');
}

/** Runs `fn` over the users store, as the operating-system user (whom the audit log names). */
async function withUsersStore<T>(options: StoreOptions, fn: (auth: AuthService) => Promise<T>): Promise<T> {
  const config = readAuthConfig();
  const auth = await AuthService.start({ ...config, databaseUri: options.databaseUri ?? config.databaseUri });
  const actor = { id: 0, username: `cli:${userInfo().username}`, isAdmin: true };
  try {
    return await runAsCaller(actor, () => fn(auth));
  } finally {
    await auth.close();
  }
}

/** A password from --password, or the first line of standard input with --password-stdin. */
function passwordOf(options: { password?: string; passwordStdin?: boolean }): string {
  if (options.passwordStdin) return readFileSync(0, 'utf8').split(/\r?\n/)[0];
  if (options.password !== undefined) return options.password;
  throw new InvalidArgumentError('give the password with --password-stdin (or --password).');
}

function storeCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option(
      '--database-uri <uri>',
      "the users store (default: database_uri of the file at MLFLOW_AUTH_CONFIG_PATH, else MLflow's sqlite:///basic_auth.db)",
    )
    .helpOption('--help', 'show this help');
}

export function usersCommand(): Command {
  const users = storeCommand('users', 'Manage the users of --app-name basic-auth (in the users store).');
  const store = () => users.opts<StoreOptions>();
  users
    .command('list')
    .description('List the users: name, then "admin" for administrators.')
    .action(() =>
      withUsersStore(store(), async (auth) => {
        for (const user of await auth.listUsers()) {
          console.log(user.isAdmin ? `${user.username}\tadmin` : user.username);
        }
      }),
    );
  users
    .command('create')
    .description('Create a user.')
    .argument('<username>')
    .option('--password <password>', 'the password (visible to other local users; prefer --password-stdin)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--admin', 'make the user an administrator')
    .action((username: string, options: { password?: string; passwordStdin?: boolean; admin?: boolean }) =>
      withUsersStore(store(), async (auth) => {
        await auth.createUser(username, passwordOf(options), options.admin ?? false);
        console.log(`Created user ${username}${options.admin ? ' (admin)' : ''}.`);
      }),
    );
  users
    .command('set-password')
    .description("Change a user's password.")
    .argument('<username>')
    .option('--password <password>', 'the new password (prefer --password-stdin)')
    .option('--password-stdin', 'read the new password from the first line of standard input')
    .action((username: string, options: { password?: string; passwordStdin?: boolean }) =>
      withUsersStore(store(), async (auth) => {
        await auth.updatePassword(username, passwordOf(options));
        console.log(`Changed the password of ${username}.`);
      }),
    );
  users
    .command('set-admin')
    .description('Make a user an administrator (true) or not (false).')
    .argument('<username>')
    .argument('<is_admin>', 'true or false', bool)
    .action((username: string, isAdmin: boolean) =>
      withUsersStore(store(), async (auth) => {
        await auth.updateAdmin(username, isAdmin);
        console.log(`${username} is ${isAdmin ? 'now' : 'no longer'} an administrator.`);
      }),
    );
  users
    .command('delete')
    .description('Delete a user with their permissions and access tokens.')
    .argument('<username>')
    .action((username: string) =>
      withUsersStore(store(), async (auth) => {
        await auth.deleteUser(username);
        console.log(`Deleted user ${username}.`);
      }),
    );
  return users;
}

export function tokensCommand(): Command {
  const tokens = storeCommand('tokens', "Manage users' access tokens (in the users store).");
  const store = () => tokens.opts<StoreOptions>();
  tokens
    .command('create')
    .description(
      'Create an access token for a user; prints the token (shown only this once) on standard output.',
    )
    .argument('<username>')
    .requiredOption('--name <name>', 'a name for the token, unique among the user’s tokens')
    .option('--expires-in-days <days>', 'lifetime in days (default 30, at most 366)', days)
    .action((username: string, options: { name: string; expiresInDays?: number }) =>
      withUsersStore(store(), async (auth) => {
        const now = Date.now();
        const expiry =
          options.expiresInDays === undefined ? undefined : Math.round(now + options.expiresInDays * DAY_MS);
        const { token, access_token } = await auth.createToken(username, options.name, expiry, now);
        console.error(
          `Created token ${access_token.name} for ${username}, valid until ${new Date(access_token.expiration_time).toISOString()}.`,
        );
        console.log(token);
      }),
    );
  tokens
    .command('list')
    .description("List a user's tokens: name, creation and expiry times (the secrets are not kept).")
    .argument('<username>')
    .action((username: string) =>
      withUsersStore(store(), async (auth) => {
        const now = Date.now();
        for (const t of await auth.listTokens(username)) {
          const expiry = new Date(t.expiration_time).toISOString();
          console.log(
            `${t.name}\t${new Date(t.creation_time).toISOString()}\t${expiry}${t.expiration_time <= now ? '\texpired' : ''}`,
          );
        }
      }),
    );
  tokens
    .command('revoke')
    .description("Revoke (delete) one of a user's tokens.")
    .argument('<username>')
    .argument('<name>')
    .action((username: string, name: string) =>
      withUsersStore(store(), async (auth) => {
        await auth.deleteToken(username, name);
        console.log(`Revoked token ${name} of ${username}.`);
      }),
    );
  return tokens;
}
