import { MlflowError } from '../entities/errors.js';

// MLflow's models:/ URIs, which name a registered model's version by number, by stage, as the latest
// version, or by alias: models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest and
// models:/<name>@<alias>. models:/<id> (one path segment, no alias) names an MLflow 3 logged model.

export type ModelUri =
  | { kind: 'version'; name: string; version: number }
  | { kind: 'stage'; name: string; stage: string }
  | { kind: 'latest'; name: string }
  | { kind: 'alias'; name: string; alias: string }
  | { kind: 'logged-model'; modelId: string };

function improper(uri: string): MlflowError {
  return MlflowError.invalidParameter(
    `Not a proper models:/ URI: ${uri}. Models URIs must be of the form 'models:/name/suffix' or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.`,
  );
}

export function isModelsUri(uri: string): boolean {
  return /^models:/i.test(uri);
}

/** Reads a models:/ URI as MLflow does (the part after `models:` up to any query is the path). */
export function parseModelUri(uri: string): ModelUri {
  const match = /^models:(.*)$/is.exec(uri);
  if (!match) throw improper(uri);
  let rest = match[1].replace(/[?].*$/s, '');
  // A netloc (models://profile/...) is not part of the path.
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  if (!rest.startsWith('/') || rest.length <= 1) throw improper(uri);
  const parts = rest.replace(/^\/+/, '').split('/');
  if (parts.length > 2 || parts[0].trim() === '') throw improper(uri);
  if (parts.length === 2) {
    const [name, suffix] = parts;
    if (suffix.trim() === '') throw improper(uri);
    if (/^\d+$/.test(suffix)) return { kind: 'version', name, version: Number(suffix) };
    if (suffix.toLowerCase() === 'latest') return { kind: 'latest', name };
    return { kind: 'stage', name, stage: suffix };
  }
  const at = parts[0].lastIndexOf('@');
  if (at !== -1) {
    const alias = parts[0].slice(at + 1);
    if (alias.trim() === '') throw improper(uri);
    return { kind: 'alias', name: parts[0].slice(0, at), alias };
  }
  return { kind: 'logged-model', modelId: parts[0] };
}
