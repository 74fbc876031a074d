// For admins: the users (create, make admin or not, reset a password, delete) and the audit log.
import { type FormEvent, useState } from 'react';
import { authApi } from '../auth-api';
import { ErrorBox } from '../components/ErrorBox';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/use-load';

function NewUser({ onCreated, onError }: { onCreated(): void; onError(e: Error): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await authApi.createUser(username.trim(), password);
      setUsername('');
      setPassword('');
      onCreated();
    } catch (err) {
      onError(err as Error);
    }
  };
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Create a user">
      <input
        placeholder="user name"
        aria-label="New user name"
        value={username}
        onChange={(e) => setUsername(e.target.value)}
        required
      />
      <input
        type="password"
        placeholder="password (12+ characters)"
        aria-label="New user's password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
      />
      <button type="submit">Create user</button>
    </form>
  );
}

export function AdminPage() {
  const users = useLoad(() => authApi.listUsers(), []);
  const audit = useLoad(() => authApi.auditLog(50), []);
  const [error, setError] = useState<Error>();
  const run = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      users.reload();
      audit.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const resetPassword = (username: string) => {
    const password = prompt(`New password for ${username} (at least 12 characters)`);
    if (password) void run(() => authApi.setPassword(username, password));
  };
  return (
    <main className="page">
      <div className="page-head">
        <h1>Users and audit log</h1>
      </div>
      <ErrorBox error={error ?? users.error} />
      <section className="card" aria-label="Users">
        <h2>Users</h2>
        <table className="admin-table">
          <thead>
            <tr>
              <th>User</th>
              <th>Admin</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => (
              <tr key={u.id}>
                <td>{u.username}</td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${u.username} is an admin`}
                    checked={u.is_admin}
                    onChange={(e) => run(() => authApi.setAdmin(u.username, e.target.checked))}
                  />
                </td>
                <td>
                  <button type="button" className="ghost" onClick={() => resetPassword(u.username)}>
                    Reset password
                  </button>
                  <button
                    type="button"
                    className="ghost danger"
                    aria-label={`Delete ${u.username}`}
                    onClick={() =>
                      confirm(`Delete the user ${u.username}?`) && run(() => authApi.deleteUser(u.username))
                    }
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <NewUser onCreated={() => run(async () => {})} onError={setError} />
      </section>
      <section className="card" aria-label="Audit log">
        <h2>Audit log</h2>
        <ErrorBox error={audit.error} />
        <table className="admin-table">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Did</th>
              <th>What</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {(audit.data ?? []).map((e) => (
              <tr key={e.id}>
                <td>{formatTime(e.timestamp)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>
                  {e.resource_type} {e.resource_id}
                </td>
                <td>{e.details ? JSON.stringify(e.details) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
