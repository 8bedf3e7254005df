import { cancelJob } from './lab-actions';
import { fmtBytes, fmtDuration } from './format';
import { useLab, type JobKey } from './store';

/** Progress of the job running under a key, with its cancel button; nothing when idle. */
export function JobProgress({ jobKey, label, onCancel }: { jobKey: JobKey; label: string; onCancel?: () => void }) {
  const job = useLab((s) => s.jobs[jobKey]);
  if (!job) return null;
  const fraction = job.total > 0 ? job.done / job.total : undefined;
  const elapsed = (Date.now() - job.startedAt) / 1000;
  const left = fraction && fraction > 0.02 && elapsed > 3 ? (elapsed * (1 - fraction)) / fraction : undefined;
  return (
    <div className="job" role="status" aria-live="polite" data-testid={`job-${jobKey}`}>
      <progress aria-label={`${label} progress`} {...(fraction !== undefined ? { value: fraction, max: 1 } : {})} />
      <span className="job-text">
        {label}
        {fraction !== undefined ? ` ${Math.round(fraction * 100)}%` : '…'}
        {job.bytes ? ` · ${fmtBytes(job.bytes.done)} of ${fmtBytes(job.bytes.total)} at ${fmtBytes(job.bytes.rate)}/s` : ''}
        {job.what ? ` · ${job.what}` : ''}
        {left !== undefined ? ` · about ${fmtDuration(left)} left` : ''}
      </span>
      <button type="button" onClick={() => (onCancel ? onCancel() : cancelJob(jobKey))}>Cancel</button>
    </div>
  );
}
