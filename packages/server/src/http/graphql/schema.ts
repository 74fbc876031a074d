// MLflow's GraphQL schema (mlflow/server/graphql): the same type, field, argument and enum names, with
// resolvers that call the services. Entities are snake_case; GraphQL's fields are their camelCase names.
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLEnumType,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  GraphQLFloat,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLOutputType,
  GraphQLSchema,
  GraphQLString,
  isOutputType,
  specifiedDirectives,
} from 'graphql';
import { EncodedList } from '../../entities/encoded-list.js';
import type { Experiment as ExperimentEntity, ViewType } from '../../entities/tracking.js';
import type { ArtifactService } from '../../services/artifact-service.js';
import type { RegistryService } from '../../services/registry-service.js';
import type { TrackingService } from '../../services/tracking-service.js';
import { LongString } from './long-string.js';

/** What the resolvers reach: the services, and a per-request cache of experiments. */
export interface GraphqlContext {
  tracking: TrackingService;
  artifacts: ArtifactService;
  registry?: RegistryService;
  /** A run search's runs mostly share a few experiments; each is read once per request. */
  experiments: Map<string, Promise<ExperimentEntity>>;
}

type Source = Record<string, unknown>;
type Field = GraphQLFieldConfig<Source, GraphqlContext>;

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The items of an entity list, which a run search hands over still encoded. */
function items(value: unknown): unknown[] | null {
  if (value instanceof EncodedList) return value.decode() as unknown[];
  return Array.isArray(value) ? value : null;
}

/**
 * An object type whose fields read the entity property of the same name in snake_case, unless a field
 * brings its own resolver. A field given as a bare type is such a plain property.
 */
function objectType(
  name: string,
  fields: () => Record<string, GraphQLOutputType | Field>,
): GraphQLObjectType<Source, GraphqlContext> {
  return new GraphQLObjectType<Source, GraphqlContext>({
    name,
    fields: () => {
      const out: GraphQLFieldConfigMap<Source, GraphqlContext> = {};
      for (const [field, spec] of Object.entries(fields())) {
        const config: Field = isOutputType(spec) ? { type: spec } : spec;
        const property = snakeCase(field);
        out[field] = {
          resolve: (source) => {
            const value = source[property];
            return config.type instanceof GraphQLList ? items(value) : value;
          },
          ...config,
        };
      }
      return out;
    },
  });
}

function inputType(name: string, fields: Record<string, GraphQLInputType>): GraphQLInputObjectType {
  return new GraphQLInputObjectType({
    name,
    fields: Object.fromEntries(Object.entries(fields).map(([field, type]) => [field, { type }])),
  });
}

function enumType(name: string, values: readonly string[]): GraphQLEnumType {
  return new GraphQLEnumType({ name, values: Object.fromEntries(values.map((v) => [v, { value: v }])) });
}

const listOf = (type: GraphQLObjectType) => new GraphQLList(new GraphQLNonNull(type));
const stringList = new GraphQLList(GraphQLString);
const keyValue = (name: string) => objectType(name, () => ({ key: GraphQLString, value: GraphQLString }));

// ---------------------------------------------------------------- enums and errors

