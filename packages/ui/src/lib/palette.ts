// Run colours: a palette that stays distinguishable well past 50 runs, and the user's own colour for a
// run (kept in localStorage by run id, so a run has that colour on every page).
// It imports nothing, so the unit tests load it under Node as well.

/** Ten hand-picked colours first (readable on the light and the dark theme), then generated ones. */
const BASE = [
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
/** How many colours the palette has before it repeats. */
export const PALETTE_SIZE = 100;

type Lab = [number, number, number];

/** sRGB hex to OKLab (Björn Ottosson's transform), where Euclidean distance tracks perceived difference. */
export function hexToOklab(hex: string): Lab {
  const n = Number.parseInt(hex.slice(1), 16);
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = [lin((n >> 16) & 255), lin((n >> 8) & 255), lin(n & 255)];
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

/** OKLCH to sRGB hex, or undefined when the colour is outside sRGB. */
function oklchToHex(L: number, C: number, hueDeg: number): string | undefined {
  const h = (hueDeg * Math.PI) / 180;
  const [a, b] = [C * Math.cos(h), C * Math.sin(h)];
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  const rgb = [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
  if (rgb.some((v) => v < -1e-4 || v > 1 + 1e-4)) return undefined;
  const gamma = (v: number) => {
    const c = Math.min(1, Math.max(0, v));
    return Math.round(255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055));
  };
  return `#${rgb.map((v) => gamma(v).toString(16).padStart(2, '0')).join('')}`;
}

export function distance(p: Lab, q: Lab): number {
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/**
 * The palette: the base colours, then, one at a time, the candidate farthest (in OKLab) from every
 * colour already taken. Candidates are mid-lightness and saturated so a thin line shows on both themes.
 */
function buildPalette(): string[] {
  const candidates: { hex: string; lab: Lab }[] = [];
  for (const L of [0.5, 0.58, 0.66, 0.74])
    for (const C of [0.1, 0.16])
      for (let hue = 0; hue < 360; hue += 6) {
        const hex = oklchToHex(L, C, hue);
        if (hex) candidates.push({ hex, lab: hexToOklab(hex) });
      }
  const palette = [...BASE];
  const nearest = candidates.map((c) => Math.min(...BASE.map((b) => distance(c.lab, hexToOklab(b)))));
  while (palette.length < PALETTE_SIZE) {
    let best = 0;
    for (let i = 1; i < candidates.length; i++) if (nearest[i] > nearest[best]) best = i;
    const pick = candidates[best];
    palette.push(pick.hex);
    for (let i = 0; i < candidates.length; i++)
      nearest[i] = Math.min(nearest[i], distance(candidates[i].lab, pick.lab));
  }
  return palette;
}

export const PALETTE = buildPalette();
export const colorAt = (i: number) => PALETTE[i % PALETTE.length];

const STORAGE_KEY = 'mlflow-ts.run-colors';
let overrides: Record<string, string> | undefined;

function readOverrides(): Record<string, string> {
  if (overrides) return overrides;
  try {
    overrides = JSON.parse(globalThis.localStorage?.getItem(STORAGE_KEY) ?? '{}') as Record<string, string>;
  } catch {
    overrides = {};
  }
  return overrides;
}

/** A run's colour: the one the user chose for it, else the palette's colour for its place in the list. */
export function runColor(runId: string, index: number): string {
  return readOverrides()[runId] ?? colorAt(index);
}

/** Sets (or, with undefined, forgets) the user's colour for a run. */
export function setRunColor(runId: string, color: string | undefined): void {
  const next = { ...readOverrides() };
  if (color) next[runId] = color;
  else delete next[runId];
  overrides = next;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify(next));
  } catch {
    // Storage may be refused; the colour holds until the page is reloaded.
  }
}
