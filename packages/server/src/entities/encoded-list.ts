// Search responses are dominated by the params, tags and metrics of every run on the page. Building one
// JavaScript object per row and serialising it again costs far more than letting the database write
// the JSON: an EncodedList carries that text through the layers untouched, and the HTTP layer splices it
// into the response. Code that needs the items themselves calls decode().

/** A list already encoded as a JSON array (`json`); the empty string stands for an empty list. */
export class EncodedList<T> {
  /**
   * While a response is being serialised, the HTTP layer sets this to swap each list for a placeholder
   * it replaces afterwards (JSON.stringify has no way to emit pre-encoded text).
   */
  static spliceHook: ((list: EncodedList<unknown>) => string) | undefined;

  constructor(
    readonly json: string,
    private readonly revive: (item: T) => T = (item) => item,
  ) {}

  get isEmpty(): boolean {
    return this.json === '';
  }

  decode(): T[] {
    if (this.isEmpty) return [];
    return (JSON.parse(this.json) as T[]).map(this.revive);
  }

  /** Empty lists are left out of MLflow's JSON, so an empty one serialises as nothing. */
  toJSON(): unknown {
    if (this.isEmpty) return undefined;
    return EncodedList.spliceHook ? EncodedList.spliceHook(this as EncodedList<unknown>) : this.decode();
  }
}
