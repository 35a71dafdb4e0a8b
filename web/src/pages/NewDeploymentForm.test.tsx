import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { NewDeploymentForm } from './NewDeploymentForm';
import { json, mockFetch } from '../test/fetch';

afterEach(() => vi.unstubAllGlobals());

describe('<NewDeploymentForm>', () => {
  it('validates the repository URL on the client', async () => {
    const calls = mockFetch(() => json({}));
    const onCreated = vi.fn();
    render(<NewDeploymentForm onCreated={onCreated} />);
    fireEvent.click(screen.getByRole('button', { name: 'Deploy' }));
    expect(await screen.findByText('Enter the repository URL.')).toBeTruthy();
    expect(screen.getByLabelText('Repository URL').getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(screen.getByLabelText('Repository URL'), { target: { value: 'git@github.com:acme/site.git' } });
    fireEvent.click(screen.getByRole('button', { name: 'Deploy' }));
    expect(await screen.findByText(/Use an http:\/\/ or https:\/\/ URL/)).toBeTruthy();
    expect(calls).toHaveLength(0);
    expect(onCreated).not.toHaveBeenCalled();
  });

  it("shows the server's error inline", async () => {
    const calls = mockFetch(() => json({ error: 'repository https://example.test/x.git is not reachable' }, 422));
    const onCreated = vi.fn();
    render(<NewDeploymentForm onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Repository URL'), { target: { value: 'https://example.test/x.git' } });
    fireEvent.change(screen.getByLabelText('Branch'), { target: { value: 'dev' } });
    fireEvent.click(screen.getByRole('button', { name: 'Deploy' }));
    const alert = await screen.findByTestId('new-deployment-error');
    expect(alert.textContent).toBe('repository https://example.test/x.git is not reachable');
    expect(alert.getAttribute('role')).toBe('alert');
    expect(calls[0]).toMatchObject({ url: '/api/deployments', method: 'POST', body: { repoUrl: 'https://example.test/x.git', branch: 'dev' } });
    expect(onCreated).not.toHaveBeenCalled();
    // The form keeps what was typed.
    expect((screen.getByLabelText('Repository URL') as HTMLInputElement).value).toBe('https://example.test/x.git');
  });

  it('sends the overrides and reports the created deployment', async () => {
    const calls = mockFetch(() => json({ id: 'abc123', url: 'http://abc123.localhost/', workflowId: 'deploy-abc123' }, 202));
    const onCreated = vi.fn();
    render(<NewDeploymentForm onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Repository URL'), { target: { value: ' https://example.test/x.git ' } });
    fireEvent.click(screen.getByText('Build overrides (optional)'));
    fireEvent.change(screen.getByLabelText('Build command'), { target: { value: 'make site' } });
    fireEvent.change(screen.getByLabelText('Output directory'), { target: { value: 'public' } });
    fireEvent.click(screen.getByRole('button', { name: 'Deploy' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith({ id: 'abc123', url: 'http://abc123.localhost/', workflowId: 'deploy-abc123' }));
    expect(calls[0].body).toEqual({ repoUrl: 'https://example.test/x.git', buildCommand: 'make site', outputDir: 'public' });
  });

  it('explains a network failure', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    render(<NewDeploymentForm onCreated={() => {}} />);
    fireEvent.change(screen.getByLabelText('Repository URL'), { target: { value: 'https://example.test/x.git' } });
    fireEvent.click(screen.getByRole('button', { name: 'Deploy' }));
    expect((await screen.findByTestId('new-deployment-error')).textContent).toMatch(/Cannot reach the SkyDeploy gateway/);
  });
});
