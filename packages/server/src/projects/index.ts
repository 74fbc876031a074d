// The projects runner's public surface: run a project, and read MLproject files.
export { ExecutionError } from './execution-error.js';
export { type EntryPoint, getEntryPoint, loadProject, type Project } from './project-spec.js';
export {
  parseBackendConfig,
  type RunProjectOptions,
  runProject,
  type SubmittedRun,
} from './run-project.js';
export { runSweep, type SweepKind, type SweepOptions, type SweepResult, sweepTrials } from './sweep.js';
