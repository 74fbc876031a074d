// The Content-Type of a downloaded artifact, decided as MLflow does: extensions of text formats (and the
// extension-less MLmodel and MLproject files) are text/plain, others come from a table of standard
// types, and anything unknown is application/octet-stream. Names are compared without regard to case:
// MLflow's list holds `MLmodel` and `mlproject` as spelled, so it sends the usual `MLproject` as
// octet-stream; a project file is text whatever its spelling (MLflow finds it case-insensitively too).

const TEXT_EXTENSIONS = new Set([
  'txt',
  'log',
  'err',
  'cfg',
  'conf',
  'cnf',
  'cf',
  'ini',
  'properties',
  'prop',
  'hocon',
  'toml',
  'yaml',
  'yml',
  'xml',
  'json',
  'js',
  'py',
  'py3',
  'csv',
  'tsv',
  'md',
  'rst',
  'mlmodel',
  'mlproject',
]);

/** Common extensions and their standard media types (as Python's mimetypes module knows them). */
const TYPES: Record<string, string> = {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  ico: 'image/vnd.microsoft.icon',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  webp: 'image/webp',
  pdf: 'application/pdf',
  zip: 'application/zip',
  tar: 'application/x-tar',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  wav: 'audio/x-wav',
  ogg: 'audio/ogg',
  wasm: 'application/wasm',
  bin: 'application/octet-stream',
  ps: 'application/postscript',
};

export function artifactMimeType(filePath: string): string {
  const name = filePath.slice(filePath.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  // A name without an extension is looked up whole (MLmodel, MLproject); a leading dot is no extension.
  const extension = dot > 0 ? name.slice(dot + 1) : name;
  const lower = extension.toLowerCase();
  if (TEXT_EXTENSIONS.has(lower)) return 'text/plain';
  if (dot <= 0) return 'application/octet-stream';
  return TYPES[lower] ?? 'application/octet-stream';
}

/** MLflow's Content-Disposition (`attachment; filename=<name>`), with RFC 6266 encoding where needed. */
export function attachmentDisposition(filePath: string): string {
  const name = filePath.slice(filePath.lastIndexOf('/') + 1);
  if (/^[\x21-\x7e]+$/.test(name) && !/[";\\]/.test(name)) return `attachment; filename=${name}`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
