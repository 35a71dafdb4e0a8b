import { forwardRef, useCallback, useImperativeHandle, useRef, useState, type ReactNode, type UIEvent } from 'react';

export type VirtualListHandle = {
  scrollToIndex: (i: number, align?: 'center' | 'end') => void;
  scrollToBottom: () => void;
  isAtBottom: () => boolean;
};

type Props = {
  count: number;
  rowHeight: number;
  /** Viewport height in pixels. */
  height: number;
  overscan?: number;
  renderRow: (index: number) => ReactNode;
  onScroll?: (atBottom: boolean, userScrolled: boolean) => void;
  className?: string;
  label?: string;
  testId?: string;
};

/**
 * A virtualised list with fixed row height: only the rows in view (plus a few
 * above and below) are in the DOM, so 50,000 log lines stay fast.
 */
export const VirtualList = forwardRef<VirtualListHandle, Props>(function VirtualList(
  { count, rowHeight, height, overscan = 10, renderRow, onScroll, className, label, testId },
  ref,
) {
  const el = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const programmatic = useRef(false);

  const setTop = useCallback((top: number) => {
    const node = el.current;
    if (!node) return;
    const max = Math.max(0, count * rowHeight - height);
    const t = Math.max(0, Math.min(top, max));
    if (Math.abs(node.scrollTop - t) > 0.5) {
      programmatic.current = true;
      node.scrollTop = t;
    }
    setScrollTop(t);
  }, [count, rowHeight, height]);

  useImperativeHandle(ref, () => ({
    scrollToIndex(i, align = 'center') {
      const top = align === 'end' ? (i + 1) * rowHeight - height : i * rowHeight - height / 2 + rowHeight / 2;
      setTop(top);
    },
    scrollToBottom() {
      setTop(count * rowHeight);
    },
    isAtBottom() {
      const node = el.current;
      if (!node) return true;
      return node.scrollTop + height >= count * rowHeight - rowHeight;
    },
  }), [count, rowHeight, height, setTop]);

  const handleScroll = (e: UIEvent<HTMLDivElement>) => {
    const top = e.currentTarget.scrollTop;
    setScrollTop(top);
    const user = !programmatic.current;
    programmatic.current = false;
    onScroll?.(top + height >= count * rowHeight - rowHeight, user);
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} role="listitem" data-index={i} style={{ position: 'absolute', top: i * rowHeight, height: rowHeight, left: 0, minWidth: '100%' }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={el}
      onScroll={handleScroll}
      className={className}
      style={{ height, overflow: 'auto', position: 'relative' }}
      tabIndex={0}
      role="list"
      aria-label={label}
      data-testid={testId}
    >
      <div style={{ height: count * rowHeight, position: 'relative', minWidth: '100%' }}>{rows}</div>
    </div>
  );
});
