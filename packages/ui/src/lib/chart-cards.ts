// The experiment page's chart grid as data: which cards, in what order and size, written into the URL
// (charts=...) and saved per experiment, with the edits the grid offers.

export type CardSize = 's' | 'm' | 'l';
export type ChartCard =
  | { kind: 'line'; size: CardSize; metric: string }
  | { kind: 'bar'; size: CardSize; metric: string }
  | { kind: 'scatter'; size: CardSize; x: string; y: string }
  | { kind: 'parallel'; size: CardSize; axes: string[] };

export const SIZES: CardSize[] = ['s', 'm', 'l'];

/** A card's identity in the grid (React key, test hook): its kind and what it plots. */
export function cardKey(c: ChartCard): string {
  switch (c.kind) {
    case 'line':
    case 'bar':
      return `${c.kind}:${c.metric}`;
    case 'scatter':
      return `scatter:${c.x}:${c.y}`;
    case 'parallel':
      return `parallel:${c.axes.join(':')}`;
  }
}

/** One line chart per metric, in the metrics' order: the grid before the user changes it. */
export function defaultCards(metrics: string[]): ChartCard[] {
  return metrics.map((metric) => ({ kind: 'line', size: 'm', metric }));
}

// A card is `kind|size|arg|arg...` with each arg URI-encoded, so keys may hold any character;
// cards are joined by ',' (which an encoded arg cannot contain).
export function serializeCards(cards: ChartCard[]): string {
  return cards
    .map((c) => {
      const args = c.kind === 'scatter' ? [c.x, c.y] : c.kind === 'parallel' ? c.axes : [c.metric];
      return [c.kind, c.size, ...args.map(encodeURIComponent)].join('|');
    })
    .join(',');
}

/** The cards of a `charts=` value; malformed cards (a hand-edited link) are dropped, not fatal. */
export function parseCards(text: string): ChartCard[] {
  const cards: ChartCard[] = [];
  for (const part of text.split(',')) {
    const [kind, size, ...raw] = part.split('|');
    if (!SIZES.includes(size as CardSize)) continue;
    let args: string[];
    try {
      args = raw.map(decodeURIComponent);
    } catch {
      continue;
    }
    const s = size as CardSize;
    if ((kind === 'line' || kind === 'bar') && args.length === 1 && args[0])
      cards.push({ kind, size: s, metric: args[0] });
    else if (kind === 'scatter' && args.length === 2 && args[0] && args[1])
      cards.push({ kind, size: s, x: args[0], y: args[1] });
    else if (kind === 'parallel' && args.length >= 2 && args.every(Boolean))
      cards.push({ kind, size: s, axes: args });
  }
  return cards;
}

/** Moves the card at `from` by `by` places (clamped to the ends). */
export function moveCard(cards: ChartCard[], from: number, by: number): ChartCard[] {
  const to = Math.max(0, Math.min(cards.length - 1, from + by));
  if (to === from || from < 0 || from >= cards.length) return cards;
  const next = [...cards];
  const [card] = next.splice(from, 1);
  next.splice(to, 0, card);
  return next;
}

/** Puts the card at `from` where the card at `to` is (drag and drop). */
export function dropCard(cards: ChartCard[], from: number, to: number): ChartCard[] {
  return moveCard(cards, from, to - from);
}

/** The next size up, wrapping from large back to small. */
export function nextSize(size: CardSize): CardSize {
  return SIZES[(SIZES.indexOf(size) + 1) % SIZES.length];
}

/** Adds a card unless the grid already has one plotting the same thing. */
export function addCard(cards: ChartCard[], card: ChartCard): ChartCard[] {
  return cards.some((c) => cardKey(c) === cardKey(card)) ? cards : [...cards, card];
}
