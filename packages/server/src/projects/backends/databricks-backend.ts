import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutionError } from '../execution-error.js';
import type { DatabricksSparkJobSpec } from '../project-spec.js';
import { type RunStatusName, terminalStatus } from '../run-tracking.js';
import { shellQuote } from '../shell-quote.js';
import { DatabricksApi, databricksCredentials, type JobRun } from './databricks-api.js';
import { type DatabricksClusterConfig, jobLibraries, parseDatabricksConfig } from './databricks-config.js';
import { sparkJobCodeAndArgs, sparkJobWrapper, wrapperName } from './databricks-spark-job.js';
import { ARCHIVE_ROOT, archiveProject } from './project-archive.js';
import type { JobHandle, JobTarget, ProjectBackend, ProjectRequest } from './project-backend.js';

// -b databricks, as MLflow's databricks.py does it: the project is packed into a content-addressed
// tar.gz on DBFS, and a one-time Jobs run on a new cluster unpacks it and runs `mlflow run` there,
// into the run created here (its id passed with -c). We follow the Databricks run with runs/get and
// record its outcome when the code on the cluster could not.

/** Where project archives go on DBFS (under dbfs:/, i.e. /dbfs/ on the cluster). */
const DBFS_EXPERIMENT_DIR_BASE = 'mlflow-experiments';
const CLUSTER_TAR_DIR = '/databricks/mlflow/project-tars';
const CLUSTER_PROJECTS_DIR = '/databricks/mlflow/projects';

/** MLflow installed on the cluster (it runs the project); override with MLFLOW_TS_DATABRICKS_MLFLOW_PACKAGE. */
export const DEFAULT_MLFLOW_PACKAGE = 'mlflow<4';

const TERMINAL_LIFE_CYCLE = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);

/** A Jobs run state as an MLflow run status (undefined while it has not ended). */
export function runStatusOfJobRun(state: JobRun['state']): RunStatusName | undefined {
  if (state.result_state === undefined && !TERMINAL_LIFE_CYCLE.has(state.life_cycle_state)) return undefined;
  if (state.result_state === 'SUCCESS') return 'FINISHED';
  if (state.result_state === 'CANCELED') return 'KILLED';
  return 'FAILED';
}

function pollMs(): number {
  const seconds = Number(process.env.MLFLOW_TS_DATABRICKS_POLL_SECONDS ?? 30);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 30_000;
}

/** Uploads the project once per content hash; the archive's /dbfs path as the cluster sees it. */
export async function uploadProject(
  api: DatabricksApi,
  workDir: string,
  experimentId: string,
  log: (line: string) => void,
): Promise<string> {
  log(`=== Creating tarball from ${workDir} ===`);
  const archive = await archiveProject(workDir);
  const dbfsPath = `/${DBFS_EXPERIMENT_DIR_BASE}/${experimentId}/projects-code/${archive.sha256}.tar.gz`;
  const fuse = `/dbfs${dbfsPath}`;
  if (await api.dbfsExists(dbfsPath)) {
    log(`=== Project already exists in DBFS (${fuse}) ===`);
    return fuse;
  }
  const kb = Math.ceil(archive.data.length / 1024);
  log(`=== Uploading project tarball (${archive.files} files, ${kb} KB) to ${fuse} ===`);
  const uploaded = await api.dbfsUpload(dbfsPath, archive.data, (sent) => {
    if (archive.data.length > 1024 * 1024)
      log(`    ${Math.round((100 * sent) / archive.data.length)}% (${Math.ceil(sent / 1024)} KB)`);
  });
  log(
    uploaded
      ? `=== Finished uploading project to ${fuse} ===`
      : `=== Did not overwrite existing DBFS path ${fuse} ===`,
  );
  return fuse;
}

