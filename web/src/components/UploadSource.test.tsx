import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { DeploymentDetailPage } from '../pages/DeploymentDetailPage';
import { DeploymentRow } from './DeploymentRow';
import { formatBytes, uploadSummary } from './UploadSource';
import { json, mockFetch } from '../test/fetch';
import type { Deployment } from '../api';

afterEach(() => vi.unstubAllGlobals());

const uploaded: Deployment = {
  id: 'up1',
  status: 'succeeded',
  steps: [
    { name: 'upload', state: 'succeeded', startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:01Z' },
    { name: 'detect', state: 'skipped' },
    { name: 'build', state: 'skipped' },
    { name: 'publish', state: 'succeeded', startedAt: '2024-01-01T00:00:01Z', finishedAt: '2024-01-01T00:00:02Z' },
  ],
  repoUrl: '',
  branch: 'main',
  commit: { sha: '0123456789abcdef0123456789abcdef01234567', message: 'Ship it', author: 'Ada' },
  upload: { id: 'u0123456789abcdef01234567', files: 12, bytes: 3584, prebuilt: true, git: { commit: '0123456789abcdef0123456789abcdef01234567', branch: 'main', dirty: true } },
  trigger: 'upload',
  url: 'http://up1.localhost/',
  createdAt: '2024-01-01T00:00:00Z',
  finishedAt: '2024-01-01T00:00:02Z',
  workflowId: 'deploy-up1',
  temporalUrl: 'http://temporal.test/wf/deploy-up1',
};

describe('uploaded folders', () => {
  it('summarise their source', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3584)).toBe('3.5 KiB');
    expect(formatBytes(1 << 20)).toBe('1 MiB');
    expect(uploadSummary(uploaded)).toBe('Uploaded folder · 12 files, 3.5 KiB · prebuilt');
    expect(uploadSummary({ ...uploaded, upload: undefined })).toBe('');
  });

  it('show as a folder in lists, with a dirty checkout marked', () => {
    render(
      <ul>
        <DeploymentRow d={uploaded} now={Date.parse('2024-01-01T00:01:00Z')} />
      </ul>,
    );
    const src = screen.getByTestId('upload-source');
    expect(src.textContent).toContain('Folder (prebuilt)');
    expect(within(src).getByTestId('upload-dirty')).toBeTruthy();
    expect(screen.getByText('0123456')).toBeTruthy();
  });

  it('show their source and their own steps on the detail page', async () => {
    mockFetch((url) =>
      url.pathname.endsWith('/logs') ? new Response('event: end\ndata: {"status":"succeeded"}\n\n', { status: 200 }) : json(uploaded),
    );
    render(<DeploymentDetailPage id="up1" />);
    expect(await screen.findByText('Uploaded folder · 12 files, 3.5 KiB · prebuilt')).toBeTruthy();
    expect(screen.getByText(/Ship it \(with uncommitted changes\)/)).toBeTruthy();
    expect(screen.queryByTestId('step-clone')).toBeNull();
    const steps = screen.getAllByTestId(/^step-/).map((el) => el.getAttribute('data-testid'));
    expect(steps).toEqual(['step-upload', 'step-detect', 'step-build', 'step-publish']);
  });
});
