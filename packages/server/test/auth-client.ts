// Calls to a server with basic auth as a user (`user:password`) or with an access token, for the auth tests.

import path from 'node:path';
import type { ServerConfig } from '../src/server.js';
import { type DialectName, freshPostgresUri, startTestServer, type TestServer } from './helpers.js';

export type Json = Record<string, any>;

export const ADMIN = 'admin:password1234';
export const ALICE = 'alice:alice-password-1';
export const BOB = 'bob:bob-password-123';

/** `user:password` as Basic credentials, or a token as Bearer. */
export function authorization(who: string): string {
  return who.startsWith('mlts_') ? `Bearer ${who}` : `Basic ${Buffer.from(who).toString('base64')}`;
}

export async function as(
  who: string | undefined,
  base: string,
  method: string,
  endpoint: string,
  body?: Json,
) {
  let url = `${base}/${endpoint}`;
  const headers: Record<string, string> = who ? { Authorization: authorization(who) } : {};
  const init: RequestInit = { method, headers };
  if (method === 'GET' && body) url += `?${new URLSearchParams(body)}`;
  else if (body) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: Json = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {}
  return { status: response.status, body: parsed, text };
}

/**
 * A test server with basic auth over a fresh users store of `dialect` (an SQLite file in `dir`), with
 * the admin and the users ALICE and BOB.
 */
export async function startAuthServer(
  dialect: DialectName,
  dir: string,
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const srv = await startTestServer(dialect, {
    auth: {
      defaultPermission: 'READ',
      databaseUri:
        dialect === 'postgres' ? await freshPostgresUri() : `sqlite:///${path.join(dir, 'basic_auth.db')}`,
      adminUsername: 'admin',
      adminPassword: 'password1234',
    },
    ...overrides,
  });
  for (const who of [ALICE, BOB]) {
    const [username, password] = who.split(':');
    const res = await as(ADMIN, srv.api, 'POST', 'users/create', { username, password });
    if (res.status !== 200) throw new Error(`could not create ${username}: ${res.text}`);
  }
  return srv;
}