/** The project's directory on the cluster and the shell steps that put it there from DBFS. */
export function clusterExtraction(fuseTarPath: string): { projectDir: string; script: string } {
  const tarName = fuseTarPath.slice(fuseTarPath.lastIndexOf('/') + 1);
  const hash = tarName.replace(/\.tar\.gz$/, '');
  const projectDir = `${CLUSTER_PROJECTS_DIR}/${hash}`;
  // Copy (once) from the DBFS mount, unpack into a fresh directory, then move it into place in one
  // step, since tar extraction is not atomic.
  const script = [
    `mkdir -p ${CLUSTER_TAR_DIR} ${CLUSTER_PROJECTS_DIR}`,
    `rsync -a -v --ignore-existing ${shellQuote(fuseTarPath)} ${CLUSTER_TAR_DIR}`,
    'cd $(mktemp -d)',
    `tar --no-same-owner -xzvf ${CLUSTER_TAR_DIR}/${shellQuote(tarName)}`,
    `mv -T ${ARCHIVE_ROOT} ${projectDir}`,
  ].join(' &&\n');
  return { projectDir, script };
}

/** `bash -c <script>` that unpacks the project on the cluster and runs it with `mlflow run`. */
export function clusterRunCommand(fuseTarPath: string, runId: string, request: ProjectRequest): string[] {
  const { projectDir, script } = clusterExtraction(fuseTarPath);
  const args = ['mlflow', 'run', projectDir, '--entry-point', request.entryPointName];
  // Passed on only when the user chose one, as MLflow does.
  if (request.envManagerOption) args.push('--env-manager', request.envManagerOption);
  args.push('-c', JSON.stringify({ run_id: runId }));
  for (const [key, value] of Object.entries(request.parameters)) args.push('-P', `${key}=${value}`);
  const shell = [
    'export PATH=$PATH:$DB_HOME/python/bin',
    'mlflow --version',
    script,
    args.map(shellQuote).join(' '),
  ].join(' &&\n');
  return ['bash', '-c', shell];
}

function shellJobSubmission(
  fuse: string,
  request: ProjectRequest,
  config: DatabricksClusterConfig,
  { tracking, run, log }: JobTarget,
): { command: string; body: Record<string, unknown> } {
  const command = clusterRunCommand(fuse, run.runId, request);
  const mlflowPackage = process.env.MLFLOW_TS_DATABRICKS_MLFLOW_PACKAGE || DEFAULT_MLFLOW_PACKAGE;
  log(`=== Running entry point ${request.entryPointName} of project ${request.uri} on Databricks ===`);
  return {
    command: command[2],
    body: {
      run_name: `MLflow Run for ${request.uri}`,
      new_cluster: config.newCluster,
      shell_command_task: {
        command,
        env_vars: { MLFLOW_TRACKING_URI: tracking.trackingUri, MLFLOW_EXPERIMENT_ID: run.experimentId },
      },
      libraries: jobLibraries(config, mlflowPackage),
    },
  };
}

async function sparkJobSubmission(
  api: DatabricksApi,
  fuse: string,
  spec: DatabricksSparkJobSpec,
  request: ProjectRequest,
  config: DatabricksClusterConfig,
  { tracking, run, log }: JobTarget,
): Promise<{ command: string; body: Record<string, unknown> }> {
  if (
    spec.pythonFile !== undefined &&
    (request.entryPointName !== 'main' || Object.keys(request.parameters).length > 0)
  ) {
    log(
      "=== The MLproject's databricks_spark_job sets python_file and parameters: --entry-point and -P are ignored ===",
    );
  }
  const { file, args } = sparkJobCodeAndArgs(spec, request.entryPoint, request.resolved);
  const { projectDir, script } = clusterExtraction(fuse);
  const wrapper = sparkJobWrapper({
    workDir: request.source.workDir,
    file,
    env: {
      MLFLOW_TRACKING_URI: tracking.trackingUri,
      MLFLOW_EXPERIMENT_ID: run.experimentId,
      MLFLOW_RUN_ID: run.runId,
    },
    extraction: script,
    projectDir,
  });
  const wrapperPath = `/${DBFS_EXPERIMENT_DIR_BASE}/${run.experimentId}/projects-code/${wrapperName()}`;
  await api.dbfsUpload(wrapperPath, Buffer.from(wrapper, 'utf8'));
  log(`=== Running databricks spark job of project ${request.uri} on Databricks (${file}) ===`);
  const pythonLibraries = spec.pythonLibraries.map((name) => ({ pypi: { package: name } }));
  return {
    command: `python ${file} ${args.join(' ')}`.trim(),
    body: {
      run_name: `MLflow Run for ${request.uri}`,
      new_cluster: config.newCluster,
      libraries: [...config.libraries, ...pythonLibraries],
      spark_python_task: { python_file: `dbfs:${wrapperPath}`, parameters: args },
    },
  };
}

