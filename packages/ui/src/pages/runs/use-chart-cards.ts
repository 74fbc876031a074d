// The chart grid's cards: from the link when it names them (charts=...), else the layout last saved for
// these experiments, else one line chart per metric. Every edit goes to both the URL and the saved layout.
import { useMemo } from 'react';
import { type ChartCard, defaultCards, parseCards, serializeCards } from '../../lib/chart-cards';
import { setParams } from '../../router';

function storageKey(ids: string[]): string {
  return `mlflow-ts.charts.${ids.join(',')}`;
}

function readSaved(ids: string[]): string | undefined {
  try {
    return localStorage.getItem(storageKey(ids)) ?? undefined;
  } catch {
    return undefined;
  }
}

export interface ChartCards {
  cards: ChartCard[];
  /** True while the grid is the default one (nothing saved or linked). */
  isDefault: boolean;
  setCards(next: ChartCard[]): void;
  /** Back to one line chart per metric: forgets the saved layout and drops it from the URL. */
  reset(): void;
}

export function useChartCards(ids: string[], urlCharts: string | null, metrics: string[]): ChartCards {
  const saved = useMemo(() => (urlCharts === null ? readSaved(ids) : undefined), [ids, urlCharts]);
  const text = urlCharts ?? saved;
  const cards = useMemo(
    () => (text !== undefined ? parseCards(text) : defaultCards(metrics)),
    [text, metrics],
  );
  return {
    cards,
    isDefault: text === undefined,
    setCards(next) {
      const value = serializeCards(next);
      try {
        localStorage.setItem(storageKey(ids), value);
      } catch {
        // Storage may be refused; the URL still carries the layout.
      }
      // An empty grid is a layout too: '' would drop the parameter, so it is written as '-'.
      setParams({ charts: value || '-' }, { replace: true });
    },
    reset() {
      try {
        localStorage.removeItem(storageKey(ids));
      } catch {
        // Nothing saved to forget.
      }
      setParams({ charts: null }, { replace: true });
    },
  };
}
