import { useCallback, useState } from 'react';
import { api, type Deployment } from '../api';
import { EnvTable } from '../components/EnvTable';
import { DomainsPanel } from '../components/DomainsPanel';
import { Link, navigate } from '../router';
import { useResource } from '../lib/useResource';
import { parseTime, repoLabel } from '../lib/format';
import { DeploymentRow } from '../components/DeploymentRow';
import { CopyButton, EmptyState, ErrorMessage, Skeleton, SkeletonRows, Toast, useDocumentTitle, useNow } from '../components/ui';
import { anyActive, POLL_MS } from './DeploymentsPage';

export function ProjectPage({ name }: { name: string }) {
  useDocumentTitle(name);
  const proj = useResource((signal) => api.getProject(name, signal), [name]);
  const [tokens, setTokens] = useState<string[]>(['']);
  const pageToken = tokens[tokens.length - 1];
  const deps = useResource((signal) => api.projectDeployments(name, pageToken, signal), [name, pageToken], {
    pollMs: (p) => (anyActive(p) ? POLL_MS : null),
  });
  const now = useNow(10_000);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState('');
  const [toast, setToast] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const clearToast = useCallback(() => setToast(null), []);

  const p = proj.data;
  if (proj.error && !p) {
    const notFound = (proj.error as { status?: number }).status === 404;
    return (
      <div className="space-y-4">
        <Link to="/projects">← Projects</Link>
        <ErrorMessage
          title={notFound ? 'Project not found' : 'Could not load the project.'}
          error={notFound ? new Error(`There is no project named “${name}”.`) : proj.error}
          onRetry={notFound ? undefined : proj.reload}
        />
      </div>
    );
  }

  const act = async (key: string, fn: () => Promise<unknown>, ok: string) => {
    setBusy(key);
    setActionError('');
    try {
      const msg = await fn();
      setToast(typeof msg === 'string' ? msg : ok);
      proj.reload();
      deps.reload();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const liveId = p?.liveDeploymentId;
  const list = deps.data?.deployments ?? [];
  const live = list.find((d) => d.id === liveId);
  const isLive = (d: Deployment) => (liveId ? d.id === liveId : !!d.live);

  const rollbackButton = (d: Deployment) => {
    if (d.status !== 'succeeded' || isLive(d)) return null;
    const older = live ? (parseTime(d.createdAt) ?? 0) < (parseTime(live.createdAt) ?? 0) : true;
    return (
      <button
        type="button"
        className="btn btn-sm whitespace-nowrap"
        disabled={busy !== null}
        onClick={() => act(`rb-${d.id}`, () => api.rollback(name, d.id), `${d.id} is now live.`)}
        data-testid="rollback-button"
        data-id={d.id}
      >
        {busy === `rb-${d.id}` ? 'Switching…' : older ? 'Roll back to this' : 'Promote'}
      </button>
    );
  };

  return (
    <div className="space-y-5" data-testid="project-page" data-name={name}>
      <Link to="/projects" className="text-sm">
        ← Projects
      </Link>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold break-all">{name}</h1>
          {p ? (
            <p className="mt-1 text-sm text-slate-600">
              <span className="font-mono">{repoLabel(p.repoUrl)}</span> · production branch <span className="font-mono">{p.productionBranch}</span>
            </p>
          ) : (
            <Skeleton className="mt-2 h-4 w-64" />
          )}
        </div>
        {p && (
          <div className="flex flex-wrap gap-2">
            <button type="button" className="btn btn-primary" disabled={busy !== null} data-testid="deploy-now"
              onClick={() => act('deploy', async () => {
                const a = await api.deployProject(name);
                return `Deployment ${a.id} started.`;
              }, 'Deployment started.')}>
              {busy === 'deploy' ? 'Starting…' : 'Deploy now'}
            </button>
            <button type="button" className="btn" disabled={busy !== null || !p.watch.enabled} data-testid="poll-now"
              title={p.watch.enabled ? 'Check the production branch for new commits now' : 'Watching is off for this project'}
              onClick={() => act('poll', () => api.pollProject(name), 'Checking for new commits…')}>
              {busy === 'poll' ? 'Polling…' : 'Poll now'}
            </button>
            {p.watch.enabled && (
              <button type="button" className="btn" disabled={busy !== null} data-testid="pause-toggle" aria-pressed={!!p.watch.paused}
                onClick={() =>
                  p.watch.paused
                    ? act('pause', () => api.resumeProject(name), 'Watching resumed.')
                    : act('pause', () => api.pauseProject(name), 'Watching paused.')
                }>
                {p.watch.paused ? 'Resume watching' : 'Pause watching'}
              </button>
            )}
            <Link to={`/projects/${encodeURIComponent(name)}/edit`} className="btn" data-testid="edit-project">
              Edit
            </Link>
            {!confirmDelete ? (
              <button type="button" className="btn btn-danger" onClick={() => setConfirmDelete(true)} data-testid="delete-project">
                Delete
              </button>
            ) : (
              <span className="flex items-center gap-2 rounded-md border border-red-200 bg-red-50 px-2 py-1 text-sm" role="group" aria-label="Confirm deletion">
                Delete {name}?
                <button type="button" className="btn btn-sm btn-danger" autoFocus disabled={busy !== null}
                  onClick={async () => {
                    setBusy('delete');
                    try {
                      await api.deleteProject(name);
                      navigate('/projects');
                    } catch (e) {
                      setActionError((e as Error).message);
                      setBusy(null);
                    }
                  }}
                  data-testid="delete-confirm">
                  Delete
                </button>
                <button type="button" className="btn btn-sm" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </span>
            )}
          </div>
        )}
      </div>

      {actionError && <ErrorMessage error={actionError} />}

      <div className="grid gap-4 sm:grid-cols-3">
        <section className="card p-4 sm:col-span-2" aria-labelledby="live-h">
          <h2 id="live-h" className="text-sm font-semibold text-slate-500">
            Live URL
          </h2>
          {!p ? (
            <Skeleton className="mt-2 h-5 w-full" />
          ) : (
            <div className="mt-1 flex items-center gap-2">
              {p.liveDeploymentId ? (
                <a href={p.url} target="_blank" rel="noreferrer" className="min-w-0 truncate text-lg font-medium" data-testid="project-url">
                  {p.url}
                </a>
              ) : (
                <span className="text-slate-500" data-testid="project-url-none">
                  Not deployed yet — {p.url}
                </span>
              )}
              <CopyButton text={p.url} testId="copy-project-url" />
            </div>
          )}
          {p?.liveDeploymentId && (
            <p className="mt-1 text-xs text-slate-500">
              Serving{' '}
              <Link to={`/deployments/${encodeURIComponent(p.liveDeploymentId)}`} className="font-mono" data-testid="live-deployment-link">
                {p.liveDeploymentId}
              </Link>
            </p>
          )}
        </section>
        <section className="card p-4" aria-labelledby="watch-h">
          <h2 id="watch-h" className="text-sm font-semibold text-slate-500">
            Watching
          </h2>
          {p ? (
            <p className="mt-1 text-sm" data-testid="watch-state">
              {!p.watch.enabled
                ? 'Off'
                : p.watch.paused
                  ? 'Paused'
                  : `Every ${p.watch.interval}${p.watch.previews ? ', with branch previews' : ''}`}
            </p>
          ) : (
            <Skeleton className="mt-2 h-5 w-32" />
          )}
        </section>
      </div>

      {p && <DomainsPanel project={name} />}

      {p && (
        <section className="card" aria-labelledby="env-h">
          <h2 id="env-h" className="border-b border-slate-100 px-4 py-3 font-semibold">
            Environment variables
          </h2>
          <EnvTable env={p.env} />
        </section>
      )}

      <section className="card" aria-labelledby="history-h">
        <h2 id="history-h" className="border-b border-slate-100 px-4 py-3 font-semibold">
          Deployments
        </h2>
        {deps.error && !deps.data ? (
          <div className="p-4">
            <ErrorMessage error={deps.error} onRetry={deps.reload} />
          </div>
        ) : !deps.data ? (
          <SkeletonRows rows={3} />
        ) : list.length === 0 ? (
          <EmptyState title="No deployments yet.">Use “Deploy now” to deploy the production branch.</EmptyState>
        ) : (
          <ul className="divide-y divide-slate-100" data-testid="project-deployments">
            {list.map((d) => (
              <DeploymentRow key={d.id} d={{ ...d, live: isLive(d) }} now={now} showProject={false} actions={rollbackButton(d)} testId="project-deployment-row" />
            ))}
          </ul>
        )}
        {(tokens.length > 1 || deps.data?.nextPageToken) && (
          <nav className="flex items-center justify-between border-t border-slate-100 px-4 py-2" aria-label="Pagination">
            <button type="button" className="btn btn-sm" disabled={tokens.length < 2} onClick={() => setTokens((t) => t.slice(0, -1))}>
              ← Newer
            </button>
            <button type="button" className="btn btn-sm" disabled={!deps.data?.nextPageToken} onClick={() => deps.data?.nextPageToken && setTokens((t) => [...t, deps.data!.nextPageToken])}>
              Older →
            </button>
          </nav>
        )}
      </section>
      <Toast message={toast} onDone={clearToast} />
    </div>
  );
}
