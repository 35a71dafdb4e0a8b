import { describe, expect, it } from 'vitest';
import { render } from '@testing-library/react';
import { Ansi } from './Ansi';

describe('<Ansi>', () => {
  it('renders colours as classes and inline styles, and no escape characters', () => {
    const { container } = render(
      <div>
        <Ansi text={'\x1b[1;31mFAIL\x1b[0m plain \x1b[38;2;10;20;30mrgb\x1b[0m'} />
      </div>,
    );
    expect(container.textContent).toBe('FAIL plain rgb');
    expect(container.textContent).not.toContain('\x1b');
    const fail = [...container.querySelectorAll('span')].find((s) => s.textContent === 'FAIL')!;
    expect(fail.className).toContain('ansi-fg-1');
    expect(fail.className).toContain('font-bold');
    const rgb = [...container.querySelectorAll('span')].find((s) => s.textContent === 'rgb')!;
    expect(rgb.style.color).toBe('rgb(10, 20, 30)');
  });

  it('wraps search matches in <mark>, the current one distinguished', () => {
    const { container } = render(
      <div>
        <Ansi text={'\x1b[33mwarn\x1b[0m: WARNING'} query="warn" current />
      </div>,
    );
    const marks = container.querySelectorAll('mark');
    expect([...marks].map((m) => m.textContent)).toEqual(['warn', 'WARN']);
    expect(marks[0].className).toContain('log-match-current');
    expect(marks[0].querySelector('span')!.className).toContain('ansi-fg-3');
  });
});
