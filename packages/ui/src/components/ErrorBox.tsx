import { MlflowError } from '../api';

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {error instanceof MlflowError ? <strong>{error.errorCode}: </strong> : null}
      {error.message}
    </div>
  );
}
