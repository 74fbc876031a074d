// The runs page's filter box: MLflow's search syntax, its syntax errors shown under it, "/" to focus.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { MlflowError } from '../../api';
import { setParams } from '../../router';

export function FilterBox({ filter, error }: { filter: string; error?: Error }) {
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
    setParams({ filter: text.trim() });
  };
  const syntax = error instanceof MlflowError && error.errorCode === 'INVALID_PARAMETER_VALUE';
  return (
    <form className="filter" onSubmit={submit} aria-label="Filter runs">
      <input
        ref={input}
        type="search"
        className={syntax ? 'invalid' : undefined}
        aria-label="Filter runs (MLflow search syntax)"
        aria-invalid={syntax}
        aria-describedby={syntax ? 'filter-error' : undefined}
        placeholder="metrics.rmse < 1 and params.model = 'tree'   (press / to focus)"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Search</button>
      {filter ? (
        <button type="button" className="ghost" onClick={() => setParams({ filter: null })}>
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
