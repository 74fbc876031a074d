import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const DRAIN_MS = 10_000;

/**
 * Reads and drops the rest of a body refused for its size, so that the answer reaches a client still
 * sending it; the caller answers once this settles.
 *
 * Fastify answers such a request at once with `connection: close`, and the socket is closed with the
 * rest of the body unread; the kernel then answers those bytes with a reset, and a client still
 * writing (every HTTP client sending a large body) loses the answer along with the connection and sees
 * only EPIPE or ECONNRESET. So the body is let in and dropped first, and the connection is kept when
 * the client allows it. A body that keeps coming for longer than DRAIN_MS has its connection cut then,
 * so a client cannot hold the server by never ending.
 */
export function drainRefusedBody(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.removeHeader('connection');
  const incoming = request.raw;
  if (incoming.complete || incoming.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      incoming.socket.destroy();
      resolve();
    }, DRAIN_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    incoming.once('end', done);
    incoming.once('close', done);
    incoming.once('error', done);
    incoming.resume();
  });
}
