// Decides whether a signed-in caller may make a request, by the route's rule (access-rules.ts).
import type { RequestFields } from '../http/request-fields.js';
import { endpointModelName } from '../services/serving-endpoint-service.js';
import type { Rule, Target } from './access-rules.js';
import type { AuthService, Caller } from './auth-service.js';
import { checkGraphqlAccess, type GraphqlCheck } from './graphql-access.js';
import { allows, type Capability } from './permissions.js';

/** How a check finds the experiment a run or logged model belongs to (from the tracking service). */
export interface ResourceLookup {
  experimentOfRun(runId: string): Promise<string>;
  experimentOfLoggedModel(modelId: string): Promise<string>;
  experimentIdByName(name: string): Promise<string>;
  /** The experiment of a trace (RESOURCE_DOES_NOT_EXIST for an unknown trace). */
  experimentOfTrace(traceId: string): Promise<string>;
  /** The experiments an evaluation dataset is linked to (RESOURCE_DOES_NOT_EXIST for an unknown one). */
  experimentsOfDataset(datasetId: string): Promise<string[]>;
  /** The registered model a serving endpoint serves (RESOURCE_DOES_NOT_EXIST for an unknown one). */
  registeredModelOfEndpoint(name: string): Promise<string>;
}

/** What a rule may read from a request: its fields (query for GET, else body), query and path. */
export interface RequestInput {
  fields: () => RequestFields;
  query: () => RequestFields;
  params: Record<string, string>;
  /** The artifact proxy's path below `artifacts/` (or the listing's `path`). */
  proxyPath?: string;
  /** A request header's value. */
  header?: (name: string) => string | undefined;
  /** The GraphQL request: its document, variables and operation name. */
  graphql?: () => { query: string; variables?: Record<string, unknown>; operationName?: string };
}

// MLflow reads the experiment from the first segment of a proxied artifact path.
const PROXY_EXPERIMENT = /^(\d+)(\/|$)/;

export class Authorizer {
  constructor(
    private readonly auth: AuthService,
    private readonly lookup: ResourceLookup,
  ) {}

  /** True when `caller` may go on; throws MlflowError for a request the check cannot read. */
  async allows(rule: Rule, caller: Caller, input: RequestInput): Promise<boolean> {
    const settled = this.settledByRule(rule, caller);
    if (settled !== undefined) return settled;
    switch (rule.kind) {
      case 'public':
      case 'signed-in':
      case 'filtered':
      case 'admin':
        return false; // settled above; listed so the switch stays exhaustive
      case 'self': {
        const fields = input.fields();
        if (rule.optional && fields.optionalString('username') === undefined) return true;
        return fields.requiredString('username') === caller.username;
      }
      case 'resource':
        return this.allowsTarget(rule.target, rule.need, caller, input);
      case 'graphql':
        return input.graphql ? checkGraphqlAccess(input.graphql(), this.graphqlCheck(caller)) : true;
    }
  }

  /**
   * The answer when the rule and the caller alone settle it (admins, rules that read nothing from
   * the request), so the auth hook decides without a promise; undefined when the request or the
   * stored permissions must be read (allows).
   */
  settledByRule(rule: Rule, caller: Caller): boolean | undefined {
    if (caller.isAdmin) return true;
    switch (rule.kind) {
      case 'public':
      case 'signed-in':
      case 'filtered':
        return true;
      case 'admin':
        return false;
      default:
        return undefined;
    }
  }

  private experiment(caller: Caller, id: string, need: Capability): Promise<boolean> {
    return this.auth.can(caller, 'experiment', id, need);
  }

  private async everyExperiment(caller: Caller, ids: Iterable<string>, need: Capability): Promise<boolean> {
    for (const id of new Set(ids)) if (!(await this.experiment(caller, id, need))) return false;
    return true;
  }

