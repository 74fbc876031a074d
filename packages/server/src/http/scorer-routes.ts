// MLflow 3's scorer endpoints (RegisterScorer ... DeleteScorer in MLflow's service.proto), under
// /api/3.0/mlflow/scorers/.
import type { ScorerVersion } from '../entities/scorer.js';
import type { ScorerService } from '../services/scorer-service.js';
import type { Endpoint } from './endpoint.js';

/** MLflow's Scorer message; its experiment_id is an int32 there, so a JSON number. */
export function scorerJson(s: ScorerVersion) {
  return {
    experiment_id: Number(s.experimentId),
    scorer_name: s.scorerName,
    scorer_version: s.scorerVersion,
    serialized_scorer: s.serializedScorer,
    creation_time: s.creationTime,
    scorer_id: s.scorerId,
  };
}

export function scorerEndpoints(): Endpoint<ScorerService>[] {
  return [
    {
      since: 3,
      method: 'POST',
      path: 'scorers/register',
      handle: async (scorers, f) => {
        const s = await scorers.registerScorer(
          f.requiredExperimentId(),
          f.requiredString('name'),
          f.requiredString('serialized_scorer'),
        );
        // RegisterScorer.Response names its fields apart from Scorer's, and keeps experiment_id a string.
        return {
          version: s.scorerVersion,
          scorer_id: s.scorerId,
          experiment_id: s.experimentId,
          name: s.scorerName,
          serialized_scorer: s.serializedScorer,
          creation_time: s.creationTime,
        };
      },
    },
    {
      since: 3,
      method: 'GET',
      path: 'scorers/list',
      handle: async (scorers, f) => ({
        scorers: (await scorers.listScorers(f.requiredExperimentId())).map(scorerJson),
      }),
    },
    {
      since: 3,
      method: 'GET',
      path: 'scorers/versions',
      handle: async (scorers, f) => ({
        scorers: (await scorers.listScorerVersions(f.requiredExperimentId(), f.requiredString('name'))).map(
          scorerJson,
        ),
      }),
    },
    {
      since: 3,
      method: 'GET',
      path: 'scorers/get',
      handle: async (scorers, f) => ({
        scorer: scorerJson(
          await scorers.getScorer(
            f.requiredExperimentId(),
            f.requiredString('name'),
            f.optionalInt('version'),
          ),
        ),
      }),
    },
    {
      since: 3,
      method: 'DELETE',
      path: 'scorers/delete',
      handle: async (scorers, f) => {
        await scorers.deleteScorer(
          f.requiredExperimentId(),
          f.requiredString('name'),
          f.optionalInt('version'),
        );
        return {};
      },
    },
  ];
}
