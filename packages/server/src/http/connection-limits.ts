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
  /**
   * Connections open at once from one client address (per server process); further ones from it are
   * closed on arrival. Absent or 0: no cap (behind a reverse proxy every client has the proxy's address).
   */
  maxConnectionsPerAddress?: number;
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

/** The caps apply to the listening server, set once it exists. */
export function capConnections(server: Server, limits: ConnectionLimits): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  const perAddress = limits.maxConnectionsPerAddress ?? 0;
  if (perAddress > 0) capPerAddress(server, perAddress);
}

/**
 * Closes a connection on arrival when its address already holds `max`: one client (a slowloris, a
 * runaway script) then cannot take the whole of --max-connections from the others.
 */
function capPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const held = open.get(address) ?? 0;
    if (held >= max) {
      socket.destroy();
      return;
    }
    open.set(address, held + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
