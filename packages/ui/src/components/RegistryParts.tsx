// Pieces shared by the model and model version pages: a Markdown description that can be edited and
// a tag table with add, edit and delete. Each takes the server call to make, so one component serves
// both kinds of registry object.
import { type FormEvent, useState } from 'react';
import type { KeyValue } from '../api';
import { ErrorBox } from './ErrorBox';
import { Markdown } from './Markdown';

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
  const [editing, setEditing] = useState<{ key: string; value: string; isNew: boolean }>();
  const [error, setError] = useState<Error>();
  const done = () => {
    setEditing(undefined);
    setError(undefined);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (editing) setTag(editing.key, editing.value).then(done, setError);
  };
  const sorted = [...tags].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <section className="card" aria-labelledby="tags-title">
      <div className="card-head">
        <h2 id="tags-title">Tags</h2>
        <button
          type="button"
          className="ghost"
          onClick={() => setEditing({ key: '', value: '', isNew: true })}
        >
          Add tag
        </button>
      </div>
      <ErrorBox error={error} />
      {editing ? (
        <form
          // Remounted for each tag edited, so the focus moves to the new form's field.
          key={editing.isNew ? 'new' : `edit:${editing.key}`}
          className="inline-form"
          onSubmit={submit}
          aria-label={editing.isNew ? 'New tag' : `Edit tag ${editing.key}`}
        >
          <input
            aria-label="Tag key"
            placeholder="key"
            value={editing.key}
            readOnly={!editing.isNew}
            // A new tag starts at its key; an edit at the value, the only field that can change.
            // biome-ignore lint/a11y/noAutofocus: the user just asked to add or edit a tag
            autoFocus={editing.isNew}
            onChange={(e) => setEditing({ ...editing, key: e.target.value })}
          />
          <input
            aria-label="Tag value"
            placeholder="value"
            // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this tag's value
            autoFocus={!editing.isNew}
            value={editing.value}
            onChange={(e) => setEditing({ ...editing, value: e.target.value })}
          />
          <button type="submit" disabled={!editing.key}>
            Save
          </button>
          <button type="button" className="ghost" onClick={() => setEditing(undefined)}>
            Cancel
          </button>
        </form>
      ) : null}
      {sorted.length ? (
        <table className="grid" aria-label="Tags">
          <tbody>
            {sorted.map((t) => (
              <tr key={t.key}>
                <td className="mono">{t.key}</td>
                <td className="wrap">{t.value}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="ghost"
                    aria-label={`Edit tag ${t.key}`}
                    onClick={() => setEditing({ key: t.key, value: t.value, isNew: false })}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    className="ghost danger"
                    aria-label={`Delete tag ${t.key}`}
                    onClick={() => deleteTag(t.key).then(done, setError)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No tags.</p>
      )}
    </section>
  );
}

export function StageBadge({ stage }: { stage: string | undefined }) {
  const s = stage || 'None';
  return <span className={`badge stage-${s.toLowerCase()}`}>{s}</span>;
}
