import { vi } from 'vitest';

export type Call = { url: string; method: string; body: unknown; headers: Record<string, string> };

/** Replaces fetch with a handler; returns the recorded calls. */
export function mockFetch(handler: (url: URL, call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const call: Call = {
        url: input,
        method: init.method ?? 'GET',
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
        headers: (init.headers as Record<string, string>) ?? {},
      };
      calls.push(call);
      return handler(new URL(input, 'http://dash.test'), call);
    }),
  );
  return calls;
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
