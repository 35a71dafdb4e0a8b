import { describe, expect, it } from 'vitest';
import { highlight, parseAnsi, stripAnsi } from './ansi';

describe('parseAnsi', () => {
  it('keeps plain text as one segment', () => {
    expect(parseAnsi('hello world')).toEqual([{ text: 'hello world', style: {} }]);
  });

  it('applies and resets 16-colour foreground and bold', () => {
    const segs = parseAnsi('a\x1b[31mred\x1b[0m b\x1b[1;92mbright\x1b[22m\x1b[39m c');
    expect(segs).toEqual([
      { text: 'a', style: {} },
      { text: 'red', style: { fg: 'ansi-1' } },
      { text: ' b', style: {} },
      { text: 'bright', style: { bold: true, fg: 'ansi-10' } },
      { text: ' c', style: {} },
    ]);
  });

  it('supports backgrounds, 256 colours and truecolor', () => {
    const segs = parseAnsi('\x1b[44mbg\x1b[49m\x1b[38;5;196mx\x1b[38;2;1;2;3my\x1b[48;5;240mz');
    expect(segs.map((s) => s.style)).toEqual([
      { bg: 'ansi-4' },
      { fg: 'rgb(255,0,0)' },
      { fg: 'rgb(1,2,3)' },
      { fg: 'rgb(1,2,3)', bg: 'rgb(88,88,88)' },
    ]);
  });

  it('treats an empty SGR as reset', () => {
    expect(parseAnsi('\x1b[32mgo\x1b[mne')).toEqual([
      { text: 'go', style: { fg: 'ansi-2' } },
      { text: 'ne', style: {} },
    ]);
  });

  it('strips other control sequences (cursor moves, erase, OSC links, BEL)', () => {
    expect(stripAnsi('\x1b[2K\x1b[1Gdone\x1b]8;;http://x\x07link\x1b]8;;\x07\x07')).toBe('donelink');
  });

  it('keeps only the last redraw of a carriage-return progress line', () => {
    expect(stripAnsi('10%\r50%\r100%')).toBe('100%');
    expect(stripAnsi('done\r\n')).toBe('done');
  });
});

describe('highlight', () => {
  it('splits coloured segments where the query matches, case-insensitively', () => {
    const out = highlight(parseAnsi('\x1b[31merror\x1b[0m: Error here'), 'ERR');
    expect(out).toEqual([
      { text: 'err', style: { fg: 'ansi-1' }, match: true },
      { text: 'or', style: { fg: 'ansi-1' } },
      { text: ': ', style: {} },
      { text: 'Err', style: {}, match: true },
      { text: 'or here', style: {} },
    ]);
  });

  it('handles matches across segment boundaries', () => {
    const out = highlight(parseAnsi('ab\x1b[32mcd\x1b[0m'), 'bc');
    expect(out.filter((s) => s.match).map((s) => s.text)).toEqual(['b', 'c']);
  });

  it('returns the segments unchanged without a query or match', () => {
    const segs = parseAnsi('plain');
    expect(highlight(segs, '')).toBe(segs);
    expect(highlight(segs, 'zzz')).toBe(segs);
  });
});
