// The run's artifacts: a folder tree on the left (folders load when opened), a preview on the right.
import { useRef, useState } from 'react';
import { api, artifactUrl, type FileInfo } from '../api';
import { parseCsv } from '../lib/csv';
import { formatBytes } from '../lib/format';
import { IMAGE_FILE, stepImages, stepOfImage } from '../lib/image-steps';
import { useLoad } from '../lib/use-load';
import { setParams } from '../router';
import { HtmlReport } from './artifacts/HtmlReport';
import { ImageSteps } from './artifacts/ImageSteps';
import { PAGE_ROWS, PagedTable } from './artifacts/PagedTable';
import { ParquetPreview } from './artifacts/ParquetPreview';
import { ErrorBox } from './ErrorBox';
import { MlModel } from './MlModel';

const PREVIEW_LIMIT = 2 * 1024 * 1024;
/** The most rows of a CSV file that are parsed for its pages. */
const CSV_ROWS = 100_000;
const IMAGE = IMAGE_FILE;
const HTML = /\.html?$/i;
const PARQUET = /\.parquet$/i;
const TABLE = /\.(csv|tsv)$/i;

type Listing = { files?: FileInfo[] };
/** A folder's listing, asked for once per artifact browser (the tree and the step slider share it). */
type ListingCache = Map<string, Promise<Listing>>;
function listFolder(cache: ListingCache, runId: string, path: string): Promise<Listing> {
  let p = cache.get(path);
  if (!p) {
    p = api.listArtifacts(runId, path || undefined);
    // A failed listing is asked for again next time.
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}
const TEXT =
  /\.(txt|log|md|py|yaml|yml|json|csv|tsv|xml|cfg|ini|toml|sh|r|js|ts|sql|html)$|(^|\/)(MLmodel|MLproject|requirements\.txt|conda\.yaml)$/i;

function Folder({
  runId,
  path,
  depth,
  selected,
  onSelect,
  listings,
}: {
  runId: string;
  path: string;
  depth: number;
  selected: string;
  onSelect(file: FileInfo): void;
  listings: ListingCache;
}) {
  const list = useLoad(() => listFolder(listings, runId, path), [runId, path]);
  const [open, setOpen] = useState<Set<string>>(() => {
    // Folders on the way to the selected file start open.
    const s = new Set<string>();
    const parts = selected.split('/');
    for (let i = 1; i < parts.length; i++) s.add(parts.slice(0, i).join('/'));
    return s;
  });
  if (list.error) return <ErrorBox error={list.error} />;
  const files = [...(list.data?.files ?? [])].sort(
    (a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path),
  );
  if (!list.data) return <div className="muted">Loading…</div>;
  if (files.length === 0 && depth === 0) return <p className="muted">No artifacts.</p>;
  return (
    <ul
      className="tree"
      role={depth === 0 ? 'tree' : 'group'}
      aria-label={depth === 0 ? 'Artifacts' : undefined}
    >
      {files.map((f) => {
        const name = f.path.split('/').pop();
        const isOpen = open.has(f.path);
        return (
          <li
            key={f.path}
            role="treeitem"
            aria-expanded={f.is_dir ? isOpen : undefined}
            aria-selected={f.path === selected}
          >
            <button
              type="button"
              className={`tree-item${f.path === selected ? ' active' : ''}`}
              style={{ paddingLeft: 8 + depth * 14 }}
              onClick={() => {
                if (f.is_dir) {
                  setOpen((s) => {
                    const next = new Set(s);
                    if (next.has(f.path)) next.delete(f.path);
                    else next.add(f.path);
                    return next;
                  });
                } else onSelect(f);
              }}
            >
              <span aria-hidden="true">{f.is_dir ? (isOpen ? '▾ ' : '▸ ') : '\u00a0\u00a0 '}</span>
              <span className={f.is_dir ? 'tree-name dir' : 'tree-name'}>{name}</span>
              {!f.is_dir ? <span className="muted size"> {formatBytes(f.file_size)}</span> : null}
            </button>
            {f.is_dir && isOpen ? (
              <Folder
                runId={runId}
                path={f.path}
                depth={depth + 1}
                selected={selected}
                onSelect={onSelect}
                listings={listings}
              />
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

/** A CSV or TSV file's rows a page at a time; `partial` when only the file's start was read. */
function CsvTable({ text, separator, partial }: { text: string; separator: string; partial: boolean }) {
  const [page, setPage] = useState(0);
  // A partial read ends mid-line: that last line is left out.
  const rows = parseCsv(partial ? text.slice(0, text.lastIndexOf('\n') + 1) : text, CSV_ROWS + 1, separator);
  const [head = [], ...body] = rows;
  const cut = partial || rows.length > CSV_ROWS;
  return (
    <PagedTable
      label="CSV preview"
      columns={head}
      rows={body.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS)}
      page={page}
      total={body.length}
      onPage={setPage}
      note={
        cut
          ? `The first ${body.length.toLocaleString()} rows${partial ? ` (the file's first ${formatBytes(PREVIEW_LIMIT)})` : ''}; download the file for the rest.`
          : undefined
      }
    />
  );
}

function Preview({
  runId,
  file,
  listings,
  onPath,
}: {
  runId: string;
  file: FileInfo;
  listings: ListingCache;
  onPath(path: string): void;
}) {
  const url = artifactUrl(runId, file.path);
  const name = file.path.split('/').pop() ?? file.path;
  const isImage = IMAGE.test(name);
  const isTable = TABLE.test(name);
  const isText = TEXT.test(name) || !/\.[^./]+$/.test(name);
  const isHtml = HTML.test(name);
  const isParquet = PARQUET.test(name);
  const tooBig = (file.file_size ?? 0) > PREVIEW_LIMIT;
  // A large CSV file's start is read (one Range request): enough for its first pages.
  const partial = isTable && tooBig;
  const content = useLoad(
    async (signal) => {
      if (isImage || isHtml || isParquet || !isText || (tooBig && !partial)) return undefined;
      const r = await fetch(url, {
        signal,
        headers: partial ? { Range: `bytes=0-${PREVIEW_LIMIT - 1}` } : undefined,
      });
      if (!r.ok)
        throw new Error(`Could not read ${file.path}: ${r.status} ${(await r.text()).slice(0, 200)}`);
      return r.text();
    },
    [url],
  );
  const folder = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/')) : '';
  const siblings = useLoad(
    async () => (isImage ? listFolder(listings, runId, folder) : undefined),
    [runId, folder, isImage],
  );
  let body: React.ReactNode;
  if (isImage) {
    const steps = stepImages(
      file.path,
      (siblings.data?.files ?? []).filter((f) => !f.is_dir).map((f) => f.path),
    );
    body = <ImageSteps runId={runId} path={file.path} steps={steps} onPath={onPath} />;
  } else if (isHtml) body = <HtmlReport runId={runId} path={file.path} />;
  else if (isParquet) body = <ParquetPreview url={url} byteLength={file.file_size} />;
  else if (tooBig && !partial)
    body = (
      <p className="muted">This file is larger than {formatBytes(PREVIEW_LIMIT)}; download it to view it.</p>
    );
  else if (!isText) body = <p className="muted">No preview for this kind of file.</p>;
  else if (content.error) body = <ErrorBox error={content.error} />;
  else if (content.data === undefined) body = <p className="muted">Loading…</p>;
  else if (name === 'MLmodel') body = <MlModel text={content.data} />;
  else if (/\.csv$/i.test(name)) body = <CsvTable text={content.data} separator="," partial={partial} />;
  else if (/\.tsv$/i.test(name)) body = <CsvTable text={content.data} separator={'\t'} partial={partial} />;
  else if (/\.json$/i.test(name)) {
    let pretty = content.data;
    try {
      pretty = JSON.stringify(JSON.parse(content.data), null, 2);
    } catch {
      // Not valid JSON: show it as it is.
    }
    body = <pre className="code">{pretty}</pre>;
  } else body = <pre className="code">{content.data}</pre>;
  return (
    <section className="preview" aria-label={`Preview of ${file.path}`}>
      <div className="preview-head">
        <strong className="mono">{file.path}</strong>
        <span className="muted">{formatBytes(file.file_size)}</span>
        <a href={url} download={name}>
          Download
        </a>
      </div>
      {body}
    </section>
  );
}

/**
 * The preview's identity: the file, except that the images of one step series share one, so moving
 * the slider keeps the preview (and the slider's focus) in place.
 */
function previewKey(path: string): string {
  const at = path.lastIndexOf('/');
  const series = stepOfImage(path.slice(at + 1))?.series;
  return series ? `${path.slice(0, at + 1)}\u0000${series}` : path;
}

export function ArtifactBrowser({ runId, path }: { runId: string; path: string }) {
  const [file, setFile] = useState<FileInfo | undefined>(path ? { path, is_dir: false } : undefined);
  const listings = useRef<ListingCache>(new Map()).current;
  return (
    <div className="artifacts">
      <nav className="artifact-tree" aria-label="Artifact files">
        <Folder
          runId={runId}
          path=""
          depth={0}
          listings={listings}
          selected={file?.path ?? ''}
          onSelect={(f) => {
            setFile(f);
            setParams({ path: f.path }, { replace: true });
          }}
        />
      </nav>
      {file ? (
        <Preview
          key={previewKey(file.path)}
          runId={runId}
          file={file}
          listings={listings}
          onPath={(p) => {
            setFile({ path: p, is_dir: false });
            setParams({ path: p }, { replace: true });
          }}
        />
      ) : (
        <p className="muted">Choose a file to preview it.</p>
      )}
    </div>
  );
}
