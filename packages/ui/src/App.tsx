import { useEffect } from 'react';
import { Link } from './components/Link';
import { SignIn } from './components/SignIn';
import { AdminPage } from './pages/AdminPage';
import { ComparePage } from './pages/ComparePage';
import { ExperimentsPage } from './pages/ExperimentsPage';
import { MetricsPage } from './pages/MetricsPage';
import { ModelPage } from './pages/ModelPage';
import { ModelsPage } from './pages/ModelsPage';
import { ModelVersionPage } from './pages/ModelVersionPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { TracePage } from './pages/TracePage';
import { useRoute } from './router';
import { refreshSession, signOut, useSession } from './session';
import { setTheme, useTheme } from './theme';

function NotFound({ path }: { path: string }) {
  return (
    <main className="page">
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link href="/">Go to the experiments</Link>.
      </p>
    </main>
  );
}

function Page() {
  const route = useRoute();
  const { path } = route;
  if (path === '/' || path === '/experiments') return <ExperimentsPage route={route} />;
  if (path === '/runs') return <RunsPage route={route} />;
  const run = /^\/runs\/([^/]+)$/.exec(path);
  if (run) return <RunPage runId={decodeURIComponent(run[1])} route={route} />;
  const trace = /^\/experiments\/([^/]+)\/traces\/([^/]+)$/.exec(path);
  if (trace)
    return (
      <TracePage
        experimentId={decodeURIComponent(trace[1])}
        traceId={decodeURIComponent(trace[2])}
        route={route}
      />
    );
  if (path === '/compare') return <ComparePage route={route} />;
  if (path === '/metrics') return <MetricsPage route={route} />;
  if (path === '/models') return <ModelsPage route={route} />;
  const model = /^\/models\/([^/]+)$/.exec(path);
  if (model) return <ModelPage name={decodeURIComponent(model[1])} />;
  const version = /^\/models\/([^/]+)\/versions\/([^/]+)$/.exec(path);
  if (version)
    return (
      <ModelVersionPage name={decodeURIComponent(version[1])} version={decodeURIComponent(version[2])} />
    );
  if (path === '/admin') return <AdminPage />;
  return <NotFound path={path} />;
}

/** The signed-in user and sign-out, when the server has sign-in. */
function UserMenu() {
  const session = useSession();
  if (session.state !== 'signed-in') return null;
  return (
    <span className="user-menu">
      {session.user.is_admin ? <Link href="/admin">Admin</Link> : null}
      <span className="muted">Signed in as</span>{' '}
      <strong className="user-name">{session.user.username}</strong>
      <button type="button" className="ghost" onClick={() => void signOut()}>
        Sign out
      </button>
    </span>
  );
}

/** The page, or the sign-in page while nobody is signed in (on a server with sign-in). */
function Content() {
  const session = useSession();
  if (session.state === 'loading') return null;
  if (session.state === 'signed-out') return <SignIn methods={session.methods} />;
  return <Page />;
}

export function App() {
  const theme = useTheme();
  useEffect(() => {
    void refreshSession();
  }, []);
  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          mlflow-ts
        </Link>
        <nav aria-label="Main">
          <Link href="/">Experiments</Link>
          <Link href="/models">Models</Link>
        </nav>
        <span className="spacer" />
        <button
          type="button"
          className="ghost"
          aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <UserMenu />
      </header>
      <div id="content">
        <Content />
      </div>
    </>
  );
}
