import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, DIALECTS, startTestServer, type TestServer } from './helpers.js';

// MLflow's search grammar, table-driven, over REST on every dialect. Each row is a filter (and
// optionally order_by, view type, experiments, max_results) with the run or experiment names
// MLflow answers, in order, or the error it gives (INVALID_PARAMETER_VALUE, HTTP 400). Rows marked
// "extension" use OR or parentheses, which MLflow rejects.

// ---------------------------------------------------------------- the runs data set

interface RunSeed {
  name: string;
  exp: 'A' | 'B';
  start: number;
  end?: number;
  user: string;
  status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
  params?: Record<string, string>;
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
  datasets?: { name: string; digest: string; context: string }[];
  deleted?: boolean;
}

// Latest metric values; NaN is logged as the JSON string "NaN", as MLflow's clients send it.
const RUNS: RunSeed[] = [
  {
    name: 'r1',
    exp: 'A',
    start: 1000,
    end: 2000,
    user: 'alice',
    status: 'FINISHED',
    params: { model: 'cnn', lr: '0.01', 'batch size': '32' },
    metrics: { acc: 0.9, loss: 0.3 },
    tags: { team: 'vision' },
    datasets: [{ name: 'mnist', digest: 'd1', context: 'training' }],
  },
  {
    name: 'r2',
    exp: 'A',
    start: 1100,
    end: 2100,
    user: 'bob',
    status: 'FINISHED',
    params: { model: 'CNN-large', lr: '0.1' },
    metrics: { acc: 0.7, loss: Number.NaN },
    tags: { team: 'Vision' },
    datasets: [{ name: 'mnist', digest: 'd1', context: 'eval' }],
  },
  {
    name: 'r3',
    exp: 'A',
    start: 1200,
    end: 2200,
    user: 'alice',
    status: 'FAILED',
    params: { model: 'mlp', lr: '0.001' },
    metrics: { acc: 0.5, loss: 0.8 },
    tags: { team: 'nlp', priority: 'high' },
  },
  {
    name: 'r4',
    exp: 'A',
    start: 1300,
    user: 'carol',
    status: 'RUNNING',
    params: { model: 'mlp_v2' },
    metrics: { acc: -1 },
    datasets: [{ name: 'cifar10', digest: 'abc123', context: 'training' }],
  },
  {
    name: 'r5',
    exp: 'A',
    start: 1400,
    end: 2400,
    user: 'bob',
    status: 'KILLED',
    tags: { team: 'vision', priority: 'low' },
  },
  {
    name: 'r6',
    exp: 'A',
    start: 1500,
    end: 2500,
    user: 'dave',
    status: 'FINISHED',
    params: { model: 'cnn', lr: '0.01' },
    metrics: { acc: 0.9, loss: 0.2, 'f1-score': 0.5 },
    tags: { team: 'vision' },
  },
  {
    name: 'r7',
    exp: 'A',
    start: 1600,
    end: 2600,
    user: 'alice',
    status: 'FINISHED',
    params: { model: 'cnn' },
    metrics: { acc: 0.95 },
    tags: { team: 'vision' },
    deleted: true,
  },
  {
    name: 'r8',
    exp: 'B',
    start: 1700,
    end: 2700,
    user: 'alice',
    status: 'FINISHED',
    params: { model: 'cnn' },
    metrics: { acc: 0.6, loss: Number.NaN },
    tags: { team: 'nlp' },
    datasets: [{ name: 'mnist', digest: 'd2', context: 'eval' }],
  },
  {
    name: 'r9',
    exp: 'B',
    start: 1800,
    end: 2800,
    user: 'erin',
    status: 'FINISHED',
    params: { model: 'a%b' },
    metrics: { acc: 0.4 },
    tags: { team: 'n_lp' },
  },
  {
    name: 'r10',
    exp: 'B',
    start: 1900,
    user: 'frank',
    status: 'RUNNING',
    params: { model: 'svm', lr: '0.01' },
    metrics: { acc: 0.8, loss: 0.001 },
  },
];

