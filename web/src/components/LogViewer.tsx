import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { Ansi } from './Ansi';
import { VirtualList, type VirtualListHandle } from './VirtualList';
import { stripAnsi } from '../lib/ansi';
import type { LogLine } from '../api';

export type StoredLine = { id: string; step: string; stream: string; text: string; lower: string };

export function toStored(l: LogLine): StoredLine {
  const text = l.line ?? '';
  return { id: l.id ?? '', step: l.step, stream: l.stream, text, lower: stripAnsi(text).toLowerCase() };
}

/** Indices of the lines whose visible text contains query (case-insensitive). */
export function findMatches(lines: readonly StoredLine[], query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i].lower.includes(q)) out.push(i);
  return out;
}

export const ROW_HEIGHT = 20;

type Props = {
  lines: readonly StoredLine[];
  /** Changes whenever lines were appended (the array may be mutated in place). */
  version: number;
  height: number;
  /** Shown when there are no lines yet. */
  emptyText?: string;
};

export function LogViewer({ lines, version, height, emptyText = 'Waiting for log output…' }: Props) {
  const list = useRef<VirtualListHandle>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [cur, setCur] = useState(0);
  const q = query.trim();

  // eslint-disable-next-line react-hooks/exhaustive-deps
  const matches = useMemo(() => findMatches(lines, q), [lines, q, version]);
  const matchSet = useMemo(() => new Set(matches), [matches]);
  const curLine = matches.length ? matches[Math.min(cur, matches.length - 1)] : -1;

  useLayoutEffect(() => {
    if (follow) list.current?.scrollToBottom();
  }, [follow, version, height]);

  const jump = useCallback(
    (i: number) => {
      if (!matches.length) return;
      const n = ((i % matches.length) + matches.length) % matches.length;
      setCur(n);
      setFollow(false);
      list.current?.scrollToIndex(matches[n]);
    },
    [matches],
  );

  // New query: jump to its first match.
  useEffect(() => {
    setCur(0);
    if (q && matches.length) {
      setFollow(false);
      list.current?.scrollToIndex(matches[0]);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q]);

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      jump(cur + (e.shiftKey ? -1 : 1));
    } else if (e.key === 'Escape') {
      setQuery('');
    }
  };

  const gutter = String(Math.max(lines.length, 1)).length;

  return (
    <div className="overflow-hidden rounded-lg border border-slate-800 bg-slate-950 text-slate-200" data-testid="log-viewer">
      <div className="flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-2 text-sm">
        <label className="sr-only" htmlFor="log-search">
          Search log
        </label>
        <input
          id="log-search"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onKey}
          placeholder="Search log"
          data-testid="log-search"
          className="w-44 min-w-0 flex-1 rounded border border-slate-700 bg-slate-900 px-2 py-1 text-slate-100 placeholder:text-slate-500 sm:flex-none"
        />
        <span className="min-w-16 tabular-nums text-slate-400" aria-live="polite" data-testid="log-match-count">
          {q ? (matches.length ? `${Math.min(cur, matches.length - 1) + 1} / ${matches.length}` : 'No matches') : ''}
        </span>
        <button type="button" className="btn-dark" onClick={() => jump(cur - 1)} disabled={!matches.length} aria-label="Previous match" title="Previous match (Shift+Enter)">
          ↑
        </button>
        <button type="button" className="btn-dark" onClick={() => jump(cur + 1)} disabled={!matches.length} aria-label="Next match" title="Next match (Enter)">
          ↓
        </button>
        <span className="ml-auto tabular-nums text-slate-400" data-testid="log-line-count">
          {lines.length.toLocaleString()} {lines.length === 1 ? 'line' : 'lines'}
        </span>
        <button
          type="button"
          className="btn-dark"
          aria-pressed={follow}
          onClick={() => setFollow((f) => !f)}
          data-testid="log-follow"
          title={follow ? 'Pause auto-scroll' : 'Follow the log'}
        >
          {follow ? '❚❚ Pause' : '▶ Follow'}
        </button>
      </div>
      {lines.length === 0 ? (
        <div className="flex items-center justify-center font-mono text-sm text-slate-500" style={{ height }} data-testid="log-empty">
          {emptyText}
        </div>
      ) : (
        <VirtualList
          ref={list}
          count={lines.length}
          rowHeight={ROW_HEIGHT}
          height={height}
          label="Deployment log"
          testId="log-lines"
          className="log-scroll font-mono text-xs"
          onScroll={(atBottom, user) => {
            if (user && !atBottom && follow) setFollow(false);
            else if (user && atBottom && !follow && !q) setFollow(true);
          }}
          renderRow={(i) => {
            const l = lines[i];
            const tone = l.stream === 'stderr' ? 'text-red-300' : l.stream === 'system' ? 'text-sky-300' : '';
            return (
              <div
                className={`log-row flex whitespace-pre leading-5 ${i === curLine ? 'bg-amber-400/15' : ''}`}
                data-testid="log-line"
                data-stream={l.stream}
              >
                <span className="flex-none pr-3 pl-3 text-right text-slate-600 select-none" style={{ width: `calc(${gutter}ch + 1.5rem)` }} aria-hidden>
                  {i + 1}
                </span>
                <span className={`pr-4 ${tone}`}>
                  <Ansi text={l.text} query={matchSet.has(i) ? q : undefined} current={i === curLine} />
                </span>
              </div>
            );
          }}
        />
      )}
    </div>
  );
}
