import { useMemo } from 'react';
import { renderMarkdown } from '../lib/markdown';

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: renderMarkdown escapes raw HTML and drops unsafe link protocols
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
