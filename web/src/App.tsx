import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, auth, onUnauthorized, type Config } from './api';
import { ConfigContext } from './configContext';
import { Link, matchPath, useLocation } from './router';
import { ErrorMessage, Skeleton, useDocumentTitle } from './components/ui';
import { DeploymentsPage } from './pages/DeploymentsPage';
import { DeploymentDetailPage } from './pages/DeploymentDetailPage';
import { ProjectsPage } from './pages/ProjectsPage';
import { ProjectPage } from './pages/ProjectPage';
import { ProjectFormPage } from './pages/ProjectFormPage';


export function App() {
  const [config, setConfig] = useState<Config | null>(null);
  const [configError, setConfigError] = useState<unknown>(null);
  const [needLogin, setNeedLogin] = useState(false);
  const [session, setSession] = useState(0);

  const loadConfig = useCallback(() => {
    setConfigError(null);
    api
      .config()
      .then((c) => {
        setConfig(c);
        if (c.authRequired && !auth.token) setNeedLogin(true);
      })
      .catch((e) => {
        if (e?.status === 401) return; // handled by onUnauthorized
        setConfigError(e);
      });
  }, []);

  useEffect(() => {
    const off = onUnauthorized(() => setNeedLogin(true));
    loadConfig();
    return () => {
      off();
    };
  }, [loadConfig]);

  let body;
  if (needLogin) {
    body = (
      <Login
        onDone={() => {
          setNeedLogin(false);
          setSession((s) => s + 1);
          if (!config) loadConfig();
        }}
      />
    );
  } else if (configError) {
    body = <ErrorMessage title="The dashboard could not load its configuration." error={configError} onRetry={loadConfig} />;
  } else if (!config) {
    body = (
      <div className="space-y-4" role="status" aria-label="Loading">
        <Skeleton className="h-8 w-48" />
        <Skeleton className="h-64 w-full" />
      </div>
    );
  } else {
    body = <Routes key={session} />;
  }

  return (
    <ConfigContext.Provider value={config}>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <Header config={config} showLogout={!!auth.token && !!config?.authRequired} onLogout={() => { auth.set(null); setNeedLogin(true); }} />
      <main id="main" className="mx-auto max-w-6xl px-4 py-6 sm:px-6">
        {body}
      </main>
    </ConfigContext.Provider>
  );
}

function Header({ config, showLogout, onLogout }: { config: Config | null; showLogout: boolean; onLogout: () => void }) {
  const { pathname } = useLocation();
  const projects = pathname.startsWith('/projects');
  const nav = (to: string, label: string, active: boolean) => (
    <Link
      to={to}
      aria-current={active ? 'page' : undefined}
      className={`rounded-md px-3 py-1.5 text-sm font-medium no-underline hover:bg-white/10 hover:no-underline ${active ? 'bg-white/15 text-white' : 'text-slate-300'}`}
      data-testid={`nav-${label.toLowerCase()}`}
    >
      {label}
    </Link>
  );
  return (
    <header className="bg-slate-900 text-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3 sm:px-6">
        <Link to="/" className="flex items-center gap-2 font-semibold text-white no-underline hover:no-underline">
          <img src="/favicon.svg" alt="" className="h-7 w-7" />
          SkyDeploy
        </Link>
        <nav aria-label="Main" className="flex gap-1">
          {nav('/', 'Deployments', !projects)}
          {nav('/projects', 'Projects', projects)}
        </nav>
        <div className="ml-auto flex items-center gap-3 text-xs text-slate-400">
          {config?.baseDomain && <span className="hidden sm:inline">{config.baseDomain}</span>}
          {config?.version && <span>v{config.version.replace(/^v/, '')}</span>}
          {showLogout && (
            <button type="button" onClick={onLogout} className="rounded px-2 py-1 text-slate-300 hover:bg-white/10">
              Sign out
            </button>
          )}
        </div>
      </div>
    </header>
  );
}

function Routes() {
  const { pathname } = useLocation();
  let m: Record<string, string> | null;
  if (matchPath('/', pathname)) return <DeploymentsPage />;
  if ((m = matchPath('/deployments/:id', pathname))) return <DeploymentDetailPage key={m.id} id={m.id} />;
  if (matchPath('/projects', pathname)) return <ProjectsPage />;
  if (matchPath('/projects/new', pathname)) return <ProjectFormPage />;
  if ((m = matchPath('/projects/:name', pathname))) return <ProjectPage key={m.name} name={m.name} />;
  if ((m = matchPath('/projects/:name/edit', pathname))) return <ProjectFormPage key={m.name} name={m.name} />;
  return <NotFound />;
}

function NotFound() {
  useDocumentTitle('Not found');
  return (
    <div className="card p-8 text-center">
      <h1 className="text-xl font-semibold">Page not found</h1>
      <p className="mt-2 text-slate-600">There is nothing at this address.</p>
      <Link to="/" className="btn btn-primary mt-4">
        Go to deployments
      </Link>
    </div>
  );
}

function Login({ onDone }: { onDone: () => void }) {
  useDocumentTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter the API token.');
      return;
    }
    setBusy(true);
    setError('');
    auth.set(t);
    try {
      await api.listProjects();
      onDone();
    } catch (err) {
      if ((err as { status?: number })?.status === 401) {
        auth.set(null);
        setError('That token was not accepted. Check it and try again.');
      } else {
        setError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="card mx-auto mt-10 max-w-md space-y-4 p-6" data-testid="login-form" noValidate>
      <div>
        <h1 className="text-lg font-semibold">Sign in to SkyDeploy</h1>
        <p className="mt-1 text-sm text-slate-600">This gateway requires an API token. It is stored in this browser only.</p>
      </div>
      <div>
        <label htmlFor="api-token" className="block text-sm font-medium text-slate-700">
          API token
        </label>
        <input
          id="api-token"
          type="password"
          autoComplete="current-password"
          className="input mt-1"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={!!error}
          aria-describedby={error ? 'api-token-error' : undefined}
          data-testid="login-token"
        />
        {error && (
          <p id="api-token-error" role="alert" className="mt-1 text-sm text-red-700">
            {error}
          </p>
        )}
      </div>
      <button type="submit" className="btn btn-primary w-full" disabled={busy} data-testid="login-submit">
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
