// The /invocations Content-Type check: JSON or CSV, UTF-8 only, no parameters but charset (MLflow 2.x
// refuses the 1.x `format=pandas-split` style with its protocol-change notice).
import { PlainTextRejection, SCORING_PROTOCOL_CHANGE_INFO } from './scoring-errors.js';

export type RequestFormat = 'json' | 'csv';

const CONTENT_TYPES = "['text/csv', 'application/json']";

export function requestFormat(header: string | undefined): RequestFormat {
  const parts = (header ?? '').split(';').map((part) => part.trim());
  const mime = parts[0].toLowerCase();
  const parameters = new Map<string, string>();
  for (const pair of parts.slice(1)) {
    const eq = pair.indexOf('=');
    parameters.set(eq === -1 ? pair : pair.slice(0, eq), eq === -1 ? '' : pair.slice(eq + 1));
  }
  const charset = (parameters.get('charset') ?? 'utf-8').replace(/^"|"$/g, '').toLowerCase();
  if (charset !== 'utf-8' && charset !== 'utf8') {
    throw new PlainTextRejection(415, 'The scoring server only supports UTF-8');
  }
  const unexpected = [...parameters.keys()].filter((key) => key !== 'charset');
  if (unexpected.length > 0) {
    throw new PlainTextRejection(
      415,
      `Unrecognized content type parameters: ${unexpected.join(', ')}. ${SCORING_PROTOCOL_CHANGE_INFO}`,
    );
  }
  if (mime === 'application/json') return 'json';
  if (mime === 'text/csv') return 'csv';
  throw new PlainTextRejection(
    415,
    `This predictor only supports the following content types: Types: ${CONTENT_TYPES}. Got '${header ?? ''}'.`,
  );
}
