import { useCallback, useEffect, useRef, useState } from 'react';
import { api, isTerminal, streamLogs, type Deployment, type LogLine, type Step, type StepState } from '../api';
import { Link, navigate } from '../router';
import { useResource } from '../lib/useResource';
import { between, formatDuration, repoLabel, shortSha, timeAgo } from '../lib/format';
import { LogViewer, toStored, type StoredLine } from '../components/LogViewer';
import { CopyButton, ErrorMessage, Skeleton, StatusBadge, Toast, useDocumentTitle, useNow } from '../components/ui';
import { frameworkLabel } from '../components/DeploymentRow';
import { UploadBadge, uploadSummary } from '../components/UploadSource';

const STEPS: Step[] = ['clone', 'detect', 'upload', 'build', 'publish'];
const STEP_LABEL: Record<Step, string> = { clone: 'Clone', detect: 'Detect', upload: 'Upload', build: 'Build', publish: 'Publish' };

/** Log lines kept in a mutable array; `version` bumps (at most once a frame) when lines arrive. */
function useLogStream(id: string, onStatus: (d: Deployment) => void, onEnd: () => void) {
  const lines = useRef<StoredLine[]>([]);
  const seen = useRef(new Set<string>());
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<'connecting' | 'open' | 'retrying' | 'ended' | 'error'>('connecting');
  const [error, setError] = useState<Error | null>(null);
  const cb = useRef({ onStatus, onEnd });
  cb.current = { onStatus, onEnd };

  useEffect(() => {
    lines.current = [];
    seen.current = new Set();
    let pending = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      pending = false;
      setVersion((v) => v + 1);
    };
    const schedule = () => {
      if (pending) return;
      pending = true;
      timer = setTimeout(flush, 50);
    };
    const close = streamLogs(id, {
      onLog: (l: LogLine) => {
        if (l.id) {
          if (seen.current.has(l.id)) return;
          seen.current.add(l.id);
        }
        lines.current.push(toStored(l));
        schedule();
      },
      onStatus: (d) => cb.current.onStatus(d),
      onEnd: () => {
        setState('ended');
        cb.current.onEnd();
      },
      onState: (s) => setState(s),
      onError: (e) => {
        setError(e);
        setState('error');
      },
    });
    return () => {
      close();
      if (timer) clearTimeout(timer);
    };
  }, [id]);
  return { lines: lines.current, version, state, error };
}

function useLogHeight() {
  const calc = () => Math.max(280, Math.min(720, (typeof window !== 'undefined' ? window.innerHeight : 800) - 260));
  const [h, setH] = useState(calc);
  useEffect(() => {
    const on = () => setH(calc());
    window.addEventListener('resize', on);
    return () => window.removeEventListener('resize', on);
  }, []);
  return h;
}

