// A project's custom domains: add one (it starts pending, with the DNS records to create),
// check it now, remove it. Pending domains are polled until they are verified or fail.
import { useState, type FormEvent } from 'react';
import { api, type Domain } from '../api';
import { useResource } from '../lib/useResource';
import { CopyButton, ErrorMessage, SkeletonRows } from './ui';

const POLL_PENDING_MS = 5000;

const STATUS_STYLE: Record<Domain['status'], string> = {
  pending: 'bg-amber-50 text-amber-800 ring-amber-200',
  verified: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
  failed: 'bg-red-50 text-red-800 ring-red-200',
};

export function DomainsPanel({ project }: { project: string }) {
  const list = useResource((signal) => api.listDomains(project, signal), [project], {
    pollMs: (d) => (d.domains.some((x) => x.status === 'pending') ? POLL_PENDING_MS : null),
  });
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState('');

  const run = async (key: string, fn: () => Promise<unknown>) => {
    setBusy(key);
    setError('');
    try {
      await fn();
      list.reload();
      return true;
    } catch (e) {
      setError((e as Error).message);
      return false;
    } finally {
      setBusy(null);
    }
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const domain = input.trim();
    if (!domain) return;
    if (await run('add', () => api.addDomain(project, domain))) setInput('');
  };

  const domains = list.data?.domains ?? [];
  return (
    <section className="card" aria-labelledby="domains-h" data-testid="domains-panel">
      <h2 id="domains-h" className="border-b border-slate-100 px-4 py-3 font-semibold">
        Custom domains
      </h2>
      <form className="flex flex-wrap gap-2 border-b border-slate-100 px-4 py-3" onSubmit={add}>
        <label htmlFor="domain-input" className="sr-only">
          Domain
        </label>
        <input
          id="domain-input"
          className="input min-w-0 flex-1 font-mono"
          placeholder="www.example.com"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          data-testid="domain-input"
        />
        <button type="submit" className="btn btn-primary" disabled={busy !== null || !input.trim()} data-testid="domain-add">
          {busy === 'add' ? 'Adding…' : 'Add domain'}
        </button>
      </form>
      {error && (
        <div className="px-4 pt-3">
          <ErrorMessage error={error} />
        </div>
      )}
      {list.error && !list.data ? (
        <div className="p-4">
          <ErrorMessage error={list.error} onRetry={list.reload} />
        </div>
      ) : !list.data ? (
        <SkeletonRows rows={1} />
      ) : domains.length === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-500">No custom domains. Add one to serve this project at your own name, over HTTPS.</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {domains.map((d) => (
            <li key={d.domain} className="space-y-2 px-4 py-3" data-testid="domain-row" data-domain={d.domain}>
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-mono font-medium break-all">{d.domain}</span>
                <span className={`rounded-full px-2 py-0.5 text-xs ring-1 ${STATUS_STYLE[d.status]}`} data-testid="domain-status">
                  {d.status}
                </span>
                <span className="flex-1" />
                {d.status !== 'verified' && (
                  <button type="button" className="btn btn-sm" disabled={busy !== null} data-testid="domain-verify"
                    onClick={() => run(`verify-${d.domain}`, () => api.verifyDomain(project, d.domain))}>
                    {busy === `verify-${d.domain}` ? 'Checking…' : 'Check now'}
                  </button>
                )}
                <button type="button" className="btn btn-sm btn-danger" disabled={busy !== null} data-testid="domain-remove"
                  onClick={() => run(`rm-${d.domain}`, () => api.removeDomain(project, d.domain))}>
                  Remove
                </button>
              </div>
              {d.status === 'verified' ? (
                <p className="text-sm">
                  Serving{' '}
                  <a href={d.url} target="_blank" rel="noreferrer" data-testid="domain-url">
                    {d.url}
                  </a>
                </p>
              ) : (
                <DomainRecords d={d} />
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function DomainRecords({ d }: { d: Domain }) {
  return (
    <div className="space-y-2 text-sm">
      {d.reason && (
        <p className={d.status === 'failed' ? 'text-red-700' : 'text-slate-600'} data-testid="domain-reason">
          {d.status === 'failed' ? 'Failed: ' : 'Last check: '}
          {d.reason}
        </p>
      )}
      <p className="text-slate-600">
        Create these DNS records at your DNS provider
        {d.status === 'pending' ? `; they are checked until ${new Date(d.deadline).toLocaleString()}` : ''}:
      </p>
      <div className="overflow-x-auto">
        <table className="w-full text-left font-mono text-xs" data-testid="domain-records">
          <thead className="text-slate-500">
            <tr>
              <th className="py-1 pr-3 font-normal">Type</th>
              <th className="py-1 pr-3 font-normal">Name</th>
              <th className="py-1 pr-3 font-normal">Value</th>
              <th className="py-1 font-normal">
                <span className="sr-only">Copy</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {d.records.map((r) => (
              <tr key={`${r.type} ${r.name} ${r.value}`} data-testid="domain-record" title={r.purpose === 'verify' ? 'proves you own the domain' : 'sends its visitors here'}>
                <td className="py-1 pr-3">{r.type}</td>
                <td className="py-1 pr-3 break-all">{r.name}</td>
                <td className="py-1 pr-3 break-all">{r.value}</td>
                <td className="py-1">
                  <CopyButton text={r.value} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
