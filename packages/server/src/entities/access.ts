// Which resources of one kind a caller may read: the shape a permission check hands down to searches.

/**
 * `only`: just these ids (nothing is readable by default); `except`: all but these. An absent filter
 * means everything is readable (no access control, or an admin).
 */
export type IdFilter = { only: readonly string[] } | { except: readonly string[] };

export interface ReadAccess {
  /** Experiments by id (runs, logged models and datasets follow their experiment). */
  experiments?: IdFilter;
  /** Registered models by name (their versions follow them). */
  registeredModels?: IdFilter;
}

export function isReadable(id: string, filter: IdFilter | undefined): boolean {
  if (!filter) return true;
  return 'only' in filter ? filter.only.includes(id) : !filter.except.includes(id);
}

/** The readable ones of `ids`, in their order. */
export function readableIds(ids: readonly string[], filter: IdFilter | undefined): string[] {
  return filter ? ids.filter((id) => isReadable(id, filter)) : [...ids];
}
