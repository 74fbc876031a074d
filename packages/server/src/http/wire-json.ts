// MLflow's JSON (protobuf's JSON mapping): empty lists and unset fields are left out, and doubles that
// JSON cannot hold are written as the strings "NaN", "Infinity" and "-Infinity".

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Infinity' : '-Infinity';
  }
  if (Array.isArray(value) && value.length === 0) return undefined;
  return value;
}

export function toWireJson(body: unknown): string {
  return JSON.stringify(body, replacer);
}

const BARE_NON_FINITE = /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g;

/**
 * Parses a JSON body. Python's json module (used by some MLflow clients) writes NaN and Infinity as
 * bare tokens, which JSON.parse rejects; those are retried as the strings protobuf's mapping uses.
 */
export function parseRequestJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    return JSON.parse(
      text.replace(BARE_NON_FINITE, (match, quoted: string | undefined) => (quoted ? match : `"${match}"`)),
    );
  }
}
