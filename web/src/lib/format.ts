// Formatting helpers: ages, durations, commits.

export function parseTime(s?: string): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) || t <= 0 ? null : t;
}

/** "just now", "42s ago", "3m ago", "5h ago", "2d ago", or a date for old items. */
export function timeAgo(iso: string | undefined, now = Date.now()): string {
  const t = parseTime(iso);
  if (t === null) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ago`;
  const d = Math.floor(h / 24);
  if (d < 30) return `${d}d ago`;
  return new Date(t).toLocaleDateString();
}

/** Milliseconds as "850ms", "12s", "3m 04s", "1h 02m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Duration between two timestamps; a missing end means "until now". */
export function between(start?: string, end?: string, now = Date.now()): number | null {
  const a = parseTime(start);
  if (a === null) return null;
  const b = parseTime(end) ?? now;
  return Math.max(0, b - a);
}

export const shortSha = (sha?: string) => (sha ? sha.slice(0, 7) : '');

/** First line of a commit message, truncated. */
export function firstLine(msg?: string, max = 72): string {
  if (!msg) return '';
  const l = msg.split('\n', 1)[0].trim();
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
}

/** "github.com/acme/site" from "https://github.com/acme/site.git". */
export function repoLabel(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/^git@([^:]+):/, '$1/').replace(/\.git$/, '').replace(/\/$/, '');
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
  } catch {
    return false;
  }
}
