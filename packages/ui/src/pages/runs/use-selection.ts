// The runs page's selected runs: kept in the URL (sel=<run id>,...) while small enough to share.
import { useMemo, useState } from 'react';
import { type Route, setParams } from '../../router';

/** Above this many selected runs the selection is not written into the URL. */
const MAX_SELECTION_IN_URL = 200;

export interface Selection {
  selected: Set<string>;
  setSelected(next: Set<string>): void;
  toggle(id: string): void;
  /** Selects all of `ids`, or, when all are selected already, none of them (a group's box). */
  toggleAll(ids: string[]): void;
}

// The URL entry is replaced, not pushed, so the back button does not step through checkbox clicks. A
// selection too large for a shareable link (select-all on thousands of runs) is kept in memory only.
export function useSelection(route: Route): Selection {
  const selText = route.params.get('sel') ?? '';
  const urlSelected = useMemo(() => new Set(selText.split(',').filter(Boolean)), [selText]);
  const [largeSelection, setLargeSelection] = useState<Set<string> | null>(null);
  const selected = largeSelection ?? urlSelected;
  const setSelected = (next: Set<string>) => {
    const large = next.size > MAX_SELECTION_IN_URL;
    setLargeSelection(large ? next : null);
    setParams({ sel: large ? null : [...next].join(',') }, { replace: true });
  };
  return {
    selected,
    setSelected,
    toggle(id) {
      const next = new Set(selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      setSelected(next);
    },
    toggleAll(ids) {
      const all = ids.every((id) => selected.has(id));
      const next = new Set(selected);
      for (const id of ids)
        if (all) next.delete(id);
        else next.add(id);
      setSelected(next);
    },
  };
}
