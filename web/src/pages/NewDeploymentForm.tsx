import { useState, type FormEvent } from 'react';
import { api, type DeploymentRequest, type StartedDeployment } from '../api';

/** The form's fields: a deployment request without a commit. */
type NewDeployment = Omit<DeploymentRequest, 'commit'>;
import { isHttpUrl } from '../lib/format';
import { Field } from '../components/ui';

type Props = {
  onCreated: (a: StartedDeployment) => void;
  onCancel?: () => void;
  projects?: string[];
};

export function validateRepoUrl(v: string): string {
  const s = v.trim();
  if (!s) return 'Enter the repository URL.';
  if (!isHttpUrl(s)) return 'Use an http:// or https:// URL, e.g. https://github.com/acme/site.git';
  return '';
}

export function NewDeploymentForm({ onCreated, onCancel, projects = [] }: Props) {
  const [f, setF] = useState<Required<NewDeployment>>({
    repoUrl: '',
    branch: '',
    project: '',
    rootDir: '',
    installCommand: '',
    buildCommand: '',
    outputDir: '',
  });
  const [repoError, setRepoError] = useState('');
  const [serverError, setServerError] = useState('');
  const [busy, setBusy] = useState(false);

  const set = (k: keyof NewDeployment) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const err = validateRepoUrl(f.repoUrl);
    setRepoError(err);
    setServerError('');
    if (err) {
      document.getElementById('nd-repo')?.focus();
      return;
    }
    const body: NewDeployment = { repoUrl: f.repoUrl.trim() };
    for (const k of ['branch', 'project', 'rootDir', 'installCommand', 'buildCommand', 'outputDir'] as const) {
      const v = f[k].trim();
      if (v) body[k] = v;
    }
    setBusy(true);
    try {
      onCreated(await api.createDeployment(body));
    } catch (err) {
      setServerError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const text = (id: string, k: keyof NewDeployment, label: string, placeholder: string, hint?: string) => (
    <Field label={label} htmlFor={id} hint={hint}>
      <input id={id} className="input font-mono" value={f[k]} onChange={set(k)} placeholder={placeholder} autoComplete="off" spellCheck={false} />
    </Field>
  );

  return (
    <form onSubmit={submit} noValidate className="card space-y-4 p-4 sm:p-5" data-testid="new-deployment-form" aria-labelledby="nd-title">
      <h2 id="nd-title" className="text-base font-semibold">
        New deployment
      </h2>
      <div className="grid gap-4 sm:grid-cols-[1fr_14rem]">
        <Field label="Repository URL" htmlFor="nd-repo" error={repoError}>
          <input
            id="nd-repo"
            type="url"
            inputMode="url"
            className="input font-mono"
            value={f.repoUrl}
            onChange={(e) => {
              set('repoUrl')(e);
              if (repoError) setRepoError('');
            }}
            placeholder="https://github.com/acme/site.git"
            aria-invalid={!!repoError}
            aria-describedby={repoError ? 'nd-repo-error' : undefined}
            required
            autoComplete="off"
            spellCheck={false}
            data-testid="new-deployment-repo"
          />
        </Field>
        <Field label="Branch" htmlFor="nd-branch" hint="Empty: the default branch">
          <input
            id="nd-branch"
            className="input font-mono"
            value={f.branch}
            onChange={set('branch')}
            placeholder="main"
            autoComplete="off"
            spellCheck={false}
            data-testid="new-deployment-branch"
          />
        </Field>
      </div>
      <details className="group rounded-md border border-slate-200 px-3 py-2">
        <summary className="cursor-pointer text-sm font-medium text-slate-700 select-none">Build overrides (optional)</summary>
        <div className="mt-3 grid gap-4 pb-2 sm:grid-cols-2">
          <Field label="Project" htmlFor="nd-project" hint="Attach the deployment to a project">
            <input id="nd-project" className="input" value={f.project} onChange={set('project')} list="nd-projects" autoComplete="off" />
            <datalist id="nd-projects">
              {projects.map((p) => (
                <option key={p} value={p} />
              ))}
            </datalist>
          </Field>
          {text('nd-root', 'rootDir', 'Root directory', 'apps/web', 'For monorepos')}
          {text('nd-install', 'installCommand', 'Install command', 'npm ci')}
          {text('nd-build', 'buildCommand', 'Build command', 'npm run build')}
          {text('nd-output', 'outputDir', 'Output directory', 'dist')}
        </div>
      </details>
      {serverError && (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="new-deployment-error">
          {serverError}
        </div>
      )}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="new-deployment-submit">
          {busy ? 'Deploying…' : 'Deploy'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
