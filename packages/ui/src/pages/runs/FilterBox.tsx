// The experiment page's filter box (runs, or traces with its own URL parameter): MLflow's search
// syntax, its syntax errors shown under it, "/" to focus.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { MlflowError } from '../../api';
import { setParams } from '../../router';

export function FilterBox({
  filter,
  error,
  param = 'filter',
  label = 'Filter runs (MLflow search syntax)',
  placeholder = "metrics.rmse < 1 and params.model = 'tree'   (press / to focus)",
}: {
  filter: string;
  error?: Error;
  /** The URL parameter holding the filter. */
  param?: string;
  label?: string;
  placeholder?: string;
}) {
  const [text, setText] = useState(filter);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setText(filter), [filter]);
  useEffect(() => {
    // "/" jumps to the filter box, as in many search UIs.
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && !['INPUT', 'TEXTAREA'].includes(t.tagName)) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ [param]: text.trim() });
  };
  const syntax = error instanceof MlflowError && error.errorCode === 'INVALID_PARAMETER_VALUE';
  return (
    <form className="filter" onSubmit={submit} aria-label={label.replace(/ \(.*\)$/, '')}>
      <input
        ref={input}
        type="search"
        className={syntax ? 'invalid' : undefined}
        aria-label={label}
        aria-invalid={syntax}
        aria-describedby={syntax ? 'filter-error' : undefined}
        placeholder={placeholder}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Search</button>
      {filter ? (
        <button type="button" className="ghost" onClick={() => setParams({ [param]: null })}>
          Clear
        </button>
      ) : null}
      {syntax ? (
        <div id="filter-error" className="filter-error" role="alert">
          {error.message}
        </div>
      ) : null}
    </form>
  );
}
