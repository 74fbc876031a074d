// A search page carries every run's params, tags and latest metrics: the database writing that JSON
// (one aggregate per list, see encoded-rows.ts) was most of the cost of a search, and the same runs are
// read again by every following search. The lists are kept here, keyed by the run and the run's
// data_version, which every write to those lists raises in the same transaction (the store's write
// methods). A run's version is read with its row, so a changed run simply misses; this holds across
// processes sharing the database, since the version lives there.

/** The JSON of a run's three lists as the database wrote them; '' for an empty list. */
export interface RunDataJson {
  params: string;
  tags: string;
  metrics: string;
}

interface Entry extends RunDataJson {
  version: number;
  size: number;
}

/**
 * Least recently used runs go first once the text held passes `budget` characters (64 Mi by default:
 * about 6,000 runs the size of the load bench's, each with 110 params and 61 metrics).
 */
export class RunDataCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;

  constructor(private readonly budget = 64 * 1024 * 1024) {}

  get(runId: string, version: number): RunDataJson | undefined {
    const entry = this.entries.get(runId);
    if (entry === undefined) return undefined;
    if (entry.version !== version) {
      // A newer entry stays for the readers that will see the newer version.
      if (entry.version < version) this.remove(runId, entry);
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the run as the most recently used.
    this.entries.delete(runId);
    this.entries.set(runId, entry);
    return entry;
  }

  set(runId: string, version: number, data: RunDataJson): void {
    const previous = this.entries.get(runId);
    if (previous !== undefined) {
      // Two reads of the same run may race: the newer version stays.
      if (previous.version > version) return;
      this.remove(runId, previous);
    }
    const size = data.params.length + data.tags.length + data.metrics.length + runId.length;
    if (size > this.budget) return;
    this.entries.set(runId, { ...data, version, size });
    this.held += size;
    for (const [id, oldest] of this.entries) {
      if (this.held <= this.budget) break;
      this.remove(id, oldest);
    }
  }

  private remove(runId: string, entry: Entry): void {
    this.entries.delete(runId);
    this.held -= entry.size;
  }
}
