// Who is signed in: loaded once from users/current, changed by signing in or out. On a server
// without sign-in (no --app-name basic-auth) the endpoint does not exist and the state is 'open'.
import { useSyncExternalStore } from 'react';
import { MlflowError, request, whenUnauthenticated } from './api';

export interface SessionUser {
  username: string;
  is_admin: boolean;
}

export interface SignInMethods {
  oidc?: { provider_name: string };
}

export type Session =
  | { state: 'loading' }
  | { state: 'open' }
  | { state: 'signed-out'; methods: SignInMethods }
  | { state: 'signed-in'; user: SessionUser; methods: SignInMethods };

let session: Session = { state: 'loading' };
const listeners = new Set<() => void>();

function set(next: Session): void {
  session = next;
  for (const l of listeners) l();
}

async function methods(): Promise<SignInMethods> {
  const r = await fetch('/auth/config');
  return r.ok ? ((await r.json()) as SignInMethods) : {};
}

/** Asks the server who the caller is (after loading, signing in or out). */
export async function refreshSession(): Promise<void> {
  try {
    const { user } = await request<{ user: SessionUser }>('GET', 'users/current');
    set({ state: 'signed-in', user, methods: await methods() });
  } catch (error) {
    if (error instanceof MlflowError && error.status === 401)
      set({ state: 'signed-out', methods: await methods() });
    else set({ state: 'open' });
  }
}

// A call refused for want of a session (it expired, or was ended elsewhere) shows the sign-in page.
whenUnauthenticated(() => {
  if (session.state === 'signed-in') void refreshSession();
});

export function useSession(): Session {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => session,
  );
}

/** Signs in with a name and password: the server answers with a session cookie. */
export async function signIn(username: string, password: string): Promise<void> {
  const r = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) {
    const body = (await r.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `Sign-in failed (${r.status}).`);
  }
  await refreshSession();
}

export async function signOut(): Promise<void> {
  await fetch('/auth/logout', { method: 'POST' });
  await refreshSession();
}

/** The provider's sign-in, coming back to the page the browser is on. */
export function oidcSignInUrl(): string {
  return `/auth/oidc/login?return_to=${encodeURIComponent(location.pathname + location.search)}`;
}
