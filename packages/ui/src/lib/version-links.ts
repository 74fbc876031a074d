// What a model version list shows beside each version: its aliases (model-versions/search carries
// none, so they come from the registered model's alias list) and the run a `runs:/` source points to.
import type { ModelVersion, RegisteredModel } from '../api.js';

/** The aliases of each version number, from the registered model's `aliases`. */
export function aliasesByVersion(model: Pick<RegisteredModel, 'aliases'> | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of model?.aliases ?? []) out.set(a.version, [...(out.get(a.version) ?? []), a.alias]);
  for (const list of out.values()) list.sort();
  return out;
}

/** A version's aliases: its own when the answer had them, else those the model lists for it. */
export function versionAliases(
  v: { version: string; aliases?: string[] },
  byVersion: Map<string, string[]>,
): string[] {
  return v.aliases?.length ? v.aliases : (byVersion.get(v.version) ?? []);
}

/** The run id of a `runs:/<run_id>/<path>` source, or undefined for any other source. */
export function sourceRunId(source: string | undefined): string | undefined {
  const m = /^runs:\/([^/]+)(?:\/|$)/.exec(source ?? '');
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** The run a version came from: its run_id, else the run its `runs:/` source names. */
export function versionRunId(v: Pick<ModelVersion, 'run_id' | 'source'>): string | undefined {
  return v.run_id || sourceRunId(v.source);
}
