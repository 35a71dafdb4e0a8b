import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { DeploymentsPage } from './DeploymentsPage';
import { json, mockFetch } from '../test/fetch';
import type { Deployment } from '../api';

afterEach(() => vi.unstubAllGlobals());

const base = (over: Partial<Deployment>): Deployment => ({
  id: 'd1',
  status: 'succeeded',
  steps: [],
  repoUrl: 'https://git.test/acme/site.git',
  url: 'http://d1.localhost:3001/',
  createdAt: new Date(Date.now() - 3 * 60_000).toISOString(),
  finishedAt: new Date(Date.now() - 2 * 60_000).toISOString(),
  workflowId: 'deploy-d1',
  temporalUrl: 'http://temporal/x',
  ...over,
});

const all = [
  base({ id: 'aaa111', project: 'site', branch: 'main', commit: { sha: '0123456789abcdef', message: 'Fix header\nbody', author: 'A' }, plan: { kind: 'node', frameworkName: 'Vite' }, live: true }),
  base({ id: 'bbb222', status: 'failed', branch: 'dev', error: 'build failed' }),
  base({ id: 'ccc333', status: 'running', finishedAt: undefined, createdAt: new Date(Date.now() - 20_000).toISOString() }),
];

describe('<DeploymentsPage>', () => {
  it('renders status badges, details and filters', async () => {
    const calls = mockFetch((url) => {
      if (url.pathname === '/api/projects') return json({ projects: [{ name: 'site' }, { name: 'blog' }] });
      const status = url.searchParams.get('status');
      const list = status ? all.filter((d) => d.status === status) : all;
      return json({ deployments: list, nextPageToken: status ? '' : 'page2' });
    });
    render(<DeploymentsPage />);
    const rows = await screen.findAllByTestId('deployment-row');
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => within(r).getByTestId('status-badge').textContent)).toEqual(['Ready', 'Failed', 'Building']);
    expect(rows[0].getAttribute('data-status')).toBe('succeeded');
    const first = within(rows[0]);
    expect(first.getByText('0123456')).toBeTruthy();
    expect(first.getByText('Fix header')).toBeTruthy();
    expect(first.getByText('Vite')).toBeTruthy();
    expect(first.getByText('3m ago')).toBeTruthy();
    expect(first.getByText('1m 00s')).toBeTruthy();
    expect(first.getByTestId('live-badge')).toBeTruthy();
    expect(first.getByTestId('deployment-url').getAttribute('href')).toBe('http://d1.localhost:3001/');
    expect(first.getByRole('link', { name: 'site' }).getAttribute('href')).toBe('/projects/site');
    // Only a succeeded deployment links to its URL.
    expect(within(rows[1]).queryByTestId('deployment-url')).toBeNull();

    // Project filter options come from the projects API.
    const projectSelect = screen.getByLabelText('Project') as HTMLSelectElement;
    await waitFor(() => expect(projectSelect.options).toHaveLength(3));

    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'failed' } });
    await waitFor(() => expect(screen.getAllByTestId('deployment-row')).toHaveLength(1));
    const last = calls.filter((c) => c.url.startsWith('/api/deployments')).pop()!;
    expect(last.url).toContain('status=failed');
    expect(last.url).toContain('pageSize=20');

    fireEvent.change(projectSelect, { target: { value: 'blog' } });
    await waitFor(() => expect(calls.filter((c) => c.url.startsWith('/api/deployments')).pop()!.url).toContain('project=blog'));
  });

  it('pages with nextPageToken', async () => {
    const calls = mockFetch((url) => {
      if (url.pathname === '/api/projects') return json({ projects: [] });
      const tok = url.searchParams.get('pageToken');
      return json(tok === 'p2' ? { deployments: [base({ id: 'old1' })], nextPageToken: '' } : { deployments: [base({ id: 'new1' })], nextPageToken: 'p2' });
    });
    render(<DeploymentsPage />);
    await screen.findByText('new1');
    expect((screen.getByTestId('page-prev') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('page-next'));
    await screen.findByText('old1');
    expect(calls.some((c) => c.url.includes('pageToken=p2'))).toBe(true);
    expect((screen.getByTestId('page-next') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('page-prev'));
    await screen.findByText('new1');
  });

  it('polls while a deployment is running', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let n = 0;
      mockFetch((url) => {
        if (url.pathname === '/api/projects') return json({ projects: [] });
        n++;
        return json({ deployments: [base({ id: 'r1', status: n < 2 ? 'running' : 'succeeded', finishedAt: undefined })], nextPageToken: '' });
      });
      render(<DeploymentsPage />);
      expect((await screen.findByTestId('status-badge')).textContent).toBe('Building');
      await vi.advanceTimersByTimeAsync(3000);
      await waitFor(() => expect(screen.getByTestId('status-badge').textContent).toBe('Ready'));
      const before = n;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(n).toBe(before); // nothing running: polling stopped
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows an empty state and a readable error', async () => {
    mockFetch((url) => (url.pathname === '/api/projects' ? json({ projects: [] }) : json({ deployments: [], nextPageToken: '' })));
    const { unmount } = render(<DeploymentsPage />);
    expect((await screen.findByTestId('empty-state')).textContent).toContain('No deployments yet');
    unmount();
    mockFetch(() => json({ error: 'database is down' }, 500));
    render(<DeploymentsPage />);
    expect((await screen.findByTestId('error')).textContent).toContain('database is down');
  });
});