/** Active runs of A and B in MLflow's default order (start_time DESC). */
const ALL = ['r10', 'r9', 'r8', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1'];

interface RunContext {
  ids: Record<string, string>;
}

interface RunCase {
  filter?: string | ((ctx: RunContext) => string);
  orderBy?: string[];
  viewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
  experiments?: ('A' | 'B' | 'none')[];
  maxResults?: number;
  expect: string[] | { error: RegExp };
}

const RUN_CASES: RunCase[] = [
  // metrics: numeric comparators, literal forms, aliases, NaN (compared as 0, as MLflow does)
  { filter: undefined, expect: ALL },
  { filter: 'metrics.acc > 0.75', expect: ['r10', 'r6', 'r1'] },
  { filter: 'metrics.acc >= 0.9', expect: ['r6', 'r1'] },
  { filter: 'metrics.acc < 0.5', expect: ['r9', 'r4'] },
  { filter: 'metrics.acc <= 0.5', expect: ['r9', 'r4', 'r3'] },
  { filter: 'metrics.acc = 0.9', expect: ['r6', 'r1'] },
  { filter: 'metrics.acc != 0.9', expect: ['r10', 'r9', 'r8', 'r4', 'r3', 'r2'] },
  { filter: 'metric.acc > -1', expect: ['r10', 'r9', 'r8', 'r6', 'r3', 'r2', 'r1'] },
  { filter: 'metrics.acc > -1.5e0', expect: ['r10', 'r9', 'r8', 'r6', 'r4', 'r3', 'r2', 'r1'] },
  { filter: 'metrics.acc > .85', expect: ['r6', 'r1'] },
  { filter: 'metrics.acc > 1E-1', expect: ['r10', 'r9', 'r8', 'r6', 'r3', 'r2', 'r1'] },
  { filter: 'metrics.acc > 5.', expect: [] },
  { filter: 'metrics.acc>0.75', expect: ['r10', 'r6', 'r1'] },
  { filter: 'metrics.loss < 0.5', expect: ['r10', 'r8', 'r6', 'r2', 'r1'] },
  { filter: 'metrics.loss = 0', expect: ['r8', 'r2'] },
  { filter: 'metrics."f1-score" >= 0.5', expect: ['r6'] },
  { filter: 'metrics.`f1-score` < 0.5', expect: [] },
  { filter: 'metrics.missing > 0', expect: [] },

  // params: string comparators, quoting styles, aliases, LIKE/ILIKE with % and _, IS [NOT] NULL
  { filter: "params.model = 'cnn'", expect: ['r8', 'r6', 'r1'] },
  { filter: 'params.model = "cnn"', expect: ['r8', 'r6', 'r1'] },
  { filter: "param.model = 'cnn'", expect: ['r8', 'r6', 'r1'] },
  { filter: "parameter.model = 'cnn'", expect: ['r8', 'r6', 'r1'] },
  { filter: "parameters.model = 'cnn'", expect: ['r8', 'r6', 'r1'] },
  { filter: "params.model != 'cnn'", expect: ['r10', 'r9', 'r4', 'r3', 'r2'] },
  { filter: "params.model LIKE 'cnn%'", expect: ['r8', 'r6', 'r1'] },
  { filter: "params.model ILIKE 'cnn%'", expect: ['r8', 'r6', 'r2', 'r1'] },
  { filter: "params.model like 'CNN%'", expect: ['r2'] },
  { filter: "params.model LIKE '%large'", expect: ['r2'] },
  { filter: "params.model LIKE 'ml_'", expect: ['r3'] },
  { filter: "params.model LIKE 'mlp_%'", expect: ['r4'] },
  { filter: "params.model LIKE 'mlp\\_v_'", expect: ['r4'] },
  { filter: "params.model LIKE 'a\\%b'", expect: ['r9'] },
  { filter: "params.lr = '0.01'", expect: ['r10', 'r6', 'r1'] },
  { filter: "params.`batch size` = '32'", expect: ['r1'] },
  { filter: 'params."batch size" = "32"', expect: ['r1'] },
  { filter: 'params.lr IS NULL', expect: ['r9', 'r8', 'r5', 'r4'] },
  { filter: 'params.lr is not null', expect: ['r10', 'r6', 'r3', 'r2', 'r1'] },
  { filter: "params.model = 'cnn' AND params.lr = '0.01'", expect: ['r6', 'r1'] },

  // tags
  { filter: "tags.team = 'vision'", expect: ['r6', 'r5', 'r1'] },
  { filter: "tag.team = 'vision'", expect: ['r6', 'r5', 'r1'] },
  { filter: "tags.team != 'vision'", expect: ['r9', 'r8', 'r3', 'r2'] },
  { filter: "tags.team ILIKE 'VISION'", expect: ['r6', 'r5', 'r2', 'r1'] },
  { filter: "tags.team LIKE 'n_lp'", expect: ['r9'] },
  { filter: 'tags.priority IS NULL', expect: ['r10', 'r9', 'r8', 'r6', 'r4', 'r2', 'r1'] },
  { filter: 'tags.priority IS NOT NULL', expect: ['r5', 'r3'] },
  { filter: 'tags."mlflow.runName" = \'r3\'', expect: ['r3'] },
  { filter: "tags.`mlflow.runName` LIKE 'r1%'", expect: ['r10', 'r1'] },

  // string attributes, with every attribute prefix alias and none
  { filter: "attributes.status = 'FINISHED'", expect: ['r9', 'r8', 'r6', 'r2', 'r1'] },
  { filter: "attribute.status != 'FINISHED'", expect: ['r10', 'r5', 'r4', 'r3'] },
  { filter: "attr.status LIKE 'RUN%'", expect: ['r10', 'r4'] },
  { filter: "run.status ILIKE 'killed'", expect: ['r5'] },
  { filter: "status = 'FAILED'", expect: ['r3'] },
  { filter: "attributes.user_id = 'alice'", expect: ['r8', 'r3', 'r1'] },
  { filter: "attributes.run_name = 'r3'", expect: ['r3'] },
  { filter: "attributes.run_name LIKE 'r1%'", expect: ['r10', 'r1'] },
  { filter: "run_name ILIKE 'R1'", expect: ['r1'] },
  { filter: "`Run Name` = 'r2'", expect: ['r2'] },
  { filter: "attributes.`run name` = 'r2'", expect: ['r2'] },
  { filter: "attributes.artifact_uri LIKE '%/artifacts'", expect: ALL },
  { filter: ({ ids }) => `attributes.run_id = '${ids.r4}'`, expect: ['r4'] },
  { filter: ({ ids }) => `attributes.run_id IN ('${ids.r4}', '${ids.r6}')`, expect: ['r6', 'r4'] },
  { filter: ({ ids }) => `attributes.run_id in ("${ids.r4}",)`, expect: ['r4'] },
  {
    filter: ({ ids }) => `attributes.run_id NOT IN ('${ids.r4}', '${ids.r6}')`,
    expect: ['r10', 'r9', 'r8', 'r5', 'r3', 'r2', 'r1'],
  },
  // MLflow drops list items that are not all lower case (run ids are lower-case hex).
  { filter: ({ ids }) => `attributes.run_id IN ('${ids.r4.toUpperCase()}')`, expect: [] },
  { filter: ({ ids }) => `attributes.run_id LIKE '${ids.r4}%'`, expect: ['r4'] },

  // numeric attributes
  { filter: 'attributes.start_time > 1500', expect: ['r10', 'r9', 'r8'] },
  { filter: 'attributes.start_time >= 1500', expect: ['r10', 'r9', 'r8', 'r6'] },
  { filter: 'attributes.start_time = 1200', expect: ['r3'] },
  { filter: 'attributes.start_time != 1200', expect: ['r10', 'r9', 'r8', 'r6', 'r5', 'r4', 'r2', 'r1'] },
  { filter: 'attributes.start_time > 1250.5', expect: ['r10', 'r9', 'r8', 'r6', 'r5', 'r4'] },
  { filter: 'attributes.created < 1100', expect: ['r1'] },
  { filter: 'Created <= 1100', expect: ['r2', 'r1'] },
  { filter: 'attributes.end_time > 2500', expect: ['r9', 'r8'] },
  { filter: 'attributes.end_time <= 2100', expect: ['r2', 'r1'] },

  // datasets
  { filter: "datasets.name = 'mnist'", expect: ['r8', 'r2', 'r1'] },
  { filter: "dataset.digest = 'd1'", expect: ['r2', 'r1'] },
  { filter: "datasets.context = 'training'", expect: ['r4', 'r1'] },
  { filter: "datasets.context != 'training'", expect: ['r8', 'r2'] },
  { filter: "datasets.name IN ('mnist', 'cifar10')", expect: ['r8', 'r4', 'r2', 'r1'] },
  { filter: "datasets.name NOT IN ('mnist')", expect: ['r4'] },
  { filter: "datasets.name LIKE 'cifar%'", expect: ['r4'] },
  { filter: "datasets.digest ILIKE 'ABC%'", expect: ['r4'] },
  { filter: "datasets.name IN ('MNIST')", expect: [] },
  { filter: "datasets.name = 'mnist' AND datasets.context = 'eval'", expect: ['r8', 'r2'] },

  // conjunctions, keyword case, whitespace
  {
    filter: "metrics.acc > 0.5 and params.model = 'cnn' AND tags.team = 'vision'",
    expect: ['r6', 'r1'],
  },
  { filter: "  metrics.acc>0.5   AND\n\tparams.model='cnn'  ", expect: ['r8', 'r6', 'r1'] },

  // extension: OR and parentheses, AND binding tighter than OR
  { filter: "params.model = 'svm' OR tags.priority = 'high'", expect: ['r10', 'r3'] },
  { filter: "params.model = 'svm' OR tags.team = 'nlp' AND metrics.loss > 0.01", expect: ['r10', 'r3'] },
  { filter: "(params.model = 'svm' OR tags.team = 'nlp') AND metrics.loss > 0.01", expect: ['r3'] },
  {
    filter:
      "params.model = 'svm' or (tags.team = 'nlp' and (metrics.acc < 0.55 or attributes.user_id = 'alice'))",
    expect: ['r10', 'r8', 'r3'],
  },

  // order_by: values in order, NaN after numbers, missing last, in both directions; ties by
  // the next key, then start_time DESC, then run id
  { orderBy: ['metrics.acc DESC'], expect: ['r6', 'r1', 'r10', 'r2', 'r8', 'r3', 'r9', 'r4', 'r5'] },
  { orderBy: ['metrics.acc ASC'], expect: ['r4', 'r9', 'r3', 'r8', 'r2', 'r10', 'r6', 'r1', 'r5'] },
  { orderBy: ['metrics.loss'], expect: ['r10', 'r6', 'r1', 'r3', 'r8', 'r2', 'r9', 'r5', 'r4'] },
  { orderBy: ['metrics.loss desc'], expect: ['r3', 'r1', 'r6', 'r10', 'r8', 'r2', 'r9', 'r5', 'r4'] },
  { orderBy: ['metrics.`f1-score` DESC'], expect: ['r6', 'r10', 'r9', 'r8', 'r5', 'r4', 'r3', 'r2', 'r1'] },
  { orderBy: ['params.model'], expect: ['r2', 'r9', 'r8', 'r6', 'r1', 'r3', 'r4', 'r10', 'r5'] },
  {
    orderBy: ['params.model DESC', 'attributes.start_time ASC'],
    expect: ['r10', 'r4', 'r3', 'r1', 'r6', 'r8', 'r9', 'r2', 'r5'],
  },
  { orderBy: ['tags.team ASC'], expect: ['r2', 'r9', 'r8', 'r3', 'r6', 'r5', 'r1', 'r10', 'r4'] },
  { orderBy: ['attributes.end_time DESC'], expect: ['r9', 'r8', 'r6', 'r5', 'r3', 'r2', 'r1', 'r10', 'r4'] },
  { orderBy: ['attributes.end_time'], expect: ['r1', 'r2', 'r3', 'r5', 'r6', 'r8', 'r9', 'r10', 'r4'] },
  { orderBy: ['start_time'], expect: ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r8', 'r9', 'r10'] },
  { orderBy: ['created DESC'], expect: ALL },
  { orderBy: ['attributes.run_name DESC'], expect: ['r9', 'r8', 'r6', 'r5', 'r4', 'r3', 'r2', 'r10', 'r1'] },
  {
    orderBy: ['attributes.user_id', 'metrics.acc DESC'],
    expect: ['r1', 'r8', 'r3', 'r2', 'r5', 'r4', 'r6', 'r9', 'r10'],
  },
  { orderBy: ['attributes.status DESC'], expect: ['r10', 'r4', 'r5', 'r9', 'r8', 'r6', 'r2', 'r1', 'r3'] },
  { filter: "params.model LIKE '%n%'", orderBy: ['metrics.acc ASC'], expect: ['r8', 'r6', 'r1'] },

  // view types, experiment lists, max_results
  { filter: "params.model = 'cnn'", viewType: 'ALL', expect: ['r8', 'r7', 'r6', 'r1'] },
  { viewType: 'DELETED_ONLY', expect: ['r7'] },
  { experiments: ['B'], expect: ['r10', 'r9', 'r8'] },
  { experiments: ['A'], filter: 'metrics.acc > 0.5', expect: ['r6', 'r2', 'r1'] },
  { experiments: ['B', 'A'], expect: ALL },
  { experiments: ['none'], expect: [] },
  { maxResults: 3, orderBy: ['metrics.acc DESC'], expect: ['r6', 'r1', 'r10'] },

  // invalid values for the kind of key
  { filter: "metrics.acc > 'x'", expect: { error: /^Expected numeric value type for metric\. Found 'x'$/ } },
  { filter: 'metrics.acc > abc', expect: { error: /^Expected numeric value type for metric\. Found abc$/ } },
  {
    filter: 'params.model = 5',
    expect: { error: /^Expected a quoted string value for parameter \(e\.g\. 'my-value'\)\. Got value 5$/ },
  },
  {
    filter: 'params.model = cnn',
    expect: {
      error:
        /^Parameter value is either not quoted or unidentified quote types used for string value cnn\. Use either single or double quotes\.$/,
    },
  },
  {
    filter: 'tags.team = 1',
    expect: { error: /^Expected a quoted string value for tag \(e\.g\. 'my-value'\)\. Got value 1$/ },
  },
  {
    filter: "tags.team IN ('vision')",
    expect: {
      error: /^Expected a quoted string value for tag \(e\.g\. 'my-value'\)\. Got value \('vision'\)$/,
    },
  },
  {
    filter: "attributes.status IN ('FINISHED')",
    expect: {
      error: /^Only the 'run_id' attribute supports comparison with a list of quoted string values\.$/,
    },
  },
  {
    filter: 'attributes.status = 1',
    expect: { error: /^Expected a quoted string value for attributes\. Got value 1$/ },
  },
  {
    filter: "attributes.start_time = 'x'",
    expect: { error: /^Expected numeric value type for numeric attribute: start_time\. Found 'x'$/ },
  },
  {
    filter: 'datasets.name = 5',
    expect: { error: /^Expected a quoted string value for dataset attributes\. Got value 5$/ },
  },
  {
    filter: 'attributes.run_id IN ()',
    expect: {
      error:
        /^While parsing a list in the query, expected a non-empty list of string values, but got empty list$/,
    },
  },
  {
    filter: "attributes.run_id IN ('a', 1)",
    expect: { error: /but got different type in list: \('a', 1\)$/ },
  },

  // invalid comparators for the kind of key
  { filter: 'metrics.acc LIKE 5', expect: { error: /^Invalid comparator 'LIKE' not one of '\{'>', '>='/ } },
  { filter: 'metrics.acc <> 1', expect: { error: /^Invalid comparator '<>' not one of / } },
  { filter: 'metrics.acc IS NULL', expect: { error: /^Invalid comparator 'IS NULL' not one of / } },
  {
    filter: "params.model > 'a'",
    expect: { error: /^Invalid comparator '>' not one of '\{'!=', '=', 'LIKE'/ },
  },
  { filter: "tags.team < 'a'", expect: { error: /^Invalid comparator '<' not one of / } },
  // RLIKE is the trace grammar's only: runs refuse it as any other comparator they do not take.
  { filter: "params.model RLIKE 'a'", expect: { error: /^Invalid comparator 'RLIKE' not one of / } },
  { filter: "attributes.run_name RLIKE 'a'", expect: { error: /^Invalid comparator 'RLIKE' not one of / } },
  {
    filter: "attributes.status > 'A'",
    expect: { error: /^Invalid comparator '>' not one of '\{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'\}'$/ },
  },
  { filter: 'attributes.start_time LIKE 5', expect: { error: /^Invalid comparator 'LIKE' not one of / } },
  { filter: "datasets.name > 'a'", expect: { error: /^Invalid comparator '>' not one of / } },

  // unknown keys and prefixes
  {
    filter: "attributes.foo = 'x'",
    expect: { error: /^Invalid attribute key 'foo' specified\. Valid keys are '\{/ },
  },
  {
    filter: "lifecycle_stage = 'active'",
    expect: { error: /^Invalid attribute key 'lifecycle_stage' specified/ },
  },
  {
    filter: "foo.bar = 'x'",
    expect: {
      error:
        /^Invalid entity type 'foo'\. Valid values are \['metric', 'parameter', 'tag', 'attribute', 'dataset'\]$/,
    },
  },
  { filter: 'Metrics.acc > 1', expect: { error: /^Invalid entity type 'Metrics'\./ } },
  {
    filter: "datasets.size = 'x'",
    expect: { error: /^Invalid dataset key 'size' specified\. Valid keys are '\{/ },
  },

  // malformed filters
  { filter: 'metrics.acc >', expect: { error: /^Invalid clause\(s\) in filter string: / } },
  { filter: "params.model = 'cnn", expect: { error: /^Invalid clause\(s\) in filter string: / } },
  { filter: 'metrics.acc > 1 OR', expect: { error: /^Invalid clause\(s\) in filter string: / } },
  { filter: '(metrics.acc > 1', expect: { error: /^Invalid clause\(s\) in filter string: / } },
  { filter: 'metrics.acc > 0x1F', expect: { error: /^Invalid clause\(s\) in filter string: / } },

  // invalid order_by
  {
    orderBy: ['metrics.acc DOWN'],
    expect: { error: /^Invalid ordering key in order_by clause 'metrics\.acc DOWN'\.$/ },
  },
  {
    orderBy: ['metrics.acc DESC extra'],
    expect: { error: /^Invalid order_by clause 'metrics\.acc DESC extra'\. Could not be parsed\.$/ },
  },
  {
    orderBy: ['metrics.acc, params.model'],
    expect: { error: /^Invalid order_by clause 'metrics\.acc, params\.model'\. Could not be parsed\.$/ },
  },
  { orderBy: ['attributes.foo'], expect: { error: /^Invalid attribute key 'foo' specified/ } },
  { orderBy: ['datasets.name'], expect: { error: /^Invalid identifier type 'dataset'$/ } },
  { orderBy: ['bogus.acc'], expect: { error: /^Invalid entity type 'bogus'\./ } },
  {
    orderBy: ['metrics.acc', 'metric.acc DESC'],
    expect: { error: /^`order_by` contains duplicate fields: \['metrics\.acc', 'metric\.acc DESC'\]$/ },
  },
  {
    maxResults: 0,
    expect: {
      error: /^Invalid value 0 for parameter 'max_results' supplied\. It must be a positive integer$/,
    },
  },
  {
    maxResults: 50001,
    expect: {
      error:
        /^Invalid value 50001 for parameter 'max_results' supplied: {2}Hint: Value was of type 'int'\. See the API docs for more information about request parameters\.$/,
    },
  },
];

// ---------------------------------------------------------------- the experiments data set

interface ExperimentSeed {
  name: string;
  tags?: Record<string, string>;
  deleted?: boolean;
}

// Created in this order, each in a later millisecond than the one before.
const EXPERIMENTS: ExperimentSeed[] = [
  { name: 'exp-alpha', tags: { team: 'vision', stage: 'prod' } },
  { name: 'exp-beta', tags: { team: 'nlp' } },
  { name: 'Exp-Gamma' },
  { name: 'exp_delta', tags: { team: 'vision' }, deleted: true },
  { name: 'exp-eps', tags: { team: 'Vision' } },
];

/** Active experiments in MLflow's default order (creation_time DESC); Default is the store's own. */
const ALL_EXPERIMENTS = ['exp-eps', 'Exp-Gamma', 'exp-beta', 'exp-alpha', 'Default'];

interface ExperimentContext {
  created: Record<string, number>;
}

interface ExperimentCase {
  filter?: string | ((ctx: ExperimentContext) => string);
  orderBy?: string[];
  viewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
  maxResults?: number;
  expect: string[] | { error: RegExp };
}

const EXPERIMENT_CASES: ExperimentCase[] = [
  { expect: ALL_EXPERIMENTS },
  { filter: "name = 'exp-alpha'", expect: ['exp-alpha'] },
  { filter: "name != 'exp-alpha'", expect: ['exp-eps', 'Exp-Gamma', 'exp-beta', 'Default'] },
  { filter: "name LIKE 'exp-%'", expect: ['exp-eps', 'exp-beta', 'exp-alpha'] },
  { filter: "name ILIKE 'exp-%'", expect: ['exp-eps', 'Exp-Gamma', 'exp-beta', 'exp-alpha'] },
  { filter: "name LIKE 'exp_%'", viewType: 'ALL', expect: ['exp-eps', 'exp_delta', 'exp-beta', 'exp-alpha'] },
  { filter: "name LIKE 'exp\\_%'", viewType: 'ALL', expect: ['exp_delta'] },
  { filter: 'attribute.name = "Exp-Gamma"', expect: ['Exp-Gamma'] },
  { filter: "tags.team = 'vision'", expect: ['exp-alpha'] },
  { filter: "tag.team ILIKE 'vision'", expect: ['exp-eps', 'exp-alpha'] },
  { filter: "tags.team != 'vision'", expect: ['exp-eps', 'exp-beta'] },
  { filter: 'tags.team IS NULL', expect: ['Exp-Gamma', 'Default'] },
  { filter: 'tags.team IS NOT NULL', expect: ['exp-eps', 'exp-beta', 'exp-alpha'] },
  { filter: "tags.stage = 'prod' AND tags.team = 'vision'", expect: ['exp-alpha'] },
  {
    filter: ({ created }) => `creation_time > ${created['exp-alpha']}`,
    expect: ['exp-eps', 'Exp-Gamma', 'exp-beta'],
  },
  { filter: ({ created }) => `creation_time <= ${created['exp-alpha']}`, expect: ['exp-alpha', 'Default'] },
  { filter: ({ created }) => `attribute.creation_time = ${created['exp-beta']}`, expect: ['exp-beta'] },
  { filter: 'last_update_time > 0', expect: ALL_EXPERIMENTS },
  { filter: "name = 'exp-beta' OR tags.stage = 'prod'", expect: ['exp-beta', 'exp-alpha'] }, // extension
  { orderBy: ['name'], expect: ['Default', 'Exp-Gamma', 'exp-alpha', 'exp-beta', 'exp-eps'] },
  { orderBy: ['name DESC'], expect: ['exp-eps', 'exp-beta', 'exp-alpha', 'Exp-Gamma', 'Default'] },
  { orderBy: ['experiment_id DESC'], expect: ALL_EXPERIMENTS },
  { orderBy: ['creation_time ASC'], expect: ['Default', 'exp-alpha', 'exp-beta', 'Exp-Gamma', 'exp-eps'] },
  { viewType: 'DELETED_ONLY', expect: ['exp_delta'] },
  { filter: "tags.team = 'vision'", viewType: 'ALL', expect: ['exp_delta', 'exp-alpha'] },
  { maxResults: 2, expect: ['exp-eps', 'Exp-Gamma'] },

  {
    filter: "name > 'a'",
    expect: { error: /^Invalid comparator '>' not one of '\{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'\}'$/ },
  },
  { filter: 'creation_time LIKE 5', expect: { error: /^Invalid comparator 'LIKE' not one of / } },
  {
    filter: "creation_time = 'x'",
    expect: { error: /^Expected numeric value type for numeric attribute: creation_time\. Found 'x'$/ },
  },
  { filter: 'name = 5', expect: { error: /^Expected a quoted string value for attributes\. Got value 5$/ } },
  { filter: 'name = exp', expect: { error: /^Parameter value is either not quoted/ } },
  { filter: "tags.team > 'a'", expect: { error: /^Invalid comparator for tag: >$/ } },
  {
    filter: "attributes.name = 'x'",
    expect: {
      error: /^Invalid entity type 'attributes'\. Valid entity types are \('attribute', 'tag', 'tags'\)$/,
    },
  },
  { filter: 'metrics.acc > 1', expect: { error: /^Invalid entity type 'metrics'\./ } },
  { filter: "foo = 'x'", expect: { error: /^Invalid attribute key 'foo' specified\. Valid keys are '\{/ } },
  {
    filter: "name IN ('a')",
    expect: {
      error: /^Only the 'run_id' attribute supports comparison with a list of quoted string values\.$/,
    },
  },
  { orderBy: ['tags.team'], expect: { error: /^Invalid order_by entity: tag$/ } },
  { orderBy: ['foo'], expect: { error: /^Invalid attribute key 'foo' specified/ } },
  { orderBy: ['name UP'], expect: { error: /^Invalid ordering key in order_by clause 'name UP'\.$/ } },
  {
    maxResults: 50001,
    expect: {
      error: /^Invalid value 50001 for parameter 'max_results' supplied\. It must be at most 50000$/,
    },
  },
];

// ---------------------------------------------------------------- running the tables

function describeCase(
  c: { filter?: unknown; orderBy?: string[]; viewType?: string; maxResults?: number },
  extra = '',
) {
  const parts = [
    c.filter === undefined
      ? '(no filter)'
      : typeof c.filter === 'function'
        ? String(c.filter).replace(/^.*=> /, '')
        : JSON.stringify(c.filter),
  ];
  if (c.orderBy) parts.push(`order_by ${JSON.stringify(c.orderBy)}`);
  if (c.viewType) parts.push(c.viewType);
  if (c.maxResults !== undefined) parts.push(`max_results ${c.maxResults}`);
  return parts.join(' ') + extra;
}

async function expectAnswer(
  response: { status: number; body: Record<string, any> },
  expect: string[] | { error: RegExp },
  names: () => string[],
): Promise<void> {
  if (Array.isArray(expect)) {
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(names(), expect);
  } else {
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(response.body.message, expect.error);
  }
}

for (const dialect of DIALECTS) {
  describe(`runs search grammar on ${dialect}`, () => {
    let server: TestServer;
    const experiments: Record<string, string> = {};
    const ctx: RunContext = { ids: {} };
    const post = (endpoint: string, body: Record<string, unknown>) =>
      call(server.api, 'POST', endpoint, body);

    before(async () => {
      server = await startTestServer(dialect);
      for (const exp of ['A', 'B']) {
        const created = await post('experiments/create', { name: `grammar-${exp}` });
        experiments[exp] = created.body.experiment_id;
      }
      for (const r of RUNS) {
        const created = await post('runs/create', {
          experiment_id: experiments[r.exp],
          run_name: r.name,
          start_time: r.start,
          user_id: r.user,
        });
        const id: string = created.body.run.info.run_id;
        ctx.ids[r.name] = id;
        const batch = await post('runs/log-batch', {
          run_id: id,
          metrics: Object.entries(r.metrics ?? {}).map(([key, value]) => ({
            key,
            value: Number.isNaN(value) ? 'NaN' : value,
            timestamp: r.start,
            step: 0,
          })),
          params: Object.entries(r.params ?? {}).map(([key, value]) => ({ key, value })),
          tags: Object.entries(r.tags ?? {}).map(([key, value]) => ({ key, value })),
        });
        assert.equal(batch.status, 200, JSON.stringify(batch.body));
        if (r.datasets) {
          const logged = await post('runs/log-inputs', {
            run_id: id,
            datasets: r.datasets.map((d) => ({
              tags: [{ key: 'mlflow.data.context', value: d.context }],
              dataset: { name: d.name, digest: d.digest, source_type: 'local', source: '{}' },
            })),
          });
          assert.equal(logged.status, 200, JSON.stringify(logged.body));
        }
        const update: Record<string, unknown> = { run_id: id, status: r.status };
        if (r.end !== undefined) update.end_time = r.end;
        assert.equal((await post('runs/update', update)).status, 200);
        if (r.deleted) assert.equal((await post('runs/delete', { run_id: id })).status, 200);
      }
    });
    after(() => server?.close());

    for (const c of RUN_CASES) {
      const exps = c.experiments ?? ['A', 'B'];
      const extra = c.experiments ? ` in ${exps.join(',')}` : '';
      test(describeCase(c, extra), async () => {
        const body: Record<string, unknown> = {
          experiment_ids: exps.map((e) => (e === 'none' ? '999999' : experiments[e])),
          max_results: c.maxResults ?? 100,
        };
        if (c.filter !== undefined) body.filter = typeof c.filter === 'function' ? c.filter(ctx) : c.filter;
        if (c.orderBy) body.order_by = c.orderBy;
        if (c.viewType) body.run_view_type = c.viewType;
        const response = await post('runs/search', body);
        await expectAnswer(response, c.expect, () =>
          (response.body.runs ?? []).map((r: { info: { run_name: string } }) => r.info.run_name),
        );
      });
    }
  });

  describe(`experiments search grammar on ${dialect}`, () => {
    let server: TestServer;
    const ctx: ExperimentContext = { created: {} };
    const post = (endpoint: string, body: Record<string, unknown>) =>
      call(server.api, 'POST', endpoint, body);

    before(async () => {
      server = await startTestServer(dialect);
      let last = Date.now(); // the Default experiment was created just now
      for (const e of EXPERIMENTS) {
        // Distinct creation times keep the default order (creation_time DESC) free of ties.
        while (Date.now() <= last + 1) await new Promise((resolve) => setTimeout(resolve, 2));
        const created = await post('experiments/create', {
          name: e.name,
          tags: Object.entries(e.tags ?? {}).map(([key, value]) => ({ key, value })),
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const got = await call(server.api, 'GET', 'experiments/get', {
          experiment_id: created.body.experiment_id,
        });
        last = Number(got.body.experiment.creation_time);
        ctx.created[e.name] = last;
        if (e.deleted) await post('experiments/delete', { experiment_id: created.body.experiment_id });
      }
    });
    after(() => server?.close());

    for (const c of EXPERIMENT_CASES) {
      test(describeCase(c), async () => {
        const body: Record<string, unknown> = { max_results: c.maxResults ?? 100 };
        if (c.filter !== undefined) body.filter = typeof c.filter === 'function' ? c.filter(ctx) : c.filter;
        if (c.orderBy) body.order_by = c.orderBy;
        if (c.viewType) body.view_type = c.viewType;
        const response = await post('experiments/search', body);
        await expectAnswer(response, c.expect, () =>
          (response.body.experiments ?? []).map((e: { name: string }) => e.name),
        );
      });
    }
  });
}
