// Typed client for the SkyDeploy gateway JSON API (same origin, under /api). The API's types
// are generated from the gateway's description (gateway/openapi.yaml) into api.gen.ts by
// `make api-types`; a Go test fails when that file is stale.
import type {
  CanceledDeployment,
  Config,
  Deployment,
  DeploymentList,
  DeploymentRequest,
  DeploymentStatus,
  Domain,
  DomainList,
  LogEnd,
  LogLine,
  Project,
  ProjectInput,
  ProjectList,
  PollAnswer,
  SignaledDeployment,
  StartedDeployment,
  StepState,
  TokenInfo,
} from './api.gen';

export type * from './api.gen';

/** A step's name. */
export type Step = StepState['name'];
/** A step's state. */
export type StepStateName = StepState['state'];
/** A deployment's state (DeploymentStatus is its whole status). */
export type DeploymentState = DeploymentStatus['status'];
export type ListFilter = { project?: string; status?: string; pageSize?: number; pageToken?: string };

export const TERMINAL: readonly DeploymentState[] = ['succeeded', 'failed', 'canceled'];
export const isTerminal = (s: DeploymentState) => TERMINAL.includes(s);

/** An API failure with a human-readable message. status 0 means the network failed. */
export class ApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
  get notFound() {
    return this.status === 404;
  }
  get unauthorized() {
    return this.status === 401;
  }
}

const TOKEN_KEY = 'skydeploy.token';

export const auth = {
  get token(): string | null {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token: string | null) {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage unavailable: keep going without persistence */
    }
  },
};

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called whenever the API answers 401; returns an unsubscribe function. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export const NETWORK_ERROR = 'Cannot reach the SkyDeploy gateway. Check your network connection and that the server is running.';

function headers(extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', ...extra };
  const t = auth.token;
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function errorFrom(res: Response, notFound?: string): Promise<ApiError> {
  let msg = '';
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') msg = body.error;
    } catch {
      msg = text.trim().slice(0, 200);
    }
  } catch {
    /* ignore */
  }
  if (res.status === 404 && notFound) msg = notFound;
  if (res.status === 401) {
    msg = msg || 'An API token is required.';
    unauthorizedListeners.forEach((fn) => fn());
  }
  if (!msg) msg = res.status >= 500 ? `The server had a problem (HTTP ${res.status}).` : `Request failed (HTTP ${res.status}).`;
  return new ApiError(res.status, msg);
}

async function request<T>(method: string, path: string, body?: unknown, notFound?: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body === undefined ? undefined : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, NETWORK_ERROR);
  }
  if (!res.ok) throw await errorFrom(res, notFound);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'The server sent a response the dashboard could not read.');
  }
}

function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;
const DEPLOYMENT_404 = 'Deployment not found.';
const PROJECT_404 = 'Project not found.';

export const api = {
  config: () => request<Config>('GET', '/api/config'),
  tokenInfo: (signal?: AbortSignal) => request<TokenInfo>('GET', '/api/token', undefined, undefined, signal),

  createDeployment: (d: DeploymentRequest) => request<StartedDeployment>('POST', '/api/deployments', d),
  listDeployments: (f: ListFilter = {}, signal?: AbortSignal) =>
    request<DeploymentList>(
      'GET',
      `/api/deployments${qs({ project: f.project, status: f.status, pageSize: f.pageSize ?? 20, pageToken: f.pageToken })}`,
      undefined,
      undefined,
      signal,
    ),
  getDeployment: (id: string, signal?: AbortSignal) =>
    request<Deployment>('GET', `/api/deployments/${enc(id)}`, undefined, DEPLOYMENT_404, signal),
  cancelDeployment: (id: string) => request<CanceledDeployment>('POST', `/api/deployments/${enc(id)}/cancel`, undefined, DEPLOYMENT_404),
  redeploy: (id: string) => request<StartedDeployment>('POST', `/api/deployments/${enc(id)}/redeploy`, undefined, DEPLOYMENT_404),
  retryDeployment: (id: string) => request<SignaledDeployment>('POST', `/api/deployments/${enc(id)}/retry`, undefined, DEPLOYMENT_404),
  abandonDeployment: (id: string, reason: string) =>
    request<SignaledDeployment>('POST', `/api/deployments/${enc(id)}/abandon`, { reason }, DEPLOYMENT_404),

  listProjects: (signal?: AbortSignal) => request<ProjectList>('GET', '/api/projects', undefined, undefined, signal),
  createProject: (p: ProjectInput) => request<Project>('POST', '/api/projects', p),
  getProject: (name: string, signal?: AbortSignal) =>
    request<Project>('GET', `/api/projects/${enc(name)}`, undefined, PROJECT_404, signal),
  updateProject: (name: string, p: ProjectInput) => request<Project>('PUT', `/api/projects/${enc(name)}`, p, PROJECT_404),
  deleteProject: (name: string) => request<void>('DELETE', `/api/projects/${enc(name)}`, undefined, PROJECT_404),
  projectDeployments: (name: string, pageToken?: string, signal?: AbortSignal) =>
    request<DeploymentList>(
      'GET',
      `/api/projects/${enc(name)}/deployments${qs({ pageSize: 20, pageToken })}`,
      undefined,
      PROJECT_404,
      signal,
    ),
  rollback: (name: string, deploymentId: string) =>
    request<Project>('POST', `/api/projects/${enc(name)}/rollback`, { deploymentId }, PROJECT_404),
  deployProject: (name: string) => request<StartedDeployment>('POST', `/api/projects/${enc(name)}/deploy`, undefined, PROJECT_404),
  pollProject: (name: string) => request<PollAnswer>('POST', `/api/projects/${enc(name)}/poll`, undefined, PROJECT_404),
  pauseProject: (name: string) => request<Project>('POST', `/api/projects/${enc(name)}/pause`, undefined, PROJECT_404),
  resumeProject: (name: string) => request<Project>('POST', `/api/projects/${enc(name)}/resume`, undefined, PROJECT_404),

  listDomains: (name: string, signal?: AbortSignal) =>
    request<DomainList>('GET', `/api/projects/${enc(name)}/domains`, undefined, PROJECT_404, signal),
  addDomain: (name: string, domain: string) => request<Domain>('POST', `/api/projects/${enc(name)}/domains`, { domain }, PROJECT_404),
  verifyDomain: (name: string, domain: string) =>
    request<Domain>('POST', `/api/projects/${enc(name)}/domains/${enc(domain)}/verify`, undefined, PROJECT_404),
  removeDomain: (name: string, domain: string) =>
    request<void>('DELETE', `/api/projects/${enc(name)}/domains/${enc(domain)}`, undefined, PROJECT_404),
};

