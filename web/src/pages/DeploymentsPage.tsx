import { useState } from 'react';
import { api, type DeploymentList } from '../api';
import { navigate } from '../router';
import { useResource } from '../lib/useResource';
import { DeploymentRow } from '../components/DeploymentRow';
import { EmptyState, ErrorMessage, SkeletonRows, useDocumentTitle, useNow } from '../components/ui';
import { NewDeploymentForm } from './NewDeploymentForm';

const STATUSES = ['running', 'needs_attention', 'succeeded', 'failed', 'canceled'] as const;
export const POLL_MS = 2500;

export const anyActive = (p: DeploymentList) =>
  p.deployments.some((d) => d.status === 'running' || d.status === 'queued' || d.status === 'needs_attention');

export function DeploymentsPage() {
  useDocumentTitle('Deployments');
  const [project, setProject] = useState('');
  const [status, setStatus] = useState('');
  // Page tokens of the pages seen so far; the last one is the current page.
  const [tokens, setTokens] = useState<string[]>(['']);
  const [showForm, setShowForm] = useState(false);
  const pageToken = tokens[tokens.length - 1];

  const list = useResource(
    (signal) => api.listDeployments({ project, status, pageToken }, signal),
    [project, status, pageToken],
    { pollMs: (p) => (anyActive(p) ? POLL_MS : null) },
  );
  const projects = useResource((signal) => api.listProjects(signal), [], { refetchOnFocus: false });
  const now = useNow(10_000);
  const names = projects.data?.projects.map((p) => p.name) ?? [];

  const resetPaging = () => setTokens(['']);

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Deployments</h1>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => setShowForm((s) => !s)}
          aria-expanded={showForm}
          aria-controls="new-deployment"
          data-testid="new-deployment-toggle"
        >
          {showForm ? 'Close' : '+ New deployment'}
        </button>
      </div>

      {showForm && (
        <div id="new-deployment">
          <NewDeploymentForm
            projects={names}
            onCreated={(a) => navigate(`/deployments/${encodeURIComponent(a.id)}`)}
            onCancel={() => setShowForm(false)}
          />
        </div>
      )}

      <div className="flex flex-wrap items-end gap-3" role="group" aria-label="Filters">
        <div>
          <label htmlFor="filter-project" className="block text-xs font-medium text-slate-600">
            Project
          </label>
          <select
            id="filter-project"
            className="input mt-1 w-48"
            value={project}
            onChange={(e) => {
              setProject(e.target.value);
              resetPaging();
            }}
            data-testid="filter-project"
          >
            <option value="">All projects</option>
            {project && !names.includes(project) && <option value={project}>{project}</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-status" className="block text-xs font-medium text-slate-600">
            Status
          </label>
          <select
            id="filter-status"
            className="input mt-1 w-40"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              resetPaging();
            }}
            data-testid="filter-status"
          >
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {(s[0].toUpperCase() + s.slice(1)).replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        {list.data && anyActive(list.data) && (
          <span className="pb-2 text-xs text-slate-500" aria-live="polite">
            Updating live…
          </span>
        )}
      </div>

      <section className="card" aria-label="Deployments" aria-busy={list.loading}>
        {list.error && !list.data ? (
          <div className="p-4">
            <ErrorMessage error={list.error} onRetry={list.reload} title="Could not load deployments." />
          </div>
        ) : !list.data ? (
          <SkeletonRows />
        ) : list.data.deployments.length === 0 ? (
          <EmptyState title={project || status ? 'No deployments match these filters.' : 'No deployments yet.'}>
            {project || status ? (
              <button
                type="button"
                className="btn mt-2"
                onClick={() => {
                  setProject('');
                  setStatus('');
                  resetPaging();
                }}
              >
                Clear filters
              </button>
            ) : (
              'Deploy a Git repository with “New deployment”.'
            )}
          </EmptyState>
        ) : (
          <ul className="divide-y divide-slate-100" data-testid="deployments-list">
            {list.data.deployments.map((d) => (
              <DeploymentRow key={d.id} d={d} now={now} />
            ))}
          </ul>
        )}
        {list.error && list.data ? (
          <p className="border-t border-slate-100 px-4 py-2 text-xs text-red-700" role="alert">
            Live updates paused: {(list.error as Error).message}
          </p>
        ) : null}
      </section>

      <nav className="flex items-center justify-between" aria-label="Pagination">
        <button type="button" className="btn" disabled={tokens.length < 2} onClick={() => setTokens((t) => t.slice(0, -1))} data-testid="page-prev">
          ← Newer
        </button>
        <span className="text-xs text-slate-500">Page {tokens.length}</span>
        <button
          type="button"
          className="btn"
          disabled={!list.data?.nextPageToken}
          onClick={() => list.data?.nextPageToken && setTokens((t) => [...t, list.data!.nextPageToken])}
          data-testid="page-next"
        >
          Older →
        </button>
      </nav>
    </div>
  );
}
