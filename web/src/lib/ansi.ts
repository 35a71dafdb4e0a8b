// A small ANSI escape sequence parser: SGR colours and styles become styled
// segments; every other control sequence is stripped.

export type AnsiStyle = {
  fg?: string; // "ansi-<n>" for the 16 colours, or a CSS colour
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
};

export type Segment = { text: string; style: AnsiStyle };

// xterm 256-colour palette beyond the 16 base colours.
function color256(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
  if (n < 16) return `ansi-${n}`;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

function applySGR(params: number[], st: AnsiStyle): AnsiStyle {
  let s = { ...st };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) s = {};
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = undefined;
    else if (p === 23) s.italic = undefined;
    else if (p === 24) s.underline = undefined;
    else if (p === 27) s.inverse = undefined;
    else if (p >= 30 && p <= 37) s.fg = `ansi-${p - 30}`;
    else if (p >= 90 && p <= 97) s.fg = `ansi-${p - 90 + 8}`;
    else if (p >= 40 && p <= 47) s.bg = `ansi-${p - 40}`;
    else if (p >= 100 && p <= 107) s.bg = `ansi-${p - 100 + 8}`;
    else if (p === 39) s.fg = undefined;
    else if (p === 49) s.bg = undefined;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      if (params[i + 1] === 5) {
        s[key] = color256(params[i + 2]);
        i += 2;
      } else if (params[i + 1] === 2) {
        const [r, g, b] = params.slice(i + 2, i + 5);
        if ([r, g, b].every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) s[key] = `rgb(${r},${g},${b})`;
        i += 4;
      }
    }
  }
  return s;
}

// CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), and two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESC_RE = /\x1b\[([0-?]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b([0-?]*)([@-~])/g;

/** Splits one log line into styled segments. */
export function parseAnsi(input: string): Segment[] {
  // A carriage return redraws the line (progress bars): keep what is shown last.
  let line = input.replace(/[\r\n]+$/, '');
  if (line.includes('\r')) {
    const parts = line.split('\r');
    line = parts[parts.length - 1];
  }
  const out: Segment[] = [];
  let style: AnsiStyle = {};
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = out[out.length - 1];
    if (prev && sameStyle(prev.style, style)) prev.text += text;
    else out.push({ text, style });
  };
  ESC_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ESC_RE.exec(line))) {
    push(stripControls(line.slice(last, m.index)));
    last = ESC_RE.lastIndex;
    const final = m[3] ?? m[5];
    const params = m[1] ?? m[4];
    if (final === 'm') {
      const nums = params === '' || params === undefined ? [] : params.split(/[;:]/).map((x) => (x === '' ? 0 : Number(x)));
      style = applySGR(nums, style);
    }
  }
  push(stripControls(line.slice(last)));
  return out;
}

// eslint-disable-next-line no-control-regex
const stripControls = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');

function sameStyle(a: AnsiStyle, b: AnsiStyle) {
  return (
    a.fg === b.fg && a.bg === b.bg && !!a.bold === !!b.bold && !!a.dim === !!b.dim &&
    !!a.italic === !!b.italic && !!a.underline === !!b.underline && !!a.inverse === !!b.inverse
  );
}

/** The text of a line with all escape sequences removed. */
export function stripAnsi(s: string): string {
  return parseAnsi(s)
    .map((x) => x.text)
    .join('');
}

export type HighlightedSegment = Segment & { match?: boolean };

/**
 * Splits segments further where `query` occurs (case-insensitive), marking
 * the matched pieces, so search highlights keep the ANSI colours.
 */
export function highlight(segments: Segment[], query: string): HighlightedSegment[] {
  if (!query) return segments;
  const full = segments.map((s) => s.text).join('');
  const lower = full.toLowerCase();
  const q = query.toLowerCase();
  if (lower.length !== full.length) return segments; // rare Unicode case folding
  const ranges: [number, number][] = [];
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) ranges.push([i, i + q.length]);
  if (!ranges.length) return segments;
  const out: HighlightedSegment[] = [];
  let pos = 0;
  let r = 0;
  for (const seg of segments) {
    const end = pos + seg.text.length;
    let cur = pos;
    while (cur < end) {
      while (r < ranges.length && ranges[r][1] <= cur) r++;
      const rg = ranges[r];
      if (!rg || rg[0] >= end) {
        out.push({ text: full.slice(cur, end), style: seg.style });
        cur = end;
      } else if (rg[0] > cur) {
        out.push({ text: full.slice(cur, rg[0]), style: seg.style });
        cur = rg[0];
      } else {
        const stop = Math.min(rg[1], end);
        out.push({ text: full.slice(cur, stop), style: seg.style, match: true });
        cur = stop;
      }
    }
    pos = end;
  }
  return out;
}