async function submitDatabricksJob(
  api: DatabricksApi,
  config: DatabricksClusterConfig,
  request: ProjectRequest,
  target: JobTarget,
): Promise<JobHandle> {
  const { tracking, run, log } = target;
  const fuse = await uploadProject(api, request.source.workDir, run.experimentId, log);
  const spec = request.project.databricksSparkJob;
  const { command, body } = spec
    ? await sparkJobSubmission(api, fuse, spec, request, config, target)
    : shellJobSubmission(fuse, request, config, target);
  const jobRunId = await api.submitRun(body);
  log(
    `=== Launched MLflow run as Databricks job run with ID ${jobRunId}. Getting run status page URL... ===`,
  );
  let last = await api.getRun(jobRunId);
  const runPageUrl = last.run_page_url ?? '';
  log(`=== Check the run's status at ${runPageUrl} ===`);
  const tags: Record<string, string> = {
    'mlflow.databricks.runURL': runPageUrl,
    'mlflow.databricks.shellJobRunID': String(jobRunId),
    'mlflow.databricks.webappURL': api.credentials.host,
  };
  if (last.job_id !== undefined && last.job_id !== null)
    tags['mlflow.databricks.shellJobID'] = String(last.job_id);
  await tracking.setTags(run.runId, tags);

  let cancelled = false;
  return {
    command,
    jobId: String(jobRunId),
    runPageUrl,
    async wait() {
      let shown = '';
      for (;;) {
        const state = last.state;
        const now = `${state.life_cycle_state}${state.result_state ? `/${state.result_state}` : ''}`;
        if (now !== shown) {
          log(
            `=== Databricks run ${jobRunId}: ${now}${state.state_message ? ` (${state.state_message})` : ''} ===`,
          );
          shown = now;
        }
        const status = terminalStatus(runStatusOfJobRun(state));
        // Also covers a cluster that never started and a failed library install.
        if (status !== undefined) return cancelled && status !== 'FINISHED' ? 'KILLED' : status;
        await sleep(pollMs());
        last = await api.getRun(jobRunId);
      }
    },
    status: () => {
      const status = runStatusOfJobRun(last.state) ?? 'RUNNING';
      return cancelled && status !== 'FINISHED' ? 'KILLED' : status;
    },
    async cancel() {
      cancelled = true;
      await api.cancelRun(jobRunId);
    },
  };
}

/** Refuses tracking URIs the cluster could not reach (a local database, sqlite:///). */
export function checkTrackingUriForDatabricks(uri: string): void {
  if (!/^https?:\/\//i.test(uri)) {
    throw new ExecutionError(
      `When running on Databricks, the MLflow tracking URI must be a remote HTTP URI reachable from both this machine and the Databricks cluster. Got local tracking URI ${uri}: pass --tracking-uri http(s)://... or set MLFLOW_TRACKING_URI.`,
    );
  }
}

export const databricksBackend: ProjectBackend = {
  name: 'databricks',
  detached: true,
  runsSparkJobs: true,
  async prepare({ config, trackingUri }) {
    const cluster = parseDatabricksConfig(config);
    checkTrackingUriForDatabricks(trackingUri);
    const api = new DatabricksApi(databricksCredentials());
    return {
      checkProject(request) {
        // A Spark job entry point must be a `python` command: checked before the run is created.
        const spec = request.project.databricksSparkJob;
        if (spec) sparkJobCodeAndArgs(spec, request.entryPoint, request.resolved);
      },
      submit: (request, target) => submitDatabricksJob(api, cluster, request, target),
    };
  },
};
