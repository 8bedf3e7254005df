import { useLab, type JobKey } from './store';

/** The last error of a job key, shown until the next run. */
export function ErrorNote({ jobKey }: { jobKey: JobKey }) {
  const error = useLab((s) => s.errors[jobKey]);
  if (!error) return null;
  return <p className="error-text" role="alert" data-testid={`error-${jobKey}`}>{error}</p>;
}
