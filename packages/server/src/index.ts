export { MlflowError } from './entities/errors.js';
export type * from './entities/tracking.js';
export { buildApp } from './http/app.js';
export {
  type InProcessServer,
  LOCAL_DIRECTORY_DATABASE,
  type LocalStoreLocation,
  localStoreLocation,
  startInProcessServer,
} from './in-process.js';
export {
  ExecutionError,
  getEntryPoint,
  loadProject,
  parseBackendConfig,
  type RunProjectOptions,
  runProject,
  runSweep,
  type SubmittedRun,
  type SweepOptions,
  type SweepResult,
} from './projects/index.js';
export { type RunningServer, type ServerConfig, startServer } from './server.js';
export { TrackingService } from './services/tracking-service.js';
export { openDatabase, upgradeDatabase } from './store/database.js';
export { SqlTrackingStore } from './store/sql-tracking-store.js';
