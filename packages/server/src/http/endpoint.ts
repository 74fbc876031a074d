// The shape of a REST endpoint and of a route group: endpoints that share one service.
import type { FastifyInstance } from 'fastify';
import type { RequestFields } from './request-fields.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One endpoint of MLflow's REST API whose handler calls a service of type S. */
export interface Endpoint<S> {
  method: HttpMethod;
  /** Path below /api/2.0/mlflow (and /ajax-api/2.0/mlflow), or below the 3.0 prefixes for `since: 3`. */
  path: string;
  /** The API version MLflow's proto gives the endpoint (`since.major`): it names the URL prefix. */
  since?: 2 | 3;
  /**
   * Takes the group's service as an argument (rather than closing over it) so that the routes of a
   * disabled group are known without a service to build them from.
   * `params` holds the path's parameters (`:model_id`, `*`), for paths that have them.
   */
  handle: (service: S, fields: RequestFields, params: Record<string, string>) => Promise<unknown>;
  /** Served only under /ajax-api, as MLflow does for endpoints its UI alone uses. */
  ajaxOnly?: boolean;
}

/**
 * Endpoints over one service. Without the service (an --artifacts-only server has no tracking,
 * registry, logged models or webhooks) the group is disabled: its endpoints and `disabledUrls` stay
 * routed and answer MLflow's 503, and `routes` are not registered.
 */
export interface RouteGroup<S> {
  service: S | undefined;
  endpoints: readonly Endpoint<S>[];
  /** Routes outside the REST prefixes (file downloads, /graphql), registered when the service is there. */
  routes?: (app: FastifyInstance, service: S) => void;
  /** GET URLs of `routes` that MLflow keeps routed in --artifacts-only mode, to answer its 503. */
  disabledUrls?: readonly string[];
}
