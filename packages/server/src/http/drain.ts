// Graceful shutdown at the HTTP edge: once draining, new requests get 503, answers ask clients to close
// their connections, and keep-alive connections are closed as soon as they fall idle.
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

const UNAVAILABLE_BODY = JSON.stringify({
  error_code: 'TEMPORARILY_UNAVAILABLE',
  message: 'The server is shutting down; send the request again to another server or after it restarts.',
});

/**
 * How often idle connections are looked for while draining. A response that was already being
 * written when the drain began goes out with keep-alive, so its connection only falls idle later;
 * Node's server.close() reaps idle connections once, at the start, and would otherwise leave such
 * connections open until the keep-alive timeout (72 s with Fastify's default), which is the hang this
 * module exists to prevent.
 */
const IDLE_SWEEP_MS = 100;

export interface Drain {
  /** True once begin() has been called. */
  readonly draining: boolean;
  /** Stops new work: from now on requests are refused and connections closed when idle. */
  begin(): void;
  /** Cuts every connection, in-flight requests included (for when the grace period is over). */
  cutAll(): void;
}

/** Adds the drain's hooks to `app`; call before the app is ready (before listen or inject). */
export function installDrain(app: FastifyInstance): Drain {
  let draining = false;
  let sweep: NodeJS.Timeout | undefined;
  const server = (): Server | undefined => (app.server.listening ? app.server : undefined);

  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    // Fastify has already set `Connection: close` for a request that arrives while closing; the body
    // is MLflow's error shape so clients report it like any other refusal.
    reply.header('connection', 'close').status(503).type('application/json').send(UNAVAILABLE_BODY);
    return reply;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    // An answer finished during the drain tells the client not to reuse the connection; Node then
    // closes it once the answer is written.
    if (draining && !reply.sent) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onClose', async () => {
    if (sweep) clearInterval(sweep);
  });

  return {
    get draining() {
      return draining;
    },
    begin() {
      if (draining) return;
      draining = true;
      const listening = server();
      if (!listening) return;
      listening.closeIdleConnections();
      sweep = setInterval(() => listening.closeIdleConnections(), IDLE_SWEEP_MS);
      sweep.unref();
    },
    cutAll() {
      if (sweep) clearInterval(sweep);
      app.server.closeAllConnections();
    },
  };
}
