// Images logged one per step, found by their names: MLflow's log_image(key=..., step=...) writes
// `images/<key>%step%<step>%timestamp%<ms>%<uuid>.png` (and a `%compressed.webp` copy); other code
// writes names like `samples/epoch_012.png`. The images of one series are the step slider's stops.
// It imports nothing, so the unit tests load it under Node as well.

export const IMAGE_FILE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;

const MLFLOW_IMAGE = /^(.*)%step%(-?\d+)%timestamp%(\d+)%([^%]*?)(%compressed)?\.([a-z0-9]+)$/i;
const NUMBERED_IMAGE = /^(.*?)(\d+)(\D*\.(?:png|jpe?g|gif|svg|webp|bmp))$/i;

export interface StepName {
  /** Names of one series share this. */
  series: string;
  step: number;
  /** MLflow's small copy (%compressed.webp) of a full-size image. */
  compressed: boolean;
  timestamp: number;
}

/** The series and step an image's file name (no folder) carries, or undefined when it carries none. */
export function stepOfImage(name: string): StepName | undefined {
  if (!IMAGE_FILE.test(name)) return undefined;
  const m = MLFLOW_IMAGE.exec(name);
  if (m)
    return {
      series: `mlflow:${m[1]}`,
      step: Number(m[2]),
      compressed: Boolean(m[5]),
      timestamp: Number(m[3]),
    };
  const n = NUMBERED_IMAGE.exec(name);
  if (n)
    return {
      series: `n:${n[1]}\u0000${n[3].toLowerCase()}`,
      step: Number(n[2]),
      compressed: false,
      timestamp: 0,
    };
  return undefined;
}

export interface StepImage {
  step: number;
  path: string;
}

/**
 * The images of the series `selected` belongs to, among the paths of its folder, one per step in step
 * order: full-size images before MLflow's compressed copies, and of two at one step the later logged.
 * Empty when the name carries no step or the series has a single image.
 */
export function stepImages(selected: string, folderPaths: string[]): StepImage[] {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const own = stepOfImage(base(selected));
  if (!own) return [];
  const best = new Map<number, { path: string; name: StepName }>();
  for (const path of folderPaths) {
    const name = stepOfImage(base(path));
    if (!name || name.series !== own.series) continue;
    const have = best.get(name.step);
    const better =
      !have ||
      (have.name.compressed && !name.compressed) ||
      (have.name.compressed === name.compressed && name.timestamp > have.name.timestamp);
    if (better) best.set(name.step, { path, name });
  }
  if (best.size < 2) return [];
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([step, v]) => ({ step, path: v.path }));
}

/** The label of a series: MLflow's image key (with '#' back to '/'), or the file name around the number. */
export function seriesLabel(selected: string): string {
  const name = selected.slice(selected.lastIndexOf('/') + 1);
  const m = MLFLOW_IMAGE.exec(name);
  if (m) return m[1].replace(/#/g, '/');
  const n = NUMBERED_IMAGE.exec(name);
  return n ? `${n[1]}…${n[3]}` : name;
}
