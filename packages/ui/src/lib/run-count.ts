// The count in the runs page's header. It never claims a number the server did not give: a failed
// search (a bad filter, say) has no count, and runs loaded before a later page failed are said to be
// only part of the list.
export function runCountText(loaded: number, done: boolean, failed: boolean): string {
  const runs = `${loaded.toLocaleString()} ${loaded === 1 ? 'run' : 'runs'}`;
  if (failed) return loaded > 0 ? `${runs} loaded, list incomplete (see the error)` : '';
  return done ? runs : `${runs}, loading…`;
}
