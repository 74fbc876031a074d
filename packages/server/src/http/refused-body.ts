import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const DRAIN_MS = 10_000;

/**
 * Lets the answer to a body refused for its size reach a client that is still sending it.
 *
 * Fastify answers such a request with `connection: close`, and the socket is closed with the rest of
 * the body unread; the kernel then answers those bytes with a reset, and a client still writing
 * (every HTTP client sending a large body) loses the answer along with the connection and sees only
 * EPIPE or ECONNRESET. Instead the connection is kept: Node reads and drops the rest of the body, so
 * the client reads its 400 and may reuse the connection. A body that keeps coming for longer than
 * DRAIN_MS has its connection cut then, so a client cannot hold the server by never ending.
 */
export function drainRefusedBody(request: FastifyRequest, reply: FastifyReply): void {
  const incoming = request.raw;
  if (incoming.complete) return;
  reply.removeHeader('connection');
  const socket = incoming.socket;
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  timer.unref();
  const done = () => clearTimeout(timer);
  incoming.once('end', done);
  incoming.once('close', done);
  socket.once('close', done);
}
