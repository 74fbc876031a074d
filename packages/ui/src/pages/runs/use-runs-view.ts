// The runs page's view as the URL holds it: experiments, filter, order, which runs, expanded parents.
import { useMemo } from 'react';
import type { ViewType } from '../../api';
import { type Route, setParams } from '../../router';

export type SortDir = 'ASC' | 'DESC';

export interface RunsView {
  ids: string[];
  filter: string;
  orderBy: string;
  view: ViewType;
  /** The column names the link carries, or null when it names none. */
  urlCols: string | null;
  sortKey: string;
  sortDir: SortDir | undefined;
  /** Orders by `key`, descending first, flipping on a second click. */
  sortBy(key: string): void;
  expanded: Set<string>;
  setOpen(id: string, open: boolean): void;
}

function splitOrder(orderBy: string): [string, SortDir | undefined] {
  if (orderBy.endsWith(' ASC')) return [orderBy.slice(0, -4), 'ASC'];
  if (orderBy.endsWith(' DESC')) return [orderBy.slice(0, -5), 'DESC'];
  return [orderBy, orderBy ? 'ASC' : undefined];
}

export function useRunsView(route: Route): RunsView {
  const idsText = route.params.get('ids') ?? '';
  const ids = useMemo(() => idsText.split(',').filter(Boolean), [idsText]);
  const filter = route.params.get('filter') ?? '';
  const orderBy = route.params.get('order') ?? '';
  const view = (route.params.get('view') as ViewType | null) ?? 'ACTIVE_ONLY';
  // Expanded parents are part of the view, so they are in the URL too (open=<run id>,...).
  const openText = route.params.get('open') ?? '';
  const expanded = useMemo(() => new Set(openText.split(',').filter(Boolean)), [openText]);
  const [sortKey, sortDir] = splitOrder(orderBy);
  return {
    ids,
    filter,
    orderBy,
    view,
    urlCols: route.params.get('cols'),
    sortKey,
    sortDir,
    sortBy(key) {
      const dir = sortKey === key && sortDir === 'DESC' ? 'ASC' : 'DESC';
      setParams({ order: `${key} ${dir}` });
    },
    expanded,
    setOpen(id, open) {
      const next = new Set(expanded);
      if (open) next.add(id);
      else next.delete(id);
      setParams({ open: [...next].join(',') }, { replace: true });
    },
  };
}
