import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, auth, onUnauthorized, SSEParser, streamLogs, type LogLine } from './api';
import { json, mockFetch } from './test/fetch';

afterEach(() => vi.unstubAllGlobals());

describe('SSEParser', () => {
  it('parses events split across chunks, ids, comments and CRLF', () => {
    const p = new SSEParser();
    expect(p.push(': hello\n\nid: 1-0\nevent: log\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\n\r')).toEqual([]);
    expect(p.push('\nevent: end\r\ndata: x\r\ndata: y\r\n\r\n')).toEqual([
      { event: 'log', data: '{"a":1}', id: '1-0' },
      { event: 'end', data: 'x\ny', id: undefined },
    ]);
    expect(p.lastEventId).toBe('1-0');
  });
});

function sseResponse(text: string) {
  const body = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

const line = (id: string, text: string): LogLine => ({ id, step: 'build', stream: 'stdout', line: text, ts: '' });
const ev = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

describe('streamLogs', () => {
  it('delivers logs and status, resumes with Last-Event-ID after a drop, and stops at end', async () => {
    let n = 0;
    const calls = mockFetch(() => {
      n++;
      if (n === 1) return sseResponse(ev('log', line('1', 'one'), '1') + ev('log', line('2', 'two'), '2'));
      return sseResponse(ev('log', line('3', 'three'), '3') + ev('status', { id: 'd', status: 'succeeded' }) + ev('end', { status: 'succeeded' }));
    });
    const logs: string[] = [];
    const statuses: string[] = [];
    const ended = new Promise<string>((resolve) => {
      streamLogs('d', { onLog: (l) => logs.push(l.line), onStatus: (d) => statuses.push(d.status), onEnd: resolve }, { retryMs: 1 });
    });
    expect(await ended).toBe('succeeded');
    expect(logs).toEqual(['one', 'two', 'three']);
    expect(statuses).toEqual(['succeeded']);
    expect(calls).toHaveLength(2);
    expect(calls[0].url).toBe('/api/deployments/d/logs');
    expect(calls[0].headers['Last-Event-ID']).toBeUndefined();
    expect(calls[1].headers['Last-Event-ID']).toBe('2');
  });

  it('reports a missing deployment without retrying', async () => {
    const calls = mockFetch(() => json({ error: 'deployment not found' }, 404));
    const err = await new Promise<ApiError>((resolve) => streamLogs('nope', { onLog: () => {}, onError: resolve }, { retryMs: 1 }));
    expect(err.status).toBe(404);
    expect(err.message).toBe('Deployment not found.');
    expect(calls).toHaveLength(1);
  });
});

describe('api client', () => {
  it('sends the bearer token and signals 401', async () => {
    auth.set('tok123');
    const calls = mockFetch(() => json({ error: 'invalid token' }, 401));
    const seen = vi.fn();
    const off = onUnauthorized(seen);
    await expect(api.listProjects()).rejects.toMatchObject({ status: 401, message: 'invalid token' });
    off();
    expect(calls[0].headers.Authorization).toBe('Bearer tok123');
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('builds list queries and names a missing deployment', async () => {
    const calls = mockFetch((url) => (url.pathname.endsWith('/x') ? json({ error: 'not found' }, 404) : json({ deployments: [], nextPageToken: '' })));
    await api.listDeployments({ project: 'a b', status: 'running', pageToken: 't1' });
    expect(calls[0].url).toBe('/api/deployments?project=a+b&status=running&pageSize=20&pageToken=t1');
    await expect(api.getDeployment('x')).rejects.toMatchObject({ status: 404, message: 'Deployment not found.' });
  });

  it('explains non-JSON server errors and network failures', async () => {
    mockFetch(() => new Response('upstream timed out', { status: 502 }));
    await expect(api.config()).rejects.toMatchObject({ status: 502, message: 'upstream timed out' });
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    await expect(api.config()).rejects.toMatchObject({ status: 0 });
  });
});
