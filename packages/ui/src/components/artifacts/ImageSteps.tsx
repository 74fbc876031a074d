// An image with a step slider when its folder holds one image of its series per step (MLflow's
// log_image with a key and step, or names numbered by step): the slider, the arrow buttons and the
// arrow keys move between steps, and the chosen file goes into the URL like any other.
import { artifactUrl } from '../../api';
import { type StepImage, seriesLabel } from '../../lib/image-steps';

export function ImageSteps({
  runId,
  path,
  steps,
  onPath,
}: {
  runId: string;
  path: string;
  /** The series' images in step order (two or more), or empty for a single image. */
  steps: StepImage[];
  onPath(path: string): void;
}) {
  const at = steps.findIndex((s) => s.path === path);
  const image = <img src={artifactUrl(runId, path)} alt={path} className="preview-image" />;
  if (steps.length < 2 || at < 0) return image;
  const go = (i: number) => onPath(steps[Math.max(0, Math.min(steps.length - 1, i))].path);
  return (
    <div className="image-steps">
      <div className="toolbar">
        <strong>{seriesLabel(path)}</strong>
        <button type="button" aria-label="Previous step" disabled={at === 0} onClick={() => go(at - 1)}>
          ←
        </button>
        <input
          type="range"
          aria-label="Step"
          min={0}
          max={steps.length - 1}
          value={at}
          aria-valuetext={`step ${steps[at].step}`}
          onChange={(e) => go(Number(e.target.value))}
        />
        <button
          type="button"
          aria-label="Next step"
          disabled={at === steps.length - 1}
          onClick={() => go(at + 1)}
        >
          →
        </button>
        <span className="muted" aria-live="polite">
          Step {steps[at].step} ({at + 1} of {steps.length})
        </span>
      </div>
      {image}
      {/* The neighbours load ahead, so moving the slider shows them at once. */}
      <span hidden>
        {[steps[at - 1], steps[at + 1]].map((s) =>
          s ? <img key={s.path} src={artifactUrl(runId, s.path)} alt="" /> : null,
        )}
      </span>
    </div>
  );
}
