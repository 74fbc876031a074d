// Descriptions (of runs, registered models and model versions) as HTML: CommonMark plus GitHub's
// extensions (tables, strikethrough, task lists, autolinks, footnotes), as MLflow's UI renders them.
// Raw HTML stays escaped and javascript: and other unsafe link protocols are dropped, so the output is
// safe to place in the page whatever the description holds.
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

export function renderMarkdown(text: string): string {
  return micromark(text, {
    allowDangerousHtml: false,
    allowDangerousProtocol: false,
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
  });
}
