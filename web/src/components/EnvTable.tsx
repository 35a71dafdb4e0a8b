import type { EnvVar } from '../api';

const TARGET_LABEL: Record<EnvVar['target'], string> = { production: 'Production', preview: 'Previews', all: 'All builds' };

/** A project's environment variables: secret values as the server masked them, plain ones as they are. */
export function EnvTable({ env }: { env: EnvVar[] }) {
  if (env.length === 0) return <p className="px-4 py-3 text-sm text-slate-500">No variables.</p>;
  return (
    <table className="w-full text-sm" data-testid="env-table">
      <thead>
        <tr className="text-left text-xs text-slate-500">
          <th className="px-4 py-2 font-medium">Name</th>
          <th className="px-4 py-2 font-medium">Value</th>
          <th className="px-4 py-2 font-medium">Kind</th>
          <th className="px-4 py-2 font-medium">Builds</th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {env.map((e) => (
          <tr key={e.key} data-testid="env-table-row">
            <td className="px-4 py-2 font-mono">{e.key}</td>
            <td className="max-w-xs truncate px-4 py-2 font-mono" title={e.secret ? undefined : e.value}>
              {e.value}
            </td>
            <td className="px-4 py-2">{e.secret ? 'Secret' : 'Plain'}</td>
            <td className="px-4 py-2">{TARGET_LABEL[e.target] ?? e.target}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
