import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { DeploymentDetailPage } from './DeploymentDetailPage';
import { json, mockFetch } from '../test/fetch';
import type { Deployment } from '../api';

afterEach(() => vi.unstubAllGlobals());

const dep: Deployment = {
  id: 'abc',
  status: 'running',
  step: 'build',
  steps: [
    { name: 'clone', state: 'succeeded', startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:03Z' },
    { name: 'build', state: 'running', startedAt: '2024-01-01T00:00:03Z' },
  ],
  repoUrl: 'https://git.test/acme/site.git',
  project: 'site',
  plan: { kind: 'node', frameworkName: 'Vite', packageManager: 'pnpm', buildCommand: 'pnpm build' },
  url: 'http://abc.localhost/',
  createdAt: '2024-01-01T00:00:00Z',
  workflowId: 'deploy-abc',
  temporalUrl: 'http://temporal.test/wf/deploy-abc',
};

function sse(text: string) {
  return new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) }), { status: 200 });
}

describe('<DeploymentDetailPage>', () => {
  it('shows steps, plan, actions and the streamed log', async () => {
    const done = { ...dep, status: 'succeeded' as const, steps: dep.steps.map((s) => ({ ...s, state: 'succeeded' as const, finishedAt: '2024-01-01T00:00:09Z' })) };
    let gets = 0;
    mockFetch((url) => {
      if (url.pathname === '/api/token') return json({ name: 'admin', scope: 'deploy' });
      if (!url.pathname.endsWith('/logs')) return json(gets++ === 0 ? dep : done);
      if (url.pathname.endsWith('/logs'))
        return sse(
          `id: 1\nevent: log\ndata: ${JSON.stringify({ id: '1', step: 'build', stream: 'stdout', line: '\u001b[32mbuilt\u001b[0m', ts: '' })}\n\n` +
            `event: status\ndata: ${JSON.stringify(done)}\n\nevent: end\ndata: {"status":"succeeded"}\n\n`,
        );
      return json(dep);
    });
    render(<DeploymentDetailPage id="abc" />);
    expect(await screen.findByText('Vite')).toBeTruthy();
    expect(screen.getByText('pnpm build')).toBeTruthy();
    expect(screen.getByTestId('temporal-link').getAttribute('href')).toBe('http://temporal.test/wf/deploy-abc');
    expect(screen.getByTestId('step-clone').getAttribute('data-state')).toBe('succeeded');
    expect(screen.getByTestId('step-clone').textContent).toContain('3s');
    await waitFor(() => expect(screen.getByTestId('log-line').textContent).toContain('built'));
    await waitFor(() => expect(screen.getByTestId('deployment-status').getAttribute('data-status')).toBe('succeeded'));
    expect(screen.getByTestId('log-state').getAttribute('data-state')).toBe('ended');
    expect(screen.queryByTestId('cancel-button')).toBeNull();
    expect(screen.getByTestId('promote-button')).toBeTruthy();
    expect(document.title).toBe('Deployment abc · SkyDeploy');
  });

  it('says when a deployment does not exist', async () => {
    mockFetch(() => json({ error: 'deployment not found' }, 404));
    render(<DeploymentDetailPage id="nope" />);
    const err = await screen.findByTestId('error');
    expect(err.textContent).toContain('Deployment not found');
    expect(err.textContent).toContain('nope');
  });
});

describe('a deployment that needs attention', () => {
  const waiting: Deployment = {
    ...dep,
    status: 'needs_attention',
    step: 'upload',
    resetByOperator: true,
    attention: { step: 'upload', reason: 'upload source: connection refused', since: '2024-01-01T00:01:00Z', deadline: '2024-01-02T00:01:00Z', retries: 1 },
  };
  const serve = (scope: string, posts: string[]) =>
    mockFetch((url, call) => {
      if (url.pathname === '/api/token') return json({ name: 't', scope });
      if (call.method === 'POST') {
        posts.push(url.pathname + ' ' + (call.body === undefined ? '' : JSON.stringify(call.body)));
        return json({ id: 'abc', signal: url.pathname.split('/').pop() }, 202);
      }
      if (url.pathname.endsWith('/logs')) return sse('');
      return json(waiting);
    });

  it('says why and lets a deploy token retry or abandon it', async () => {
    const posts: string[] = [];
    serve('deploy', posts);
    render(<DeploymentDetailPage id="abc" />);
    expect((await screen.findByTestId('attention-reason')).textContent).toBe('upload source: connection refused');
    expect(screen.getByTestId('attention').textContent).toContain('retried 1 time');
    expect(screen.getByTestId('reset-badge')).toBeTruthy();
    expect(screen.getByTestId('deployment-status').textContent).toBe('Needs attention');
    screen.getByTestId('retry-button').click();
    await waitFor(() => expect(posts).toContain('/api/deployments/abc/retry '));
    const reason = screen.getByLabelText('Reason for abandoning') as HTMLInputElement;
    fireEvent.change(reason, { target: { value: 'storage is gone' } });
    screen.getByTestId('abandon-button').click();
    await waitFor(() => expect(posts).toContain('/api/deployments/abc/abandon {"reason":"storage is gone"}'));
  });

  it('shows no buttons to a read token', async () => {
    serve('read', []);
    render(<DeploymentDetailPage id="abc" />);
    expect(await screen.findByTestId('attention')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('attention').textContent).toContain('A token with the deploy scope can retry or abandon it'));
    expect(screen.queryByTestId('retry-button')).toBeNull();
    expect(screen.queryByTestId('abandon-button')).toBeNull();
  });
});
