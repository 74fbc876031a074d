/** Joins path segments onto an artifact URI without doubling or losing slashes. */
export function appendToUri(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts].join('/');
}

/**
 * Where new experiments and runs keep their artifacts, as MLflow's SQL store decides it: an experiment
 * created without a location gets `<root>/<experiment id>`, and a run `<experiment location>/<run id>/artifacts`.
 */
export class ArtifactLocations {
  constructor(readonly root: string) {}

  experiment(experimentId: string): string {
    return appendToUri(this.root, experimentId);
  }

  run(experimentLocation: string, runId: string): string {
    return appendToUri(experimentLocation, runId, 'artifacts');
  }
}
