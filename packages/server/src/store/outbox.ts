// The messages between the HTTP thread and the SQLite writer thread (threaded-sqlite-store.ts).

/**
 * Messages to post to the other thread, gathered and posted as one list after the current turn of the event loop.
 * Every postMessage wakes the other thread (a system call on each side); the writes of concurrent
 * requests, and the replies for a group commit's batch, travel together instead.
 */
export class Outbox<T> {
  private pending: T[] = [];

  constructor(private readonly post: (messages: T[]) => void) {}

  send(message: T): void {
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(message);
  }

  /** Posts what is gathered now (before a last message that must come after it). */
  flush(): void {
    const messages = this.pending;
    this.pending = [];
    if (messages.length > 0) this.post(messages);
  }
}
