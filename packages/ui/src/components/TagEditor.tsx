// Tags with add, edit and delete, for runs, registered models and model versions alike: each caller
// passes the server calls to make and the head (title or toolbar) that holds the "Add tag" button.
import { type FormEvent, type ReactNode, useState } from 'react';
import type { KeyValue } from '../api';
import { ErrorBox } from './ErrorBox';

export interface TagEditorProps {
  tags: KeyValue[];
  setTag(key: string, value: string): Promise<unknown>;
  deleteTag(key: string): Promise<unknown>;
  /** Called after a save or delete succeeded. */
  onChanged?(): void;
  /** What goes above the form and table; `add` opens the form for a new tag. */
  head(add: () => void): ReactNode;
  formClassName?: string;
  /** Shows the table with its column names even when there are no tags. */
  columnNames?: boolean;
}

export function TagEditor({
  tags,
  setTag,
  deleteTag,
  onChanged,
  head,
  formClassName = 'inline-form',
  columnNames = false,
}: TagEditorProps) {
  const [editing, setEditing] = useState<{ key: string; value: string; isNew: boolean }>();
  const [error, setError] = useState<Error>();
  const done = () => {
    setEditing(undefined);
    setError(undefined);
    onChanged?.();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (editing) setTag(editing.key, editing.value).then(done, setError);
  };
  const sorted = [...tags].sort((a, b) => a.key.localeCompare(b.key));
  const table = (
    <table className="grid" aria-label="Tags">
      {columnNames ? (
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
      ) : null}
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
  );
  const none = <p className="muted">No tags.</p>;
  return (
    <>
      {head(() => setEditing({ key: '', value: '', isNew: true }))}
      <ErrorBox error={error} />
      {editing ? (
        <form
          // Remounted for each tag edited, so the focus moves to the new form's field.
          key={editing.isNew ? 'new' : `edit:${editing.key}`}
          className={formClassName}
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
      {columnNames ? (
        <>
          {table}
          {sorted.length === 0 ? none : null}
        </>
      ) : sorted.length ? (
        table
      ) : (
        none
      )}
    </>
  );
}