const RunStatus = enumType('MlflowRunStatus', ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
const ViewTypeEnum = enumType('MlflowViewType', ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']);
const ModelVersionStatus = enumType('MlflowModelVersionStatus', [
  'PENDING_REGISTRATION',
  'FAILED_REGISTRATION',
  'READY',
]);
const DeploymentJobConnectionState = enumType('MlflowDeploymentJobConnectionState', [
  'DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED',
  'NOT_SET_UP',
  'CONNECTED',
  'NOT_FOUND',
  'REQUIRED_PARAMETERS_CHANGED',
]);
const DeploymentJobRunState = enumType('MlflowModelVersionDeploymentJobStateDeploymentJobRunState', [
  'DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED',
  'NO_VALID_DEPLOYMENT_JOB_FOUND',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'PENDING',
  'APPROVAL',
]);

const ErrorDetail = objectType('ErrorDetail', () => ({ field: GraphQLString, message: GraphQLString }));
// Part of every response type, as in MLflow, whose resolvers never fill it either: a failing call is
// reported in the response's `errors` with the field null.
const ApiError = objectType('ApiError', () => ({
  code: GraphQLString,
  message: GraphQLString,
  helpUrl: GraphQLString,
  traceId: GraphQLString,
  errorDetails: new GraphQLList(ErrorDetail),
}));

// ---------------------------------------------------------------- experiments

const Experiment = objectType('MlflowExperiment', () => ({
  experimentId: GraphQLString,
  name: GraphQLString,
  artifactLocation: GraphQLString,
  lifecycleStage: GraphQLString,
  lastUpdateTime: LongString,
  creationTime: LongString,
  tags: listOf(keyValue('MlflowExperimentTag')),
}));

function experiment(context: GraphqlContext, id: string): Promise<ExperimentEntity> {
  let found = context.experiments.get(id);
  if (!found) {
    found = context.tracking.getExperiment(id);
    context.experiments.set(id, found);
  }
  return found;
}

// ---------------------------------------------------------------- model versions

const ModelVersion = objectType('MlflowModelVersion', () => ({
  name: GraphQLString,
  version: GraphQLString,
  creationTimestamp: LongString,
  lastUpdatedTimestamp: LongString,
  userId: GraphQLString,
  currentStage: GraphQLString,
  description: GraphQLString,
  source: GraphQLString,
  runId: GraphQLString,
  status: ModelVersionStatus,
  statusMessage: GraphQLString,
  tags: listOf(keyValue('MlflowModelVersionTag')),
  runLink: GraphQLString,
  aliases: stringList,
  modelId: GraphQLString,
  modelParams: listOf(objectType('MlflowModelParam', () => ({ name: GraphQLString, value: GraphQLString }))),
  modelMetrics: listOf(
    objectType('MlflowModelMetric', () => ({
      key: GraphQLString,
      value: GraphQLFloat,
      timestamp: LongString,
      step: LongString,
      datasetName: GraphQLString,
      datasetDigest: GraphQLString,
      modelId: GraphQLString,
      runId: GraphQLString,
    })),
  ),
  deploymentJobState: objectType('MlflowModelVersionDeploymentJobState', () => ({
    jobId: GraphQLString,
    runId: GraphQLString,
    jobState: DeploymentJobConnectionState,
    runState: DeploymentJobRunState,
    currentTaskName: GraphQLString,
  })),
}));

// ---------------------------------------------------------------- runs

const Dataset = objectType('MlflowDataset', () => ({
  name: GraphQLString,
  digest: GraphQLString,
  sourceType: GraphQLString,
  source: GraphQLString,
  schema: GraphQLString,
  profile: GraphQLString,
}));

const RunInputs = objectType('MlflowRunInputs', () => ({
  datasetInputs: listOf(
    objectType('MlflowDatasetInput', () => ({ tags: listOf(keyValue('MlflowInputTag')), dataset: Dataset })),
  ),
  modelInputs: listOf(objectType('MlflowModelInput', () => ({ modelId: GraphQLString }))),
}));

const RunOutputs = objectType('MlflowRunOutputs', () => ({
  modelOutputs: listOf(objectType('MlflowModelOutput', () => ({ modelId: GraphQLString, step: LongString }))),
}));

const RunMetric = objectType('MlflowMetricExtension', () => ({
  key: GraphQLString,
  // GraphQL's Float has no NaN; MLflow answers null for it rather than fail the field.
  value: {
    type: GraphQLFloat,
    resolve: (metric) =>
      typeof metric.value === 'number' && Number.isNaN(metric.value) ? null : metric.value,
  },
  timestamp: LongString,
  step: LongString,
  datasetName: GraphQLString,
  datasetDigest: GraphQLString,
  modelId: GraphQLString,
  runId: GraphQLString,
}));

const RunData = objectType('MlflowRunData', () => ({
  metrics: listOf(RunMetric),
  params: listOf(keyValue('MlflowParam')),
  tags: listOf(keyValue('MlflowRunTag')),
}));

const RunInfo = objectType('MlflowRunInfo', () => ({
  runId: GraphQLString,
  runUuid: GraphQLString,
  runName: GraphQLString,
  experimentId: GraphQLString,
  userId: GraphQLString,
  status: RunStatus,
  startTime: LongString,
  endTime: LongString,
  artifactUri: GraphQLString,
  lifecycleStage: GraphQLString,
}));

function runInfo(run: Source): { run_id: string; experiment_id: string } {
  return run.info as { run_id: string; experiment_id: string };
}

const Run = objectType('MlflowRunExtension', () => ({
  info: RunInfo,
  data: RunData,
  inputs: RunInputs,
  outputs: RunOutputs,
  experiment: {
    type: Experiment,
    resolve: (run, _args, context) => experiment(context, runInfo(run).experiment_id),
  },
  modelVersions: {
    type: listOf(ModelVersion),
    resolve: async (run, _args, context) => {
      if (!context.registry) return null;
      // Run ids are letters, digits, '-' and '_' only, so the id needs no escaping inside the quotes.
      const page = await context.registry.searchModelVersions({
        filter: `run_id='${runInfo(run).run_id}'`,
        orderBy: [],
      });
      return page.items;
    },
  },
}));

// ---------------------------------------------------------------- responses

const apiError = { apiError: ApiError };

const GetExperimentResponse = objectType('MlflowGetExperimentResponse', () => ({
  experiment: Experiment,
  ...apiError,
}));
const GetRunResponse = objectType('MlflowGetRunResponse', () => ({ run: Run, ...apiError }));
const SearchRunsResponse = objectType('MlflowSearchRunsResponse', () => ({
  runs: listOf(Run),
  nextPageToken: GraphQLString,
  ...apiError,
}));
const GetMetricHistoryBulkIntervalResponse = objectType('MlflowGetMetricHistoryBulkIntervalResponse', () => ({
  metrics: listOf(
    // Unlike a run's metrics, MLflow leaves NaN here to fail the field (Float cannot represent it).
    objectType('MlflowMetricWithRunId', () => ({
      key: GraphQLString,
      value: GraphQLFloat,
      timestamp: LongString,
      step: LongString,
      runId: GraphQLString,
    })),
  ),
  ...apiError,
}));
const ListArtifactsResponse = objectType('MlflowListArtifactsResponse', () => ({
  rootUri: GraphQLString,
  files: listOf(
    objectType('MlflowFileInfo', () => ({
      path: GraphQLString,
      isDir: GraphQLBoolean,
      fileSize: LongString,
    })),
  ),
  nextPageToken: GraphQLString,
  ...apiError,
}));
const SearchModelVersionsResponse = objectType('MlflowSearchModelVersionsResponse', () => ({
  modelVersions: listOf(ModelVersion),
  nextPageToken: GraphQLString,
  ...apiError,
}));
const SearchDatasetsResponse = objectType('MlflowSearchDatasetsResponse', () => ({
  datasetSummaries: listOf(
    objectType('MlflowDatasetSummary', () => ({
      experimentId: GraphQLString,
      name: GraphQLString,
      digest: GraphQLString,
      context: GraphQLString,
    })),
  ),
  ...apiError,
}));

// ---------------------------------------------------------------- inputs

const GetExperimentInput = inputType('MlflowGetExperimentInput', { experimentId: GraphQLString });
const GetRunInput = inputType('MlflowGetRunInput', { runId: GraphQLString, runUuid: GraphQLString });
const SearchRunsInput = inputType('MlflowSearchRunsInput', {
  experimentIds: stringList,
  filter: GraphQLString,
  runViewType: ViewTypeEnum,
  maxResults: GraphQLInt,
  orderBy: stringList,
  pageToken: GraphQLString,
});
const GetMetricHistoryBulkIntervalInput = inputType('MlflowGetMetricHistoryBulkIntervalInput', {
  runIds: stringList,
  metricKey: GraphQLString,
  startStep: GraphQLInt,
  endStep: GraphQLInt,
  maxResults: GraphQLInt,
});
const ListArtifactsInput = inputType('MlflowListArtifactsInput', {
  runId: GraphQLString,
  runUuid: GraphQLString,
  path: GraphQLString,
  pageToken: GraphQLString,
});
const SearchModelVersionsInput = inputType('MlflowSearchModelVersionsInput', {
  filter: GraphQLString,
  maxResults: LongString,
  orderBy: stringList,
  pageToken: GraphQLString,
});
const SearchDatasetsInput = inputType('MlflowSearchDatasetsInput', { experimentIds: stringList });

// ---------------------------------------------------------------- root fields

/** An `input` argument as the resolver reads it: absent fields and a missing input are undefined. */
interface Input {
  [field: string]: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const int = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
/** A [String] input, its null items dropped as a proto repeated field would never hold them. */
const texts = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

type RootField = GraphQLFieldConfig<unknown, GraphqlContext, { input?: Input | null }>;

function rootField(
  type: GraphQLObjectType,
  input: GraphQLInputObjectType,
  resolve: (input: Input, context: GraphqlContext) => Promise<unknown>,
): RootField {
  return {
    type,
    args: { input: { type: input } },
    resolve: (_root, args, context) => resolve(args.input ?? {}, context),
  };
}

const searchRuns = rootField(SearchRunsResponse, SearchRunsInput, async (input, { tracking }) => {
  const page = await tracking.searchRuns({
    experimentIds: texts(input.experimentIds),
    filter: text(input.filter),
    orderBy: texts(input.orderBy),
    viewType: (text(input.runViewType) as ViewType | undefined) ?? 'ACTIVE_ONLY',
    maxResults: int(input.maxResults) ?? 1000,
    pageToken: text(input.pageToken),
  });
  return { runs: page.items, next_page_token: page.nextPageToken };
});

function echo(name: string): GraphQLFieldConfig<unknown, GraphqlContext, { inputString?: string | null }> {
  return {
    type: objectType(name, () => ({
      output: { type: GraphQLString, description: 'Echoes the input string' },
    })),
    description: 'Simple echoing field',
    args: { inputString: { type: GraphQLString } },
    resolve: (_root, args) => ({ output: args.inputString ?? null }),
  };
}

const Query = new GraphQLObjectType<unknown, GraphqlContext>({
  name: 'Query',
  fields: {
    mlflowGetExperiment: rootField(
      GetExperimentResponse,
      GetExperimentInput,
      async (input, { tracking }) => ({
        experiment: await tracking.getExperiment(text(input.experimentId) ?? ''),
      }),
    ),
    mlflowGetMetricHistoryBulkInterval: rootField(
      GetMetricHistoryBulkIntervalResponse,
      GetMetricHistoryBulkIntervalInput,
      async (input, { tracking }) => ({
        metrics: await tracking.getMetricHistoryBulkInterval({
          runIds: texts(input.runIds),
          key: text(input.metricKey) ?? '',
          startStep: int(input.startStep),
          endStep: int(input.endStep),
          maxResults: int(input.maxResults),
        }),
      }),
    ),
    mlflowGetRun: rootField(GetRunResponse, GetRunInput, async (input, { tracking }) => ({
      run: await tracking.getRun(text(input.runId) || text(input.runUuid) || ''),
    })),
    mlflowListArtifacts: rootField(
      ListArtifactsResponse,
      ListArtifactsInput,
      async (input, { artifacts }) => {
        const listing = await artifacts.listRunArtifacts(
          text(input.runId) || text(input.runUuid) || '',
          text(input.path),
        );
        return { root_uri: listing.rootUri, files: listing.files };
      },
    ),
    mlflowSearchModelVersions: rootField(
      SearchModelVersionsResponse,
      SearchModelVersionsInput,
      async (input, { registry }) => {
        if (!registry) return null;
        const page = await registry.searchModelVersions({
          filter: text(input.filter),
          orderBy: texts(input.orderBy),
          maxResults: int(input.maxResults),
          pageToken: text(input.pageToken),
        });
        return { model_versions: page.items, next_page_token: page.nextPageToken };
      },
    ),
    test: echo('Test'),
    mlflowSearchRuns: searchRuns,
  },
});

const Mutation = new GraphQLObjectType<unknown, GraphqlContext>({
  name: 'Mutation',
  fields: {
    mlflowSearchDatasets: rootField(
      SearchDatasetsResponse,
      SearchDatasetsInput,
      async (input, { tracking }) => ({
        dataset_summaries: await tracking.searchDatasets(texts(input.experimentIds)),
      }),
    ),
    mlflowSearchRuns: searchRuns,
    testMutation: echo('TestMutation'),
  },
});

/** MLflow's UI tags each operation with its component (a Databricks convention); it has no effect. */
const ComponentDirective = new GraphQLDirective({
  name: 'component',
  locations: [DirectiveLocation.QUERY, DirectiveLocation.MUTATION],
  args: { name: { type: new GraphQLNonNull(GraphQLString) } },
});

export const schema = new GraphQLSchema({
  query: Query,
  mutation: Mutation,
  directives: [...specifiedDirectives, ComponentDirective],
});
