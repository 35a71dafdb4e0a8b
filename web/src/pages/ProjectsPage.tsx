import { api } from '../api';
import { Link } from '../router';
import { useResource } from '../lib/useResource';
import { repoLabel, timeAgo } from '../lib/format';
import { EmptyState, ErrorMessage, SkeletonRows, useDocumentTitle } from '../components/ui';

export function ProjectsPage() {
  useDocumentTitle('Projects');
  const res = useResource((signal) => api.listProjects(signal), []);
  const projects = res.data?.projects;
  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Projects</h1>
        <Link to="/projects/new" className="btn btn-primary" data-testid="new-project-link">
          + New project
        </Link>
      </div>
      <section className="card" aria-label="Projects" aria-busy={res.loading}>
        {res.error && !projects ? (
          <div className="p-4">
            <ErrorMessage error={res.error} onRetry={res.reload} title="Could not load projects." />
          </div>
        ) : !projects ? (
          <SkeletonRows rows={3} />
        ) : projects.length === 0 ? (
          <EmptyState title="No projects yet.">
            A project keeps a live URL for a repository’s production branch, watches it for new commits and lets you roll back.
            <div className="mt-3">
              <Link to="/projects/new" className="btn">
                Create a project
              </Link>
            </div>
          </EmptyState>
        ) : (
          <ul className="divide-y divide-slate-100" data-testid="projects-list">
            {projects.map((p) => (
              <li key={p.name} className="flex flex-col gap-1 px-4 py-3 sm:flex-row sm:items-center sm:gap-4" data-testid="project-row" data-name={p.name}>
                <div className="min-w-0 flex-1">
                  <Link to={`/projects/${encodeURIComponent(p.name)}`} className="font-medium" data-testid="project-link">
                    {p.name}
                  </Link>
                  <p className="truncate text-xs text-slate-500">
                    <span className="font-mono">{repoLabel(p.repoUrl)}</span> · <span className="font-mono">{p.productionBranch}</span>
                  </p>
                </div>
                <div className="text-xs text-slate-500 sm:w-40">
                  {!p.watch.enabled ? 'Not watching' : p.watch.paused ? 'Watching paused' : `Watching every ${p.watch.interval}`}
                </div>
                <div className="text-xs text-slate-500 sm:w-24">Updated {timeAgo(p.updatedAt)}</div>
                <div className="min-w-0 sm:w-60 sm:text-right">
                  {p.liveDeploymentId ? (
                    <a href={p.url} target="_blank" rel="noreferrer" className="truncate text-sm">
                      {p.url.replace(/^https?:\/\//, '').replace(/\/$/, '')}
                    </a>
                  ) : (
                    <span className="text-xs text-slate-400">Not deployed yet</span>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
