import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { ProjectForm } from './ProjectFormPage';
import type { Project, ProjectInput } from '../api';

const project: Project = {
  name: 'site',
  repoUrl: 'https://git.test/acme/site.git',
  productionBranch: 'main',
  rootDir: '',
  installCommand: '',
  buildCommand: 'npm run build',
  outputDir: '',
  env: [
    { key: 'API_KEY', value: '••••cdef', secret: true, target: 'production' },
    { key: 'REGION', value: '••••eu-1', secret: true, target: 'all' },
  ],
  watch: { enabled: true, interval: '1m0s', paused: true, previews: false },
  url: 'http://site.localhost/',
  liveDeploymentId: '',
  createdAt: '2024-01-01T00:00:00Z',
  updatedAt: '2024-01-01T00:00:00Z',
};

describe('<ProjectForm>', () => {
  it('masks existing env values and keeps them unless replaced', async () => {
    const onSubmit = vi.fn(async (_: ProjectInput) => {});
    render(<ProjectForm initial={project} onSubmit={onSubmit} onCancelHref="/projects/site" />);
    const values = screen.getAllByTestId('env-value') as HTMLInputElement[];
    expect(values).toHaveLength(2);
    for (const v of values) {
      expect(v.type).toBe('password');
      expect(v.value).toBe(''); // the masked value is never put in the input
    }
    expect(values[0].placeholder).toBe('••••cdef (unchanged)');
    expect(screen.getByLabelText('Value of API_KEY')).toBe(values[0]);

    // Replace REGION, add a new variable, remove nothing.
    fireEvent.change(values[1], { target: { value: 'us-east-1' } });
    fireEvent.click(screen.getByTestId('env-add'));
    const keys = screen.getAllByTestId('env-key') as HTMLInputElement[];
    fireEvent.change(keys[2], { target: { value: 'NEW_VAR' } });
    fireEvent.change(screen.getAllByTestId('env-value')[2], { target: { value: 's3cret' } });
    fireEvent.click(screen.getByTestId('project-submit'));

    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    const input = onSubmit.mock.calls[0][0];
    expect(input.env).toEqual([
      { key: 'API_KEY', secret: true, target: 'production' },
      { key: 'REGION', value: 'us-east-1', secret: true, target: 'all' },
      { key: 'NEW_VAR', value: 's3cret', secret: true, target: 'production' },
    ]);
    expect(input).toMatchObject({
      name: 'site',
      repoUrl: 'https://git.test/acme/site.git',
      productionBranch: 'main',
      buildCommand: 'npm run build',
      watch: { enabled: true, interval: '1m0s', paused: true, previews: false },
    });
    expect(JSON.stringify(input)).not.toContain('••••');
  });

  it('edits whether a variable is secret and which builds it applies to', async () => {
    const onSubmit = vi.fn(async (_: ProjectInput) => {});
    const withPlain: Project = { ...project, env: [...project.env, { key: 'API_URL', value: 'https://api.test', secret: false, target: 'all' }] };
    render(<ProjectForm initial={withPlain} onSubmit={onSubmit} onCancelHref="/projects/site" />);
    const values = screen.getAllByTestId('env-value') as HTMLInputElement[];
    const secret = screen.getAllByTestId('env-secret') as HTMLInputElement[];
    const target = screen.getAllByTestId('env-target') as HTMLSelectElement[];
    // A plain value is shown as it is; secrets stay hidden.
    expect(values[2].type).toBe('text');
    expect(values[2].value).toBe('https://api.test');
    expect(secret.map((c) => c.checked)).toEqual([true, true, false]);
    expect(target.map((t) => t.value)).toEqual(['production', 'all', 'all']);

    // API_KEY also goes to previews; API_URL becomes a preview-only secret.
    fireEvent.change(target[0], { target: { value: 'all' } });
    fireEvent.click(secret[2]);
    expect(values[2].type).toBe('password');
    fireEvent.change(target[2], { target: { value: 'preview' } });
    // A new plain variable applies to every build until told otherwise.
    fireEvent.click(screen.getByTestId('env-add'));
    fireEvent.change(screen.getAllByTestId('env-key')[3], { target: { value: 'MODE' } });
    fireEvent.change(screen.getAllByTestId('env-value')[3], { target: { value: 'fast' } });
    expect((screen.getAllByTestId('env-target')[3] as HTMLSelectElement).value).toBe('production');
    fireEvent.click(screen.getByLabelText('MODE is secret'));
    expect((screen.getAllByTestId('env-target')[3] as HTMLSelectElement).value).toBe('all');
    fireEvent.click(screen.getByTestId('project-submit'));

    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0].env).toEqual([
      { key: 'API_KEY', secret: true, target: 'all' },
      { key: 'REGION', secret: true, target: 'all' },
      { key: 'API_URL', value: 'https://api.test', secret: true, target: 'preview' },
      { key: 'MODE', value: 'fast', secret: false, target: 'all' },
    ]);
  });

  it('removes env rows and requires a value for new ones', async () => {
    const onSubmit = vi.fn(async () => {});
    render(<ProjectForm initial={project} onSubmit={onSubmit} onCancelHref="/" />);
    fireEvent.click(screen.getByRole('button', { name: 'Remove API_KEY' }));
    expect(screen.getAllByTestId('env-row')).toHaveLength(1);
    fireEvent.click(screen.getByTestId('env-add'));
    fireEvent.change(screen.getAllByTestId('env-key')[1], { target: { value: 'TOKEN' } });
    fireEvent.click(screen.getByTestId('project-submit'));
    expect(await screen.findByText('Enter a value for TOKEN.')).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('validates a new project and shows the server error inline', async () => {
    const onSubmit = vi.fn(async () => {
      throw new Error('project site already exists');
    });
    render(<ProjectForm onSubmit={onSubmit} onCancelHref="/projects" />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'My Site' } });
    fireEvent.change(screen.getByLabelText('Poll interval'), { target: { value: 'soon' } });
    fireEvent.click(screen.getByTestId('project-submit'));
    expect(await screen.findByText(/Use lowercase letters/)).toBeTruthy();
    expect(screen.getByText('Enter the repository URL.')).toBeTruthy();
    expect(screen.getByText(/Use a duration/)).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();

    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'site' } });
    fireEvent.change(screen.getByLabelText('Repository URL'), { target: { value: 'https://git.test/a.git' } });
    fireEvent.change(screen.getByLabelText('Poll interval'), { target: { value: '5m' } });
    fireEvent.click(screen.getByTestId('watch-previews'));
    fireEvent.click(screen.getByTestId('project-submit'));
    expect((await screen.findByTestId('project-form-error')).textContent).toBe('project site already exists');
    expect(onSubmit).toHaveBeenCalledWith({
      name: 'site',
      repoUrl: 'https://git.test/a.git',
      productionBranch: 'main',
      env: [],
      watch: { enabled: true, interval: '5m', previews: true, paused: false },
    });
  });
});
