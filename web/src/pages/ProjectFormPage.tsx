import { useState, type FormEvent } from 'react';
import { api, type EnvVar, type EnvVarInput, type Project, type ProjectInput, type WatchInput } from '../api';
import { Link, navigate } from '../router';
import { useResource } from '../lib/useResource';
import { isHttpUrl } from '../lib/format';
import { ErrorMessage, Field, Skeleton, useDocumentTitle } from '../components/ui';

type Target = EnvVar['target'];

/**
 * One variable in the form. masked is the server's masked value of a stored secret (a blank value
 * keeps it); plain values are shown as they are. Until the target is chosen it follows the kind:
 * production builds for secrets, every build for plain values (the server's defaults).
 */
type EnvRow = { key: string; value: string; masked?: string; secret: boolean; target: Target; targetChosen: boolean; rid: number };
let rid = 0;

const TARGETS: { value: Target; label: string }[] = [
  { value: 'production', label: 'Production' },
  { value: 'preview', label: 'Previews' },
  { value: 'all', label: 'All builds' },
];
const defaultTarget = (secret: boolean): Target => (secret ? 'production' : 'all');

function rowFrom(v: EnvVar): EnvRow {
  return v.secret
    ? { key: v.key, value: '', masked: v.value, secret: true, target: v.target, targetChosen: true, rid: ++rid }
    : { key: v.key, value: v.value, secret: false, target: v.target, targetChosen: true, rid: ++rid };
}

/** What the form sends for a row: no value keeps a stored secret. */
function envInput(r: EnvRow): EnvVarInput {
  const e: EnvVarInput = { key: r.key.trim(), secret: r.secret, target: r.target };
  if (!(r.masked !== undefined && r.value === '')) e.value = r.value;
  return e;
}

/** The form's whole input: everything a project has, watch settings included. */
type FormInput = ProjectInput & { name: string; repoUrl: string; productionBranch: string; env: EnvVarInput[]; watch: Required<WatchInput> };

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DURATION_RE = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Errors = Partial<Record<'name' | 'repoUrl' | 'productionBranch' | 'interval' | 'env', string>>;

export function validateProject(name: string, input: FormInput, rows: EnvRow[], creating: boolean): Errors {
  const e: Errors = {};
  if (creating) {
    if (!name) e.name = 'Enter a name.';
    else if (!NAME_RE.test(name)) e.name = 'Use lowercase letters, digits and hyphens (it becomes part of the URL).';
  }
  if (!input.repoUrl) e.repoUrl = 'Enter the repository URL.';
  else if (!isHttpUrl(input.repoUrl)) e.repoUrl = 'Use an http:// or https:// URL.';
  if (!input.productionBranch) e.productionBranch = 'Enter the production branch.';
  if (input.watch.enabled && !DURATION_RE.test(input.watch.interval)) e.interval = 'Use a duration such as 30s, 1m or 1h30m.';
  const keys = new Set<string>();
  for (const r of rows) {
    const k = r.key.trim();
    if (!k && !r.value) continue;
    if (!ENV_KEY_RE.test(k)) {
      e.env = `“${k || '(empty)'}” is not a valid variable name.`;
      break;
    }
    if (keys.has(k)) {
      e.env = `${k} is set twice.`;
      break;
    }
    keys.add(k);
    if (r.masked === undefined && !r.value) {
      e.env = `Enter a value for ${k}.`;
      break;
    }
  }
  return e;
}

type Props = {
  initial?: Project;
  onSubmit: (input: ProjectInput) => Promise<void>;
  onCancelHref: string;
};

