// How long a client may take to send a request and how many connections one server process holds, so
// that slow or idle clients (slowloris) cannot use up its sockets; applied to Node's HTTP server.
import type { Server } from 'node:http';

export interface ConnectionLimits {
  /** The request line and headers must arrive within this (ms). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (ms); 0: no limit. */
  requestTimeoutMs: number;
  /** Connections open at once per server process; further ones are closed on arrival. 0: no cap. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  // Node's default is 60 s, checked every 30 s: a slow client could hold a socket for 90 s without
  // sending a complete request. A real client sends its headers in one go.
  headersTimeoutMs: 20_000,
  // Long enough for a 1 GB proxied artifact upload at under 2 MB/s; --request-timeout raises it.
  requestTimeoutMs: 600_000,
  maxConnections: 1024,
};

/** How often Node looks for connections past their timeouts (its default is 30 s). */
const CHECK_INTERVAL_MS = 1000;

/** The options Node's HTTP server takes at creation (Fastify passes them on as `http`). */
export function httpServerOptions(limits: ConnectionLimits): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    // Node refuses a headers timeout above a (non-zero) request timeout.
    headersTimeout:
      limits.requestTimeoutMs > 0
        ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)
        : limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
  };
}

/** The cap is a property of the listening server, set once it exists. */
export function capConnections(server: Server, limits: ConnectionLimits): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}