// ---------------------------------------------------------------------------
// Server-Sent Events for the deployment log.
//
// The browser's EventSource cannot send an Authorization header, so the log
// stream is read with fetch() and parsed here. It behaves like EventSource:
// it reconnects after a dropped connection and sends Last-Event-ID so the
// server resumes where it left off. It stops after the `end` event.

export type SSEEvent = { event: string; data: string; id?: string };

/** Incremental parser for the text/event-stream format. */
export class SSEParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  lastEventId = '';

  /** Feeds a chunk of text; returns the complete events it finished. */
  push(chunk: string): SSEEvent[] {
    this.buf += chunk;
    const out: SSEEvent[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sepLen = this.buf.startsWith('\r\n', nl) ? 2 : 1;
      // A lone trailing \r could be the start of \r\n: wait for more input.
      if (sepLen === 1 && this.buf[nl] === '\r' && nl === this.buf.length - 1) break;
      this.buf = this.buf.slice(nl + sepLen);
      this.line(line, out);
    }
    return out;
  }

  private line(line: string, out: SSEEvent[]) {
    if (line === '') {
      if (this.id !== undefined) this.lastEventId = this.id;
      if (this.data.length) {
        out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.data = [];
      this.event = '';
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

export type LogStreamHandlers = {
  onLog: (line: LogLine) => void;
  onStatus?: (d: Deployment) => void;
  onEnd?: (status: string) => void;
  /** Connection state changes: 'connecting' | 'open' | 'retrying'. */
  onState?: (s: 'connecting' | 'open' | 'retrying') => void;
  /** Fatal error (404, 401, ...): the stream stops. */
  onError?: (e: ApiError) => void;
};

/** Opens the deployment log stream; returns a function that closes it. */
export function streamLogs(id: string, h: LogStreamHandlers, opts: { retryMs?: number } = {}): () => void {
  const ctrl = new AbortController();
  let closed = false;
  let lastId = '';
  const retryMs = opts.retryMs ?? 2000;

  const run = async () => {
    let attempt = 0;
    while (!closed) {
      h.onState?.(attempt === 0 ? 'connecting' : 'retrying');
      let ended = false;
      try {
        const hdrs = headers({ Accept: 'text/event-stream' });
        if (lastId) hdrs['Last-Event-ID'] = lastId;
        const res = await fetch(`/api/deployments/${enc(id)}/logs`, { headers: hdrs, signal: ctrl.signal, cache: 'no-store' });
        if (!res.ok) {
          const err = await errorFrom(res, DEPLOYMENT_404);
          if (res.status < 500 && res.status !== 408 && res.status !== 429) {
            h.onError?.(err);
            return;
          }
          throw err;
        }
        if (!res.body) throw new ApiError(0, 'This browser cannot stream the log.');
        h.onState?.('open');
        attempt = 0;
        const parser = new SSEParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const ev of parser.push(value)) {
            if (ev.id) lastId = ev.id;
            if (closed) return;
            let data: unknown;
            try {
              data = JSON.parse(ev.data);
            } catch {
              continue;
            }
            if (ev.event === 'log') h.onLog(data as LogLine);
            else if (ev.event === 'status') h.onStatus?.(data as Deployment);
            else if (ev.event === 'end') {
              ended = true;
              h.onEnd?.((data as Partial<LogEnd>)?.status ?? '');
            }
          }
          if (ended) {
            await reader.cancel().catch(() => {});
            break;
          }
        }
      } catch (e) {
        if (closed || (e as Error)?.name === 'AbortError') return;
      }
      if (ended || closed) return;
      attempt++;
      await new Promise((r) => setTimeout(r, Math.min(retryMs * attempt, 10000)));
    }
  };
  void run();
  return () => {
    closed = true;
    ctrl.abort();
  };
}
