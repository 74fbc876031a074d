// Markdown for run descriptions. micromark escapes raw HTML and drops javascript: and other unsafe
// link protocols by default, so its output is safe to place in the page.
import { micromark } from 'micromark';
import { useMemo } from 'react';

export function Markdown({ text }: { text: string }) {
  const html = useMemo(
    () => micromark(text, { allowDangerousHtml: false, allowDangerousProtocol: false }),
    [text],
  );
  // biome-ignore lint/security/noDangerouslySetInnerHtml: micromark's output with raw HTML disabled is escaped
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
