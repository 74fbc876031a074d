// Pieces shared by the model and model version pages: a Markdown description that can be edited and
// a tag card (TagEditor in a card). Each takes the server call to make, so one component serves
// both kinds of registry object.
import { type FormEvent, useState } from 'react';
import type { KeyValue } from '../api';
import { ErrorBox } from './ErrorBox';
import { Link } from './Link';
import { Markdown } from './Markdown';
import { TagEditor } from './TagEditor';

export function DescriptionCard({ text, save }: { text: string; save(text: string): Promise<unknown> }) {
  const [draft, setDraft] = useState<string | undefined>();
  const [error, setError] = useState<Error>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (draft === undefined) return;
    save(draft).then(() => {
      setDraft(undefined);
      setError(undefined);
    }, setError);
  };
  return (
    <section className="card" aria-labelledby="description-title">
      <div className="card-head">
        <h2 id="description-title">Description</h2>
        {draft === undefined ? (
          <button type="button" className="ghost" onClick={() => setDraft(text)}>
            Edit
          </button>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {draft !== undefined ? (
        <form onSubmit={submit} className="stack">
          <textarea
            aria-label="Description (Markdown)"
            rows={8}
            value={draft}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to edit the description
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setDraft(undefined)}
          />
          <div className="row">
            <button type="submit">Save</button>
            <button type="button" className="ghost" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : text ? (
        <Markdown text={text} />
      ) : (
        <p className="muted">No description.</p>
      )}
    </section>
  );
}

export function TagsCard({
  tags,
  setTag,
  deleteTag,
}: {
  tags: KeyValue[];
  setTag(key: string, value: string): Promise<unknown>;
  deleteTag(key: string): Promise<unknown>;
}) {
  return (
    <section className="card" aria-labelledby="tags-title">
      <TagEditor
        tags={tags}
        setTag={setTag}
        deleteTag={deleteTag}
        head={(add) => (
          <div className="card-head">
            <h2 id="tags-title">Tags</h2>
            <button type="button" className="ghost" onClick={add}>
              Add tag
            </button>
          </div>
        )}
      />
    </section>
  );
}

export function StageBadge({ stage }: { stage: string | undefined }) {
  const s = stage || 'None';
  return <span className={`badge stage-${s.toLowerCase()}`}>{s}</span>;
}

/** A version's source run: its name when known (the id in the tooltip), linked to the run page. */
export function RunLink({ runId, names }: { runId: string | undefined; names: Map<string, string> }) {
  if (!runId) return <>—</>;
  const name = names.get(runId);
  return (
    <Link href={`/runs/${encodeURIComponent(runId)}`} title={runId} className={name ? undefined : 'mono'}>
      {name ?? runId}
    </Link>
  );
}
