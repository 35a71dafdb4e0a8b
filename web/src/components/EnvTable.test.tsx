import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { EnvTable } from './EnvTable';

describe('<EnvTable>', () => {
  it('shows each variable with its kind and the builds it applies to', () => {
    render(
      <EnvTable
        env={[
          { key: 'API_KEY', value: '••••cdef', secret: true, target: 'production' },
          { key: 'API_URL', value: 'https://api.test', secret: false, target: 'preview' },
          { key: 'MODE', value: 'fast', secret: false, target: 'all' },
        ]}
      />,
    );
    const rows = screen.getAllByTestId('env-table-row').map((r) => Array.from(r.querySelectorAll('td')).map((c) => c.textContent));
    expect(rows).toEqual([
      ['API_KEY', '••••cdef', 'Secret', 'Production'],
      ['API_URL', 'https://api.test', 'Plain', 'Previews'],
      ['MODE', 'fast', 'Plain', 'All builds'],
    ]);
  });

  it('says when there are none', () => {
    render(<EnvTable env={[]} />);
    expect(screen.getByText('No variables.')).toBeTruthy();
  });
});
