// Who may do what with an experiment or registered model, for those who manage it: the grants,
// a permission changed or revoked in place, and a new grant. Hidden from everyone else (the list
// endpoint refuses them) and on servers without sign-in.
import { type FormEvent, useState } from 'react';
import { MlflowError } from '../api';
import { authApi, PERMISSIONS, type Permission, type PermissionTarget } from '../auth-api';
import { useLoad } from '../lib/use-load';
import { useSession } from '../session';
import { ErrorBox } from './ErrorBox';

export function PermissionsPanel({ target }: { target: PermissionTarget }) {
  const session = useSession();
  const signedIn = session.state === 'signed-in';
  const grants = useLoad(
    () => (signedIn ? authApi.listGrants(target) : Promise.resolve(undefined)),
    [signedIn, target.kind, target.id],
  );
  const [username, setUsername] = useState('');
  const [permission, setPermission] = useState<Permission>('READ');
  const [error, setError] = useState<Error>();
  if (!signedIn) return null;
  if (grants.error instanceof MlflowError && grants.error.status === 403) return null;
  const run = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      grants.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await authApi.grant(target, username.trim(), permission);
      setUsername('');
    });
  };
  return (
    <section className="card permissions" aria-label="Permissions">
      <h2>Permissions</h2>
      <ErrorBox error={error ?? grants.error} />
      <table className="grants-table">
        <thead>
          <tr>
            <th>User</th>
            <th>Permission</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(grants.data ?? []).map((g) => (
            <tr key={g.username}>
              <td>{g.username}</td>
              <td>
                <select
                  aria-label={`Permission of ${g.username}`}
                  value={g.permission}
                  onChange={(e) =>
                    run(() => authApi.change(target, g.username, e.target.value as Permission))
                  }
                >
                  {PERMISSIONS.map((p) => (
                    <option key={p}>{p}</option>
                  ))}
                </select>
              </td>
              <td>
                <button
                  type="button"
                  className="ghost danger"
                  aria-label={`Revoke ${g.username}`}
                  onClick={() => run(() => authApi.revoke(target, g.username))}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={add} className="inline-form" aria-label="Grant a permission">
        <input
          placeholder="user name"
          aria-label="User to grant"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
        <select
          aria-label="Permission to grant"
          value={permission}
          onChange={(e) => setPermission(e.target.value as Permission)}
        >
          {PERMISSIONS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <button type="submit">Grant</button>
      </form>
    </section>
  );
}
