// The run's artifacts: a folder tree on the left (folders load when opened), a preview on the right.
import { useState } from 'react';
import { api, artifactUrl, type FileInfo } from '../api';
import { parseCsv } from '../lib/csv';
import { formatBytes } from '../lib/format';
import { useLoad } from '../lib/use-load';
import { setParams } from '../router';
import { ErrorBox } from './ErrorBox';
import { MlModel } from './MlModel';

const PREVIEW_LIMIT = 2 * 1024 * 1024;
const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT =
  /\.(txt|log|md|py|yaml|yml|json|csv|tsv|xml|cfg|ini|toml|sh|r|js|ts|sql|html)$|(^|\/)(MLmodel|MLproject|requirements\.txt|conda\.yaml)$/i;

function Folder({
  runId,
  path,
  depth,
  selected,
  onSelect,
}: {
  runId: string;
  path: string;
  depth: number;
  selected: string;
  onSelect(file: FileInfo): void;
}) {
  const list = useLoad(() => api.listArtifacts(runId, path || undefined), [runId, path]);
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
              <Folder runId={runId} path={f.path} depth={depth + 1} selected={selected} onSelect={onSelect} />
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

function CsvTable({ text, separator }: { text: string; separator: string }) {
  const rows = parseCsv(text, 500, separator);
  const [head, ...body] = rows;
  return (
    <div className="scroll-x">
      <table className="grid compact" aria-label="CSV preview">
        <thead>
          <tr>
            {head?.map((h, i) => (
              <th key={i}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {body.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length >= 500 ? <p className="muted">First 500 rows shown.</p> : null}
    </div>
  );
}

function Preview({ runId, file }: { runId: string; file: FileInfo }) {
  const url = artifactUrl(runId, file.path);
  const name = file.path.split('/').pop() ?? file.path;
  const isImage = IMAGE.test(name);
  const isText = TEXT.test(name) || !/\.[^./]+$/.test(name);
  const tooBig = (file.file_size ?? 0) > PREVIEW_LIMIT;
  const content = useLoad(
    async (signal) => {
      if (isImage || !isText || tooBig) return undefined;
      const r = await fetch(url, { signal });
      if (!r.ok)
        throw new Error(`Could not read ${file.path}: ${r.status} ${(await r.text()).slice(0, 200)}`);
      return r.text();
    },
    [url],
  );
  let body: React.ReactNode;
  if (isImage) body = <img src={url} alt={file.path} className="preview-image" />;
  else if (tooBig)
    body = (
      <p className="muted">This file is larger than {formatBytes(PREVIEW_LIMIT)}; download it to view it.</p>
    );
  else if (!isText) body = <p className="muted">No preview for this kind of file.</p>;
  else if (content.error) body = <ErrorBox error={content.error} />;
  else if (content.data === undefined) body = <p className="muted">Loading…</p>;
  else if (name === 'MLmodel') body = <MlModel text={content.data} />;
  else if (/\.csv$/i.test(name)) body = <CsvTable text={content.data} separator="," />;
  else if (/\.tsv$/i.test(name)) body = <CsvTable text={content.data} separator={'\t'} />;
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

export function ArtifactBrowser({ runId, path }: { runId: string; path: string }) {
  const [file, setFile] = useState<FileInfo | undefined>(path ? { path, is_dir: false } : undefined);
  return (
    <div className="artifacts">
      <nav className="artifact-tree" aria-label="Artifact files">
        <Folder
          runId={runId}
          path=""
          depth={0}
          selected={file?.path ?? ''}
          onSelect={(f) => {
            setFile(f);
            setParams({ path: f.path }, { replace: true });
          }}
        />
      </nav>
      {file ? (
        <Preview key={file.path} runId={runId} file={file} />
      ) : (
        <p className="muted">Choose a file to preview it.</p>
      )}
    </div>
  );
}