/** The create/edit form. Existing env values are masked by the server and never shown; a blank value keeps them. */
export function ProjectForm({ initial, onSubmit, onCancelHref }: Props) {
  const creating = !initial;
  const [name, setName] = useState(initial?.name ?? '');
  const [repoUrl, setRepoUrl] = useState(initial?.repoUrl ?? '');
  const [branch, setBranch] = useState(initial?.productionBranch ?? 'main');
  const [rootDir, setRootDir] = useState(initial?.rootDir ?? '');
  const [installCommand, setInstall] = useState(initial?.installCommand ?? '');
  const [buildCommand, setBuild] = useState(initial?.buildCommand ?? '');
  const [outputDir, setOutput] = useState(initial?.outputDir ?? '');
  const [env, setEnv] = useState<EnvRow[]>(() => (initial?.env ?? []).map(rowFrom));
  const [watchOn, setWatchOn] = useState(initial?.watch.enabled ?? true);
  const [interval, setIntervalStr] = useState(initial?.watch.interval ?? '1m');
  const [previews, setPreviews] = useState(initial?.watch.previews ?? false);
  const [errors, setErrors] = useState<Errors>({});
  const [serverError, setServerError] = useState('');
  const [busy, setBusy] = useState(false);

  const build = (): FormInput => {
    const input: FormInput = {
      name: creating ? name.trim() : initial!.name,
      repoUrl: repoUrl.trim(),
      productionBranch: branch.trim(),
      env: env.filter((r) => r.key.trim() || r.value).map(envInput),
      watch: { enabled: watchOn, interval: interval.trim(), previews, paused: initial?.watch.paused ?? false },
    };
    if (rootDir.trim()) input.rootDir = rootDir.trim();
    if (installCommand.trim()) input.installCommand = installCommand.trim();
    if (buildCommand.trim()) input.buildCommand = buildCommand.trim();
    if (outputDir.trim()) input.outputDir = outputDir.trim();
    return input;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input = build();
    const errs = validateProject(name.trim(), input, env, creating);
    setErrors(errs);
    setServerError('');
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      await onSubmit(input);
    } catch (err) {
      setServerError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const updateRow = (id: number, patch: Partial<EnvRow>) => setEnv((rows) => rows.map((r) => (r.rid === id ? { ...r, ...patch } : r)));

  const input = (id: string, label: string, value: string, set: (v: string) => void, opts: { placeholder?: string; hint?: string; error?: string; mono?: boolean; testId?: string } = {}) => (
    <Field label={label} htmlFor={id} hint={opts.hint} error={opts.error}>
      <input
        id={id}
        className={`input ${opts.mono ? 'font-mono' : ''}`}
        value={value}
        onChange={(e) => set(e.target.value)}
        placeholder={opts.placeholder}
        aria-invalid={!!opts.error}
        aria-describedby={opts.error ? `${id}-error` : undefined}
        autoComplete="off"
        spellCheck={false}
        data-testid={opts.testId}
      />
    </Field>
  );

  return (
    <form onSubmit={submit} noValidate className="space-y-6" data-testid="project-form">
      <section className="card grid gap-4 p-4 sm:grid-cols-2 sm:p-5">
        <h2 className="text-base font-semibold sm:col-span-2">Source</h2>
        {creating ? (
          input('pf-name', 'Name', name, setName, { placeholder: 'my-site', hint: 'Lowercase letters, digits and hyphens.', error: errors.name, testId: 'project-name' })
        ) : (
          <div>
            <span className="block text-sm font-medium text-slate-700">Name</span>
            <span className="mt-2 block font-mono text-sm">{initial!.name}</span>
          </div>
        )}
        {input('pf-repo', 'Repository URL', repoUrl, setRepoUrl, { placeholder: 'https://github.com/acme/site.git', error: errors.repoUrl, mono: true, testId: 'project-repo' })}
        {input('pf-branch', 'Production branch', branch, setBranch, { placeholder: 'main', error: errors.productionBranch, mono: true, testId: 'project-branch' })}
        {input('pf-root', 'Root directory', rootDir, setRootDir, { placeholder: '(repository root)', hint: 'For monorepos, e.g. apps/web', mono: true })}
      </section>

      <section className="card grid gap-4 p-4 sm:grid-cols-3 sm:p-5">
        <div className="sm:col-span-3">
          <h2 className="text-base font-semibold">Build overrides</h2>
          <p className="text-xs text-slate-500">Leave empty to use what SkyDeploy detects.</p>
        </div>
        {input('pf-install', 'Install command', installCommand, setInstall, { placeholder: 'npm ci', mono: true })}
        {input('pf-build', 'Build command', buildCommand, setBuild, { placeholder: 'npm run build', mono: true })}
        {input('pf-output', 'Output directory', outputDir, setOutput, { placeholder: 'dist', mono: true })}
      </section>

      <section className="card space-y-3 p-4 sm:p-5" aria-labelledby="pf-env-h">
        <div>
          <h2 id="pf-env-h" className="text-base font-semibold">
            Environment variables
          </h2>
          <p className="text-xs text-slate-500">
            Secret values are hidden here, in the API and in build logs: leave a saved one empty to keep it, or type a new one to replace it.
            Plain values are shown as they are. Each variable applies to production builds, preview builds or all builds.
          </p>
        </div>
        {env.length === 0 && <p className="text-sm text-slate-500">No variables.</p>}
        <ul className="space-y-2" data-testid="env-rows">
          {env.map((r, i) => (
            <li key={r.rid} className="grid grid-cols-[1fr_auto_auto] items-center gap-2 sm:grid-cols-[12rem_1fr_auto_auto_auto]" data-testid="env-row">
              <div className="col-span-3 sm:col-span-1">
                <label className="sr-only" htmlFor={`env-key-${r.rid}`}>
                  Name of variable {i + 1}
                </label>
                <input
                  id={`env-key-${r.rid}`}
                  className="input font-mono"
                  value={r.key}
                  placeholder="NAME"
                  onChange={(e) => updateRow(r.rid, { key: e.target.value })}
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="env-key"
                />
              </div>
              <div className="col-span-3 sm:col-span-1">
                <label className="sr-only" htmlFor={`env-value-${r.rid}`}>
                  Value of {r.key || `variable ${i + 1}`}
                </label>
                <input
                  id={`env-value-${r.rid}`}
                  type={r.secret ? 'password' : 'text'}
                  className="input font-mono"
                  value={r.value}
                  placeholder={r.masked !== undefined ? `${r.masked} (unchanged)` : 'value'}
                  onChange={(e) => updateRow(r.rid, { value: e.target.value })}
                  autoComplete={r.secret ? 'new-password' : 'off'}
                  spellCheck={false}
                  data-testid="env-value"
                  data-masked={r.masked}
                />
              </div>
              <label className="flex items-center gap-1.5 text-sm" title="Secret values are masked in the API and in build logs">
                <input
                  type="checkbox"
                  className="h-4 w-4"
                  checked={r.secret}
                  onChange={(e) => updateRow(r.rid, { secret: e.target.checked, ...(r.targetChosen ? {} : { target: defaultTarget(e.target.checked) }) })}
                  aria-label={`${r.key || `Variable ${i + 1}`} is secret`}
                  data-testid="env-secret"
                />
                Secret
              </label>
              <div>
                <label className="sr-only" htmlFor={`env-target-${r.rid}`}>
                  Builds {r.key || `variable ${i + 1}`} applies to
                </label>
                <select
                  id={`env-target-${r.rid}`}
                  className="input"
                  value={r.target}
                  onChange={(e) => updateRow(r.rid, { target: e.target.value as Target, targetChosen: true })}
                  data-testid="env-target"
                >
                  {TARGETS.map((t) => (
                    <option key={t.value} value={t.value}>
                      {t.label}
                    </option>
                  ))}
                </select>
              </div>
              <button type="button" className="btn btn-danger" onClick={() => setEnv((rows) => rows.filter((x) => x.rid !== r.rid))} aria-label={`Remove ${r.key || `variable ${i + 1}`}`} data-testid="env-remove">
                Remove
              </button>
            </li>
          ))}
        </ul>
        {errors.env && (
          <p className="text-sm text-red-700" role="alert">
            {errors.env}
          </p>
        )}
        <button type="button" className="btn btn-sm" onClick={() => setEnv((rows) => [...rows, { key: '', value: '', secret: true, target: defaultTarget(true), targetChosen: false, rid: ++rid }])} data-testid="env-add">
          + Add variable
        </button>
      </section>

      <section className="card grid gap-4 p-4 sm:grid-cols-3 sm:p-5" aria-labelledby="pf-watch-h">
        <h2 id="pf-watch-h" className="text-base font-semibold sm:col-span-3">
          Watch for new commits
        </h2>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={watchOn} onChange={(e) => setWatchOn(e.target.checked)} className="h-4 w-4" data-testid="watch-enabled" />
          Deploy new commits on the production branch
        </label>
        {input('pf-interval', 'Poll interval', interval, setIntervalStr, { placeholder: '1m', hint: 'e.g. 30s, 1m, 5m', error: errors.interval, mono: true, testId: 'watch-interval' })}
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={previews} onChange={(e) => setPreviews(e.target.checked)} className="h-4 w-4" data-testid="watch-previews" />
          Preview deployments for other branches
        </label>
      </section>

      {serverError && (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="project-form-error">
          {serverError}
        </div>
      )}
      <div className="flex gap-2">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="project-submit">
          {busy ? 'Saving…' : creating ? 'Create project' : 'Save changes'}
        </button>
        <Link to={onCancelHref} className="btn">
          Cancel
        </Link>
      </div>
    </form>
  );
}

export function ProjectFormPage({ name }: { name?: string }) {
  useDocumentTitle(name ? `Edit ${name}` : 'New project');
  const res = useResource((signal) => (name ? api.getProject(name, signal) : Promise.resolve(undefined)), [name], { refetchOnFocus: false });
  const back = name ? `/projects/${encodeURIComponent(name)}` : '/projects';
  return (
    <div className="space-y-5">
      <Link to={back} className="text-sm">
        ← {name ? name : 'Projects'}
      </Link>
      <h1 className="text-2xl font-semibold">{name ? `Edit ${name}` : 'New project'}</h1>
      {name && res.error ? (
        <ErrorMessage error={res.error} onRetry={(res.error as { status?: number }).status === 404 ? undefined : res.reload} />
      ) : name && !res.data ? (
        <Skeleton className="h-96 w-full" />
      ) : (
        <ProjectForm
          initial={res.data}
          onCancelHref={back}
          onSubmit={async (input) => {
            const p = name ? await api.updateProject(name, input) : await api.createProject(input);
            navigate(`/projects/${encodeURIComponent(p?.name ?? input.name)}`);
          }}
        />
      )}
    </div>
  );
}
