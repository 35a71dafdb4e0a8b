import { useEffect, useState, type ReactNode } from 'react';
import type { DeploymentState, StepStateName } from '../api';

const STATUS_STYLE: Record<string, string> = {
  queued: 'bg-slate-100 text-slate-700 ring-slate-300',
  running: 'bg-sky-50 text-sky-800 ring-sky-300',
  succeeded: 'bg-emerald-50 text-emerald-800 ring-emerald-300',
  failed: 'bg-red-50 text-red-800 ring-red-300',
  canceled: 'bg-amber-50 text-amber-800 ring-amber-300',
  needs_attention: 'bg-orange-50 text-orange-800 ring-orange-400',
  pending: 'bg-slate-50 text-slate-500 ring-slate-200',
  skipped: 'bg-slate-50 text-slate-500 ring-slate-200',
};

const STATUS_LABEL: Record<string, string> = {
  queued: 'Queued',
  running: 'Building',
  succeeded: 'Ready',
  failed: 'Failed',
  canceled: 'Canceled',
  needs_attention: 'Needs attention',
  pending: 'Pending',
  skipped: 'Skipped',
};

export function StatusBadge({ status, testId }: { status: DeploymentState | StepStateName; testId?: string }) {
  return (
    <span
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${STATUS_STYLE[status] ?? STATUS_STYLE.queued}`}
      data-testid={testId ?? 'status-badge'}
      data-status={status}
    >
      <span
        aria-hidden
        className={`h-1.5 w-1.5 rounded-full bg-current ${status === 'running' ? 'animate-pulse' : ''}`}
      />
      {STATUS_LABEL[status] ?? status}
    </span>
  );
}

export function Skeleton({ className = '' }: { className?: string }) {
  return <div className={`animate-pulse rounded bg-slate-200 ${className}`} aria-hidden />;
}

export function SkeletonRows({ rows = 5 }: { rows?: number }) {
  return (
    <div className="space-y-3 p-4" role="status" aria-label="Loading" data-testid="loading">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="flex items-center gap-4">
          <Skeleton className="h-5 w-20" />
          <Skeleton className="h-5 flex-1" />
          <Skeleton className="hidden h-5 w-24 sm:block" />
        </div>
      ))}
      <span className="sr-only">Loading…</span>
    </div>
  );
}

export function ErrorMessage({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800" data-testid="error">
      {title && <p className="font-semibold">{title}</p>}
      <p>{msg}</p>
      {onRetry && (
        <button type="button" className="btn mt-3" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="px-6 py-12 text-center" data-testid="empty-state">
      <svg aria-hidden viewBox="0 0 24 24" className="mx-auto h-10 w-10 text-slate-300" fill="none" stroke="currentColor" strokeWidth="1.5">
        <path d="M3 15a4 4 0 0 0 4 4h10a4 4 0 0 0 .8-7.92A6 6 0 0 0 6.2 10.1 4 4 0 0 0 3 15z" />
      </svg>
      <p className="mt-3 font-medium text-slate-700">{title}</p>
      {children && <div className="mt-1 text-sm text-slate-500">{children}</div>}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy', testId }: { text: string; label?: string; testId?: string }) {
  const [done, setDone] = useState(false);
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(false), 1500);
    return () => clearTimeout(t);
  }, [done]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        document.execCommand('copy');
      } catch {
        /* ignore */
      }
      ta.remove();
    }
    setDone(true);
  };
  return (
    <button type="button" className="btn btn-sm" onClick={copy} data-testid={testId} aria-label={`${label} ${text}`}>
      {done ? 'Copied' : label}
    </button>
  );
}

export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · SkyDeploy` : 'SkyDeploy';
  }, [title]);
}

/** Re-renders every `ms` while `active`, for ages and running durations. */
export function useNow(ms = 1000, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}

export function Field({
  label,
  htmlFor,
  hint,
  error,
  children,
}: {
  label: string;
  htmlFor: string;
  hint?: ReactNode;
  error?: string;
  children: ReactNode;
}) {
  return (
    <div>
      <label htmlFor={htmlFor} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <div className="mt-1">{children}</div>
      {error ? (
        <p className="mt-1 text-sm text-red-700" id={`${htmlFor}-error`}>
          {error}
        </p>
      ) : (
        hint && <p className="mt-1 text-xs text-slate-500">{hint}</p>
      )}
    </div>
  );
}

export function Toast({ message, onDone }: { message: string | null; onDone: () => void }) {
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(onDone, 4000);
    return () => clearTimeout(t);
  }, [message, onDone]);
  if (!message) return null;
  return (
    <div role="status" className="fixed right-4 bottom-4 z-50 max-w-sm rounded-lg bg-slate-900 px-4 py-3 text-sm text-white shadow-lg" data-testid="toast">
      {message}
    </div>
  );
}
