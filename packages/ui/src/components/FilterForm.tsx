// A search box for MLflow's filter grammar whose value lives in the URL's `filter` parameter. The
// server is the judge of the syntax: its INVALID_PARAMETER_VALUE message is shown under the box.
import { type FormEvent, useEffect, useState } from 'react';
import { MlflowError } from '../api';
import { setParams } from '../router';

export function FilterForm({
  filter,
  error,
  label,
  placeholder,
  resetParams = {},
}: {
  filter: string;
  error?: Error;
  label: string;
  placeholder: string;
  /** Other parameters to clear when the filter changes (a page position, say). */
  resetParams?: Record<string, null>;
}) {
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ ...resetParams, filter: text.trim() });
  };
  const invalid = error instanceof MlflowError && error.errorCode === 'INVALID_PARAMETER_VALUE';
  return (
    <form className="filter" onSubmit={submit} aria-label={label}>
      <input
        type="search"
        className={invalid ? 'invalid' : undefined}
        aria-label={`${label} (MLflow search syntax)`}
        aria-invalid={invalid}
        aria-describedby={invalid ? 'filter-error' : undefined}
        placeholder={placeholder}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Search</button>
      {filter ? (
        <button type="button" className="ghost" onClick={() => setParams({ ...resetParams, filter: null })}>
          Clear
        </button>
      ) : null}
      {invalid ? (
        <div id="filter-error" className="filter-error" role="alert">
          {error.message}
        </div>
      ) : null}
    </form>
  );
}
