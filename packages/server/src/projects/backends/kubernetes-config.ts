import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ExecutionError } from '../execution-error.js';

// -b kubernetes --backend-config: MLflow's three keys, checked with MLflow's messages, and the Job
// template read and checked here, so that a mistake fails before a run or an image exists.

export interface KubernetesBackendConfig {
  /** The kubeconfig context; the current context when absent. */
  kubeContext?: string;
  /** The image repository the project image is pushed to (and the cluster pulls from). */
  repositoryUri: string;
  templatePath: string;
  /** The parsed Job template (MLflow never modifies the file; we copy before filling it in). */
  template: Record<string, unknown>;
  /** Keys of the config that mean nothing to this backend (MLflow ignores them too). */
  ignoredKeys: string[];
}

const KEYS = ['kube-context', 'repository-uri', 'kube-job-template-path'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A Docker repository reference: registry host (optional) and path, no tag, no digest. */
export function checkRepositoryUri(uri: string): void {
  const lastSegment = uri.slice(uri.lastIndexOf('/') + 1);
  if (uri.includes('@') || lastSegment.includes(':')) {
    throw new ExecutionError(
      `'repository-uri' must be an image repository without a tag or digest (the tag is added per project version), got '${uri}'.`,
    );
  }
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const grammar = new RegExp(`^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?${component}(?:/${component})*$`);
  if (!grammar.test(uri)) {
    throw new ExecutionError(
      `'repository-uri' is not a valid image repository name (lowercase letters, digits, '.', '_', '-' and '/' path parts, optionally a registry host[:port] first): '${uri}'.`,
    );
  }
}

/** Reads the Job template and checks it has what MLflow fills in: a container to run the project in. */
export function loadJobTemplate(templatePath: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(templatePath, 'utf8');
  } catch (error) {
    throw new ExecutionError(
      `Could not read 'kube-job-template-path' ${templatePath}: ${(error as Error).message}`,
    );
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) {
    throw new ExecutionError(
      `The Kubernetes job template ${templatePath} must hold exactly one YAML document (a batch/v1 Job).`,
    );
  }
  const [doc] = docs;
  if (doc.errors.length > 0) {
    throw new ExecutionError(
      `The Kubernetes job template ${templatePath} is not valid YAML: ${doc.errors[0].message}`,
    );
  }
  const template: unknown = doc.toJS();
  const bad = (what: string) =>
    new ExecutionError(`The Kubernetes job template ${templatePath} is not a usable batch/v1 Job: ${what}.`);
  if (!isRecord(template)) throw bad('it must be a YAML mapping');
  if (template.kind !== undefined && template.kind !== 'Job')
    throw bad(`kind is '${String(template.kind)}', not 'Job'`);
  if (template.apiVersion !== undefined && template.apiVersion !== 'batch/v1')
    throw bad(`apiVersion is '${String(template.apiVersion)}', not 'batch/v1'`);
  if (template.metadata !== undefined && !isRecord(template.metadata))
    throw bad('metadata must be a mapping');
  const metadata = (template.metadata ?? {}) as Record<string, unknown>;
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string')
    throw bad('metadata.namespace must be a string');
  const spec = template.spec;
  const podSpec = isRecord(spec) && isRecord(spec.template) ? spec.template.spec : undefined;
  if (!isRecord(podSpec)) throw bad('spec.template.spec (the pod spec) is missing');
  const containers = podSpec.containers;
  if (!Array.isArray(containers) || containers.length === 0 || !isRecord(containers[0]))
    throw bad(
      'spec.template.spec.containers must list at least one container (the first one runs the project)',
    );
  const env = containers[0].env;
  if (env !== undefined && env !== null && !Array.isArray(env))
    throw bad("the first container's env must be a list");
  return template;
}

export function parseKubernetesConfig(config: Record<string, unknown> | undefined): KubernetesBackendConfig {
  // MLflow's checks and messages, in MLflow's order.
  if (!config || Object.keys(config).length === 0) throw new ExecutionError('Backend_config file not found.');
  if (!('kube-job-template-path' in config)) {
    throw new ExecutionError("'kube-job-template-path' attribute must be specified in backend_config.");
  }
  const templatePath = config['kube-job-template-path'];
  if (typeof templatePath !== 'string' || templatePath === '') {
    throw new ExecutionError("'kube-job-template-path' must be the path of a YAML file.");
  }
  if (!existsSync(templatePath))
    throw new ExecutionError(`Could not find 'kube-job-template-path': ${templatePath}`);
  const template = loadJobTemplate(path.resolve(templatePath));
  if (!('repository-uri' in config))
    throw new ExecutionError("Could not find 'repository-uri' in backend_config.");
  const repositoryUri = config['repository-uri'];
  if (typeof repositoryUri !== 'string' || repositoryUri === '') {
    throw new ExecutionError("'repository-uri' must be a string naming an image repository.");
  }
  checkRepositoryUri(repositoryUri);
  const kubeContext = config['kube-context'];
  if (
    kubeContext !== undefined &&
    kubeContext !== null &&
    (typeof kubeContext !== 'string' || kubeContext === '')
  ) {
    throw new ExecutionError("'kube-context' must be the name of a kubeconfig context.");
  }
  return {
    ignoredKeys: Object.keys(config).filter((k) => !KEYS.includes(k)),
    kubeContext: typeof kubeContext === 'string' ? kubeContext : undefined,
    repositoryUri,
    templatePath: path.resolve(templatePath),
    template,
  };
}
