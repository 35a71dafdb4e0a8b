import type { ReactNode } from 'react';
import type { Deployment } from '../api';
import { Link } from '../router';
import { between, firstLine, formatDuration, shortSha, timeAgo } from '../lib/format';
import { StatusBadge } from './ui';
import { UploadBadge } from './UploadSource';

export function frameworkLabel(d: Deployment): string {
  return d.plan?.frameworkName || d.plan?.framework || (d.plan?.kind === 'static' ? 'Static' : d.plan?.kind) || '';
}

/** One deployment in a list; `actions` adds buttons on the right. */
export function DeploymentRow({ d, now, showProject = true, actions, testId = 'deployment-row' }: {
  d: Deployment;
  now: number;
  showProject?: boolean;
  actions?: ReactNode;
  testId?: string;
}) {
  const running = d.status === 'running' || d.status === 'queued';
  const dur = d.status === 'queued' ? null : between(d.createdAt, d.finishedAt, now);
  const fw = frameworkLabel(d);
  return (
    <li className="flex flex-col gap-2 px-4 py-3 sm:flex-row sm:items-center sm:gap-4" data-testid={testId} data-id={d.id} data-status={d.status}>
      <div className="flex items-center gap-3 sm:w-44 sm:flex-none">
        <StatusBadge status={d.status} />
        {d.live && (
          <span className="rounded bg-emerald-600 px-1.5 py-0.5 text-[10px] font-bold tracking-wide text-white uppercase" data-testid="live-badge">
            Live
          </span>
        )}
        {d.production && !d.live && <span className="text-[10px] font-semibold tracking-wide text-slate-500 uppercase">Prod</span>}
      </div>
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-baseline gap-x-2">
          <Link to={`/deployments/${encodeURIComponent(d.id)}`} className="font-mono text-sm font-medium" data-testid="deployment-link">
            {d.id}
          </Link>
          {showProject && d.project && (
            <Link to={`/projects/${encodeURIComponent(d.project)}`} className="text-sm text-slate-600">
              {d.project}
            </Link>
          )}
          {fw && <span className="text-xs text-slate-500" data-testid="framework">{fw}</span>}
        </div>
        <div className="mt-0.5 flex min-w-0 items-center gap-2 text-xs text-slate-600">
          <UploadBadge d={d} />
          {d.branch && (
            <span className="max-w-40 truncate rounded bg-slate-100 px-1.5 py-0.5 font-mono" title={d.branch}>
              {d.branch}
            </span>
          )}
          {d.commit && (
            <>
              <span className="font-mono text-slate-500">{shortSha(d.commit.sha)}</span>
              <span className="truncate" title={d.commit.message}>
                {firstLine(d.commit.message)}
              </span>
            </>
          )}
          {!d.commit && !d.branch && !d.upload && <span className="truncate">{d.repoUrl}</span>}
        </div>
      </div>
      <div className="flex items-center gap-4 text-xs text-slate-500 sm:w-32 sm:flex-none sm:flex-col sm:items-end sm:gap-0">
        <time dateTime={d.createdAt} title={new Date(d.createdAt).toLocaleString()}>
          {timeAgo(d.createdAt, now)}
        </time>
        <span className="tabular-nums" title="Duration">
          {running && dur !== null ? `${formatDuration(dur)}…` : formatDuration(dur)}
        </span>
      </div>
      <div className="flex min-w-0 items-center gap-2 sm:w-56 sm:flex-none sm:justify-end">
        {d.status === 'succeeded' && d.url ? (
          <a href={d.url} target="_blank" rel="noreferrer" className="truncate text-sm" data-testid="deployment-url">
            {d.url.replace(/^https?:\/\//, '').replace(/\/$/, '')}
          </a>
        ) : null}
        {actions}
      </div>
    </li>
  );
}
