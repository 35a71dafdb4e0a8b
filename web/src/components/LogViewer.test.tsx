import { describe, expect, it } from 'vitest';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { findMatches, LogViewer, ROW_HEIGHT, toStored, type StoredLine } from './LogViewer';

function makeLines(n: number, fn: (i: number) => string = (i) => `line ${i}`): StoredLine[] {
  return Array.from({ length: n }, (_, i) => toStored({ id: String(i), step: 'build', stream: 'stdout', line: fn(i), ts: '' }));
}

describe('findMatches', () => {
  it('finds lines by their visible text, ignoring ANSI codes and case', () => {
    const lines = makeLines(5, (i) => ['\x1b[31mERROR\x1b[0m one', 'ok', 'an error', 'x\x1b[1merr\x1b[0mor', 'fine'][i]);
    expect(findMatches(lines, 'error')).toEqual([0, 2, 3]);
    expect(findMatches(lines, '  ')).toEqual([]);
    expect(findMatches(lines, '[31m')).toEqual([]);
  });

  it('searches 50,000 lines quickly', () => {
    const lines = makeLines(50_000, (i) => (i % 1000 === 0 ? `\x1b[33mwarning ${i}\x1b[0m` : `compiled chunk ${i}`));
    const t = performance.now();
    const m = findMatches(lines, 'WARNING');
    expect(m).toHaveLength(50);
    expect(performance.now() - t).toBeLessThan(200);
  });
});

describe('<LogViewer>', () => {
  it('renders only the visible rows of 50,000 lines', () => {
    const lines = makeLines(50_000);
    const height = 400;
    render(<LogViewer lines={lines} version={1} height={height} />);
    const rendered = screen.getAllByTestId('log-line');
    // A viewport of 20 rows plus overscan, never 50,000.
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThanOrEqual(height / ROW_HEIGHT + 2 * 10 + 1);
    expect(screen.getByTestId('log-line-count').textContent).toMatch(/50,000 lines/);
    // The scroll area is as tall as all the lines.
    const list = screen.getByTestId('log-lines');
    expect((list.firstElementChild as HTMLElement).style.height).toBe(`${50_000 * ROW_HEIGHT}px`);
    // Following by default: the last line is rendered.
    expect(rendered[rendered.length - 1].textContent).toContain('line 49999');
  });

  it('renders other rows after scrolling', () => {
    const lines = makeLines(50_000);
    render(<LogViewer lines={lines} version={1} height={400} />);
    const list = screen.getByTestId('log-lines');
    act(() => {
      list.scrollTop = 25_000 * ROW_HEIGHT;
      fireEvent.scroll(list);
    });
    const texts = screen.getAllByTestId('log-line').map((r) => r.textContent);
    expect(texts.some((t) => t?.includes('line 25000'))).toBe(true);
    expect(texts.some((t) => t?.includes('line 49999'))).toBe(false);
    expect(texts.length).toBeLessThan(50);
  });

  it('searches, highlights matches and jumps between them', () => {
    const lines = makeLines(50_000, (i) => (i === 100 || i === 30_000 || i === 49_000 ? `\x1b[31mneedle\x1b[0m at ${i}` : `hay ${i}`));
    render(<LogViewer lines={lines} version={1} height={400} />);
    const input = screen.getByLabelText('Search log');
    fireEvent.change(input, { target: { value: 'NEEDLE' } });
    expect(screen.getByTestId('log-match-count').textContent).toBe('1 / 3');
    // Jumped to the first match, which is highlighted.
    let mark = document.querySelector('mark.log-match-current');
    expect(mark?.textContent).toBe('needle');
    expect(mark?.closest('[data-testid="log-line"]')?.textContent).toContain('needle at 100');
    // Follow was switched off by the jump.
    expect(screen.getByTestId('log-follow').getAttribute('aria-pressed')).toBe('false');

    fireEvent.keyDown(input, { key: 'Enter' });
    expect(screen.getByTestId('log-match-count').textContent).toBe('2 / 3');
    mark = document.querySelector('mark.log-match-current');
    expect(mark?.closest('[data-testid="log-line"]')?.textContent).toContain('needle at 30000');

    fireEvent.click(screen.getByRole('button', { name: 'Next match' }));
    expect(screen.getByTestId('log-match-count').textContent).toBe('3 / 3');
    fireEvent.click(screen.getByRole('button', { name: 'Next match' }));
    expect(screen.getByTestId('log-match-count').textContent).toBe('1 / 3');
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    expect(screen.getByTestId('log-match-count').textContent).toBe('3 / 3');

    fireEvent.change(input, { target: { value: 'nothing-like-this' } });
    expect(screen.getByTestId('log-match-count').textContent).toBe('No matches');
    expect(document.querySelector('mark')).toBeNull();
  });

  it('toggles auto-follow', () => {
    const lines = makeLines(10);
    const { rerender } = render(<LogViewer lines={lines} version={1} height={100} />);
    const btn = screen.getByTestId('log-follow');
    expect(btn.getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(btn);
    expect(btn.getAttribute('aria-pressed')).toBe('false');
    const list = screen.getByTestId('log-lines');
    const top = list.scrollTop;
    lines.push(...makeLines(1000).map((l) => ({ ...l, id: `n${l.id}` })));
    rerender(<LogViewer lines={lines} version={2} height={100} />);
    expect(list.scrollTop).toBe(top); // paused: stays put
    fireEvent.click(btn);
    expect(list.scrollTop).toBe(1010 * ROW_HEIGHT - 100);
  });

  it('shows an empty state without lines', () => {
    render(<LogViewer lines={[]} version={0} height={100} emptyText="Nothing yet" />);
    expect(screen.getByTestId('log-empty').textContent).toBe('Nothing yet');
  });
});
