// The sign-in page: a user name and password (a session cookie comes back), and the OpenID Connect
// provider's button when the server has one.
import { type FormEvent, useState } from 'react';
import { oidcSignInUrl, type SignInMethods, signIn } from '../session';

export function SignIn({ methods }: { methods: SignInMethods }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(username, password);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="page sign-in">
      <h1>Sign in</h1>
      {methods.oidc ? (
        <p>
          <a className="button" href={oidcSignInUrl()}>
            Sign in with {methods.oidc.provider_name}
          </a>
        </p>
      ) : null}
      <form onSubmit={submit} aria-label="Sign in with a password">
        <label>
          Username
          <input
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="username"
            required
          />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="current-password"
            required
          />
        </label>
        {error ? (
          <div className="error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
