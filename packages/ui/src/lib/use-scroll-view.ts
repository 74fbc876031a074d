import { type RefObject, useEffect, useLayoutEffect, useRef, useState } from 'react';

export interface ScrollView {
  top: number;
  height: number;
}

/**
 * The scroll offset and visible height of a scrolling element, for lists that draw only the rows in
 * view: measured on mount and on resize, and updated at most once a frame while it scrolls (browsers
 * send several scroll events a frame, and each state update re-renders the window of rows).
 */
export function useScrollView(
  scroller: RefObject<HTMLElement | null>,
  initialHeight: number,
): { view: ScrollView; onScroll: () => void } {
  const [view, setView] = useState<ScrollView>({ top: 0, height: initialHeight });
  const frame = useRef(0);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [scroller]);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = scroller.current;
      if (el) setView({ top: el.scrollTop, height: el.clientHeight });
    });
  };

  return { view, onScroll };
}