  private async allowsTarget(target: Target, need: Capability, caller: Caller, input: RequestInput) {
    if ('experiment' in target) {
      return this.experiment(caller, input.fields().requiredExperimentId(), need);
    }
    if ('experimentName' in target) {
      const id = await this.lookup.experimentIdByName(input.fields().requiredString(target.experimentName));
      return this.experiment(caller, id, need);
    }
    if ('experiments' in target) {
      return this.everyExperiment(caller, input.fields().stringList(target.experiments), need);
    }
    if ('run' in target) {
      const fields = target.query ? input.query() : input.fields();
      const runId = target.query ? fields.requiredString(target.run) : fields.runId();
      return this.experiment(caller, await this.lookup.experimentOfRun(runId), need);
    }
    if ('runs' in target) {
      const ids = await Promise.all(
        input
          .fields()
          .stringList(target.runs)
          .map((id) => this.lookup.experimentOfRun(id)),
      );
      return this.everyExperiment(caller, ids, need);
    }
    if ('loggedModel' in target) {
      const id = await this.lookup.experimentOfLoggedModel(input.params[target.loggedModel] ?? '');
      return this.experiment(caller, id, need);
    }
    if ('registeredModel' in target) {
      return this.auth.can(
        caller,
        'registered_model',
        input.fields().requiredString(target.registeredModel),
        need,
      );
    }
    if ('servingEndpoint' in target) {
      const model = await this.lookup.registeredModelOfEndpoint(input.params[target.servingEndpoint] ?? '');
      return this.auth.can(caller, 'registered_model', model, need);
    }
    if ('servingModelUri' in target) {
      const fields = input.fields();
      const uri = fields.optionalString('model_uri') || fields.requiredString('model');
      return this.auth.can(caller, 'registered_model', endpointModelName(uri), need);
    }
    if ('trace' in target) {
      const traceId = target.query
        ? input.query().requiredString(target.trace)
        : (input.params[target.trace] ?? '');
      return this.experiment(caller, await this.lookup.experimentOfTrace(traceId), need);
    }
    if ('traces' in target) {
      const ids = await Promise.all(
        input
          .fields()
          .stringList(target.traces)
          .map((id) => this.lookup.experimentOfTrace(id)),
      );
      return this.everyExperiment(caller, ids, need);
    }
    if ('traceLocation' in target) {
      const trace = objectField(input.fields().optionalObject('trace'), 'trace_info');
      const location = objectField(objectField(trace, 'trace_location'), 'mlflow_experiment');
      const id = location?.experiment_id;
      if (typeof id !== 'string' && typeof id !== 'number') return false;
      return this.experiment(caller, String(id), need);
    }
    if ('traceLocations' in target) {
      const ids = input
        .fields()
        .objects('locations')
        .map((l) => objectField(l, 'mlflow_experiment')?.experiment_id)
        .map((id) => (typeof id === 'number' ? String(id) : id));
      if (ids.some((id) => typeof id !== 'string')) return false;
      return this.everyExperiment(caller, ids as string[], need);
    }
    if ('scorer' in target) {
      const fields = input.fields();
      const scorer = {
        experimentId: fields.requiredExperimentId(),
        scorerName: fields.requiredString(target.scorer),
      };
      return this.auth.canOnScorer(caller, scorer, need);
    }
    if ('dataset' in target) {
      const linked = await this.lookup.experimentsOfDataset(input.params[target.dataset] ?? '');
      const named = target.plusExperiments ? input.fields().stringList(target.plusExperiments) : [];
      return this.everyExperiment(caller, [...linked, ...named], need);
    }
    if ('experimentHeader' in target) {
      const id = input.header?.(target.experimentHeader);
      return id ? this.experiment(caller, id, need) : false;
    }
    // A proxied path outside any experiment's folder gets the default permission, as in MLflow.
    const match = PROXY_EXPERIMENT.exec(input.proxyPath ?? '');
    if (!match) return allows(this.auth.defaultPermission, need);
    return this.experiment(caller, match[1], need);
  }

  private graphqlCheck(caller: Caller): GraphqlCheck {
    return {
      experiment: (id) => this.experiment(caller, id, 'read'),
      run: async (id) => this.experiment(caller, await this.lookup.experimentOfRun(id), 'read'),
    };
  }
}

/** `object[key]` when both are plain objects. */
function objectField(
  object: Record<string, unknown> | undefined,
  key: string,
): Record<string, unknown> | undefined {
  const value = object?.[key];
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
