// An MLmodel file: its flavors, model id, creation time and signature, then the file as it is.
import YAML from 'yaml';

export function MlModel({ text }: { text: string }) {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = YAML.parse(text) as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  const flavors = doc && typeof doc.flavors === 'object' && doc.flavors ? Object.keys(doc.flavors) : [];
  const signature = doc?.signature as { inputs?: string; outputs?: string } | undefined;
  const fields = (s: string | undefined) => {
    try {
      return s ? (JSON.parse(s) as { name?: string; type?: string }[]) : [];
    } catch {
      return [];
    }
  };
  return (
    <div className="mlmodel">
      <h3>MLflow model</h3>
      <dl className="facts">
        <dt>Flavors</dt>
        <dd>{flavors.length ? flavors.join(', ') : '—'}</dd>
        {doc?.model_uuid ? (
          <>
            <dt>Model UUID</dt>
            <dd className="mono">{String(doc.model_uuid)}</dd>
          </>
        ) : null}
        {doc?.utc_time_created ? (
          <>
            <dt>Created</dt>
            <dd>{String(doc.utc_time_created)}</dd>
          </>
        ) : null}
        {signature ? (
          <>
            <dt>Inputs</dt>
            <dd>
              {fields(signature.inputs)
                .map((f) => `${f.name ?? '?'}: ${f.type ?? '?'}`)
                .join(', ') || '—'}
            </dd>
            <dt>Outputs</dt>
            <dd>
              {fields(signature.outputs)
                .map((f) => `${f.name ?? '?'}: ${f.type ?? '?'}`)
                .join(', ') || '—'}
            </dd>
          </>
        ) : null}
      </dl>
      <pre className="code">{text}</pre>
    </div>
  );
}
