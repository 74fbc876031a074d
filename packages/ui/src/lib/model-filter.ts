// The models list's search box takes MLflow's filter grammar, but a bare word (no comparator) means
// "models whose name contains it", as in MLflow's own registry UI.

const LOOKS_LIKE_A_FILTER = /[=<>!]|\b(i?like|in|is)\b/i;

/** The filter sent to registered-models/search for what the user typed in the search box. */
export function modelSearchFilter(text: string): string {
  const t = text.trim();
  if (!t || LOOKS_LIKE_A_FILTER.test(t)) return t;
  // A name with a single quote is quoted with double quotes; one with both kinds is sent as typed so
  // the server's message explains the problem.
  if (!t.includes("'")) return `name ILIKE '%${t}%'`;
  if (!t.includes('"')) return `name ILIKE "%${t}%"`;
  return t;
}
