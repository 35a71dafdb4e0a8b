import { memo, type CSSProperties } from 'react';
import { highlight, parseAnsi, type AnsiStyle } from '../lib/ansi';

function styleProps(st: AnsiStyle): { className?: string; style?: CSSProperties } {
  let fg = st.fg;
  let bg = st.bg;
  if (st.inverse) [fg, bg] = [bg ?? 'ansi-fg-default', fg ?? 'ansi-bg-default'];
  const cls: string[] = [];
  const style: CSSProperties = {};
  if (fg) {
    if (fg.startsWith('ansi-')) cls.push(fg === 'ansi-fg-default' ? 'ansi-inv-fg' : `ansi-fg-${fg.slice(5)}`);
    else style.color = fg;
  }
  if (bg) {
    if (bg.startsWith('ansi-')) cls.push(bg === 'ansi-bg-default' ? 'ansi-inv-bg' : `ansi-bg-${bg.slice(5)}`);
    else style.backgroundColor = bg;
  }
  if (st.bold) cls.push('font-bold');
  if (st.dim) cls.push('opacity-70');
  if (st.italic) cls.push('italic');
  if (st.underline) cls.push('underline');
  return { className: cls.length ? cls.join(' ') : undefined, style: Object.keys(style).length ? style : undefined };
}

type Props = { text: string; query?: string; current?: boolean };

/** Renders one line containing ANSI escape codes as styled spans. */
export const Ansi = memo(function Ansi({ text, query, current }: Props) {
  const segs = highlight(parseAnsi(text), query ?? '');
  return (
    <>
      {segs.map((s, i) => {
        const p = styleProps(s.style);
        const span = (
          <span key={i} className={p.className} style={p.style}>
            {s.text}
          </span>
        );
        if ('match' in s && s.match) {
          return (
            <mark key={i} className={current ? 'log-match log-match-current' : 'log-match'}>
              {span}
            </mark>
          );
        }
        return p.className || p.style ? span : <span key={i}>{s.text}</span>;
      })}
    </>
  );
});
