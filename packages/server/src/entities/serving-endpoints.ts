// Serving endpoints hosted by the tracking server: the stored definition and the live state clients see.

/** What the store keeps of an endpoint; everything else is rebuilt from it on start. */
export interface ServingEndpointDefinition {
  name: string;
  /** models:/<name>@<alias> or models:/<name>/<version>. */
  model_uri: string;
  /** The registered model the URI names (the endpoint's permissions follow it). */
  registered_model_name: string;
  /** Python worker processes for python_function models. */
  workers: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

export const ENDPOINT_STATES = ['LOADING', 'READY', 'FAILED'] as const;
/** READY: a version answers; LOADING: none yet, one is loading; FAILED: none, and the last load failed. */
export type EndpointState = (typeof ENDPOINT_STATES)[number];

/** A definition with what the server is doing with it now. */
export interface ServingEndpoint extends ServingEndpointDefinition {
  state: EndpointState;
  /** The version answering invocations, once one is loaded. */
  serving_version?: string;
  /** A version being loaded beside the serving one (or as the first). */
  loading_version?: string;
  /** Why the last load or resolution failed; kept until a later version loads. */
  error?: string;
}
