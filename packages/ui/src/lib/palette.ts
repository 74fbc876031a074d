/** Distinct line colours readable on light and dark backgrounds. */
export const PALETTE = [
  '#1f77b4',
  '#e8590c',
  '#2f9e44',
  '#d6336c',
  '#7048e8',
  '#0c8599',
  '#c92a2a',
  '#5c940d',
  '#ae3ec9',
  '#e67700',
];
export const colorAt = (i: number) => PALETTE[i % PALETTE.length];
