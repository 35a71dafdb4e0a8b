import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { DomainsPanel } from './DomainsPanel';
import { json, mockFetch } from '../test/fetch';
import type { Domain } from '../api';

const pending: Domain = {
  domain: 'www.shop.com',
  project: 'shop',
  status: 'pending',
  reason: 'no TXT record at _skydeploy-challenge.www.shop.com',
  records: [
    { type: 'TXT', name: '_skydeploy-challenge.www.shop.com', value: '0123456789abcdef0123456789abcdef', purpose: 'verify' },
    { type: 'CNAME', name: 'www.shop.com', value: 'custom.sites.example.com', purpose: 'route' },
  ],
  url: 'https://www.shop.com/',
  deadline: '2030-01-01T00:00:00Z',
  createdAt: '2029-12-29T00:00:00Z',
  workflowId: 'domain-www.shop.com',
  temporalUrl: 'http://temporal.test/namespaces/default/workflows/domain-www.shop.com',
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('<DomainsPanel>', () => {
  it('adds a domain and shows the DNS records to create', async () => {
    let domains: Domain[] = [];
    const calls = mockFetch((url, call) => {
      if (call.method === 'POST' && url.pathname === '/api/projects/shop/domains') {
        domains = [pending];
        return json(pending, 201);
      }
      return json({ domains });
    });
    render(<DomainsPanel project="shop" />);
    await screen.findByText(/No custom domains/);
    fireEvent.change(screen.getByTestId('domain-input'), { target: { value: ' www.shop.com ' } });
    fireEvent.click(screen.getByTestId('domain-add'));
    const row = await screen.findByTestId('domain-row');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ domain: 'www.shop.com' });
    expect(screen.getByTestId('domain-status').textContent).toBe('pending');
    expect(screen.getByTestId('domain-reason').textContent).toContain('no TXT record');
    const records = screen.getAllByTestId('domain-record').map((r) => Array.from(r.querySelectorAll('td')).slice(0, 3).map((c) => c.textContent));
    expect(records).toEqual([
      ['TXT', '_skydeploy-challenge.www.shop.com', '0123456789abcdef0123456789abcdef'],
      ['CNAME', 'www.shop.com', 'custom.sites.example.com'],
    ]);
    expect(row.getAttribute('data-domain')).toBe('www.shop.com');
    expect((screen.getByTestId('domain-input') as HTMLInputElement).value).toBe('');
  });

  it('shows the reason a domain was refused', async () => {
    mockFetch((_, call) =>
      call.method === 'POST'
        ? json({ error: 'wildcard domains (*.shop.com) are not supported: add each name on its own, such as www.example.com' }, 422)
        : json({ domains: [] }),
    );
    render(<DomainsPanel project="shop" />);
    await screen.findByText(/No custom domains/);
    fireEvent.change(screen.getByTestId('domain-input'), { target: { value: '*.shop.com' } });
    fireEvent.click(screen.getByTestId('domain-add'));
    expect(await screen.findByText(/wildcard domains/)).toBeTruthy();
  });

  it('checks now, links a verified domain and removes one', async () => {
    const verified: Domain = { ...pending, domain: 'shop.com', status: 'verified', reason: undefined };
    let domains: Domain[] = [pending, verified];
    const calls = mockFetch((url, call) => {
      if (call.method === 'DELETE') {
        domains = domains.filter((d) => !url.pathname.endsWith('/' + d.domain));
        return new Response(null, { status: 204 });
      }
      if (call.method === 'POST') return json(pending, 202);
      return json({ domains });
    });
    render(<DomainsPanel project="shop" />);
    const rows = await screen.findAllByTestId('domain-row');
    expect(rows).toHaveLength(2);
    expect(screen.getByTestId('domain-url').getAttribute('href')).toBe('https://www.shop.com/');
    expect(screen.getAllByTestId('domain-verify')).toHaveLength(1); // only the pending one
    fireEvent.click(screen.getByTestId('domain-verify'));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === '/api/projects/shop/domains/www.shop.com/verify')).toBe(true));
    fireEvent.click(screen.getAllByTestId('domain-remove')[1]);
    await waitFor(() => expect(screen.getAllByTestId('domain-row')).toHaveLength(1));
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/projects/shop/domains/shop.com')).toBe(true);
  });
});
