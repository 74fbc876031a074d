// An HTML report in a sandboxed frame: without allow-same-origin its scripts run in an opaque origin
// (no access to the UI, its storage or the user's session), and the server sends the page under a
// Content-Security-Policy that sandboxes it too and lets it load nothing from elsewhere
// (/get-artifact-html, see docs/ui.md).
export function htmlReportUrl(runId: string, path: string): string {
  return `/get-artifact-html?${new URLSearchParams({ run_id: runId, path })}`;
}

export function HtmlReport({ runId, path }: { runId: string; path: string }) {
  return (
    <iframe
      className="html-report"
      title={`HTML report ${path}`}
      sandbox="allow-scripts"
      referrerPolicy="no-referrer"
      src={htmlReportUrl(runId, path)}
    />
  );
}