export function DeploymentDetailPage({ id }: { id: string }) {
  useDocumentTitle(`Deployment ${id}`);
  const dep = useResource((signal) => api.getDeployment(id, signal), [id], {
    pollMs: (d) => (isTerminal(d.status) ? null : 4000),
  });
  const { setData, reload } = dep;
  const onStatus = useCallback((d: Deployment) => setData(() => d), [setData]);
  const log = useLogStream(id, onStatus, reload);
  const d = dep.data;
  const now = useNow(1000, !!d && !isTerminal(d.status));
  const logHeight = useLogHeight();
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState('');
  const [toast, setToast] = useState<string | null>(null);
  const clearToast = useCallback(() => setToast(null), []);
  const token = useResource((signal) => api.tokenInfo(signal), []);
  const canDeploy = token.data?.scope === 'deploy';

  if (dep.error && !d) {
    const notFound = (dep.error as { status?: number }).status === 404;
    return (
      <div className="space-y-4">
        <Link to="/">← All deployments</Link>
        <ErrorMessage
          title={notFound ? 'Deployment not found' : 'Could not load the deployment.'}
          error={notFound ? new Error(`There is no deployment with the id “${id}”. It may have been deleted.`) : dep.error}
          onRetry={notFound ? undefined : reload}
        />
      </div>
    );
  }

  const act = async (name: string, fn: () => Promise<unknown>, ok?: string) => {
    setBusy(name);
    setActionError('');
    try {
      await fn();
      if (ok) setToast(ok);
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const active = d && !isTerminal(d.status);
  const fw = d ? frameworkLabel(d) : '';

  return (
    <div className="space-y-5" data-testid="deployment-detail" data-id={id}>
      <Link to="/" className="text-sm">
        ← All deployments
      </Link>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-3 text-2xl font-semibold">
            <span className="font-mono break-all">{id}</span>
            {d && <StatusBadge status={d.status} testId="deployment-status" />}
            {d?.live && (
              <span className="rounded bg-emerald-600 px-1.5 py-0.5 text-xs font-bold tracking-wide text-white uppercase">Live</span>
            )}
            {d?.resetByOperator && (
              <span
                className="rounded bg-violet-100 px-1.5 py-0.5 text-xs font-medium text-violet-800"
                title="This run was made by a reset in the Temporal UI: same deployment id, run again from the chosen point."
                data-testid="reset-badge"
              >
                Reset by an operator
              </span>
            )}
          </h1>
          {d ? (
            <p className="mt-1 text-sm text-slate-600">
              {d.project && (
                <>
                  <Link to={`/projects/${encodeURIComponent(d.project)}`}>{d.project}</Link>
                  {' · '}
                </>
              )}
              {d.upload ? <UploadBadge d={d} /> : <span className="font-mono">{repoLabel(d.repoUrl)}</span>}
              {d.branch && (
                <>
                  {' · '}
                  <span className="font-mono">{d.branch}</span>
                </>
              )}
              {' · '}
              <time dateTime={d.createdAt}>{timeAgo(d.createdAt, now)}</time>
            </p>
          ) : (
            <Skeleton className="mt-2 h-4 w-72" />
          )}
        </div>
        {d && (
          <div className="flex flex-wrap gap-2">
            {active && (
              <button
                type="button"
                className="btn btn-danger"
                disabled={busy !== null}
                onClick={() => act('cancel', () => api.cancelDeployment(id).then(reload), 'Cancel requested.')}
                data-testid="cancel-button"
              >
                {busy === 'cancel' ? 'Canceling…' : 'Cancel'}
              </button>
            )}
            <button
              type="button"
              className="btn"
              disabled={busy !== null}
              onClick={() => act('redeploy', async () => navigate(`/deployments/${encodeURIComponent((await api.redeploy(id)).id)}`))}
              data-testid="redeploy-button"
            >
              {busy === 'redeploy' ? 'Starting…' : 'Redeploy'}
            </button>
            {d.project && d.status === 'succeeded' && !d.live && (
              <button
                type="button"
                className="btn"
                disabled={busy !== null}
                onClick={() => act('promote', () => api.rollback(d.project!, id).then(reload), `${id} is now live on ${d.project}.`)}
                data-testid="promote-button"
              >
                {busy === 'promote' ? 'Promoting…' : 'Promote to live'}
              </button>
            )}
            {d.temporalUrl && (
              <a href={d.temporalUrl} target="_blank" rel="noreferrer" className="btn" data-testid="temporal-link">
                Open in Temporal UI ↗
              </a>
            )}
          </div>
        )}
      </div>

      {actionError && <ErrorMessage error={actionError} />}
      {d?.status === 'needs_attention' && d.attention && (
        <AttentionPanel
          attention={d.attention}
          canDeploy={canDeploy}
          busy={busy}
          onRetry={() => act('retry', () => api.retryDeployment(id).then(reload), `Retrying step ${d.attention!.step}.`)}
          onAbandon={(reason) => act('abandon', () => api.abandonDeployment(id, reason).then(reload), 'Deployment abandoned.')}
        />
      )}
      {d?.error && (
        <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800" data-testid="deployment-error">
          <span className="font-semibold">Deployment failed: </span>
          {d.error}
        </div>
      )}

      <div className="grid gap-5 lg:grid-cols-[1fr_20rem]">
        <div className="min-w-0 space-y-5 lg:order-2">
          <section className="card p-4" aria-labelledby="url-h">
            <h2 id="url-h" className="text-sm font-semibold text-slate-500">
              URL
            </h2>
            {d ? (
              <div className="mt-1 flex items-center gap-2">
                {d.status === 'succeeded' ? (
                  <a href={d.url} target="_blank" rel="noreferrer" className="min-w-0 truncate font-medium" data-testid="deployment-url">
                    {d.url}
                  </a>
                ) : (
                  <span className="min-w-0 truncate text-slate-500" data-testid="deployment-url-pending" title={d.url}>
                    {d.url}
                  </span>
                )}
                {d.url && <CopyButton text={d.url} label="Copy" testId="copy-url" />}
              </div>
            ) : (
              <Skeleton className="mt-2 h-5 w-full" />
            )}
          </section>

          <section className="card p-4" aria-labelledby="steps-h">
            <h2 id="steps-h" className="text-sm font-semibold text-slate-500">
              Steps
            </h2>
            {d ? <Steps d={d} now={now} /> : <Skeleton className="mt-2 h-32 w-full" />}
          </section>

          <section className="card p-4" aria-labelledby="plan-h">
            <h2 id="plan-h" className="text-sm font-semibold text-slate-500">
              Build
            </h2>
            {d ? (
              <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm" data-testid="build-plan">
                <Row k="Framework" v={fw || (d.plan ? '' : 'Not detected yet')} />
                <Row k="Package manager" v={d.plan?.packageManager} />
                <Row k="Node" v={d.plan?.nodeVersion} />
                <Row k="Root" v={d.plan?.rootDir} mono />
                <Row k="Install" v={d.plan?.installCommand} mono />
                <Row k="Build" v={d.plan?.buildCommand} mono />
                <Row k="Output" v={d.plan?.outputDir} mono />
                {d.upload && <Row k="Source" v={uploadSummary(d)} />}
                {d.commit && <Row k="Commit" v={`${shortSha(d.commit.sha)} ${d.commit.message.split('\n')[0]}${d.upload?.git?.dirty ? ' (with uncommitted changes)' : ''}`} />}
                {d.commit?.author && <Row k="Author" v={d.commit.author} />}
                <Row k="Duration" v={formatDuration(between(d.createdAt, d.finishedAt, now))} />
              </dl>
            ) : (
              <Skeleton className="mt-2 h-24 w-full" />
            )}
          </section>
        </div>

        <section className="min-w-0 lg:order-1" aria-labelledby="log-h">
          <div className="mb-2 flex items-center justify-between">
            <h2 id="log-h" className="font-semibold">
              Log
            </h2>
            <span className="text-xs text-slate-500" data-testid="log-state" data-state={log.state} aria-live="polite">
              {log.state === 'open' && '● Live'}
              {log.state === 'connecting' && 'Connecting…'}
              {log.state === 'retrying' && 'Reconnecting…'}
              {log.state === 'ended' && 'Complete'}
              {log.state === 'error' && (log.error?.message ?? 'Log unavailable')}
            </span>
          </div>
          <LogViewer
            lines={log.lines}
            version={log.version}
            height={logHeight}
            emptyText={log.state === 'ended' ? 'This deployment wrote no log.' : log.state === 'error' ? 'The log is unavailable.' : 'Waiting for log output…'}
          />
        </section>
      </div>
      <Toast message={toast} onDone={clearToast} />
    </div>
  );
}

/** What a deployment that waits for an operator shows: why, until when, and (for deploy tokens) Retry and Abandon. */
function AttentionPanel({
  attention,
  canDeploy,
  busy,
  onRetry,
  onAbandon,
}: {
  attention: NonNullable<Deployment['attention']>;
  canDeploy: boolean;
  busy: string | null;
  onRetry: () => void;
  onAbandon: (reason: string) => void;
}) {
  const [reason, setReason] = useState('');
  return (
    <div role="alert" className="rounded-lg border border-orange-300 bg-orange-50 p-3 text-sm text-orange-900" data-testid="attention">
      <p>
        <span className="font-semibold">Needs attention: </span>
        step <span className="font-mono">{attention.step}</span> failed for a reason of the platform, not of the project:{' '}
        <span data-testid="attention-reason">{attention.reason}</span>
      </p>
      <p className="mt-1 text-orange-800">
        It waits for an operator to retry or abandon it until <time dateTime={attention.deadline}>{new Date(attention.deadline).toLocaleString()}</time>
        {attention.retries ? `; retried ${attention.retries} time${attention.retries > 1 ? 's' : ''} so far` : ''}.
      </p>
      {canDeploy ? (
        <div className="mt-2 flex flex-wrap items-center gap-2">
          <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={onRetry} data-testid="retry-button">
            {busy === 'retry' ? 'Retrying…' : 'Retry'}
          </button>
          <input
            className="input max-w-xs"
            placeholder="Reason (optional)"
            aria-label="Reason for abandoning"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="button" className="btn btn-danger" disabled={busy !== null} onClick={() => onAbandon(reason)} data-testid="abandon-button">
            {busy === 'abandon' ? 'Abandoning…' : 'Abandon'}
          </button>
        </div>
      ) : (
        <p className="mt-2 text-orange-800">A token with the deploy scope can retry or abandon it.</p>
      )}
    </div>
  );
}

function Row({ k, v, mono }: { k: string; v?: string; mono?: boolean }) {
  if (!v) return null;
  return (
    <>
      <dt className="text-slate-500">{k}</dt>
      <dd className={`min-w-0 break-words ${mono ? 'font-mono text-xs leading-5' : ''}`}>{v}</dd>
    </>
  );
}

const STEP_ICON: Record<StepState['state'], string> = {
  pending: '○',
  running: '◐',
  succeeded: '✓',
  failed: '✕',
  skipped: '–',
  canceled: '⊘',
  needs_attention: '!',
};
const STEP_TONE: Record<StepState['state'], string> = {
  pending: 'text-slate-400',
  running: 'text-sky-600 animate-pulse',
  succeeded: 'text-emerald-600',
  failed: 'text-red-600',
  skipped: 'text-slate-400',
  canceled: 'text-amber-600',
  needs_attention: 'text-orange-600',
};

function Steps({ d, now }: { d: Deployment; now: number }) {
  const byName = new Map((d.steps ?? []).map((s) => [s.name, s]));
  // An uploaded folder has no clone, and its upload step comes first: its own steps, in order.
  const names = d.upload && d.steps?.length ? d.steps.map((s) => s.name) : [...STEPS, ...(d.steps ?? []).map((s) => s.name).filter((n) => !STEPS.includes(n))];
  return (
    <ol className="mt-2 space-y-1.5">
      {names.map((n) => {
        const s: StepState = byName.get(n) ?? { name: n, state: 'pending' };
        const dur = s.startedAt ? between(s.startedAt, s.finishedAt, now) : null;
        return (
          <li key={n} className="flex items-center gap-2 text-sm" data-testid={`step-${n}`} data-state={s.state}>
            <span aria-hidden className={`w-4 text-center font-bold ${STEP_TONE[s.state]}`}>
              {STEP_ICON[s.state]}
            </span>
            <span className={s.state === 'pending' || s.state === 'skipped' ? 'text-slate-500' : 'font-medium'}>{STEP_LABEL[n] ?? n}</span>
            <span className="sr-only">{s.state}</span>
            <span className="ml-auto text-xs text-slate-500 tabular-nums">
              {s.state === 'running' ? `${formatDuration(dur)}…` : s.state === 'skipped' ? 'skipped' : formatDuration(dur)}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
