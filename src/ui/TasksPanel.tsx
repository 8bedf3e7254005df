import { useState } from 'react';
import { TASKS } from '../tasks/registry';
import { planScores, type TaskTable } from '../tasks/results';
import { ErrorNote } from './ErrorNote';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { anyJob, currentRecord, keptBlocks, planKey, useLab } from './store';
import { downloadTasksCsv, runTasks, taskPlans, taskUploads } from './task-actions';

const pctText = (v: number) => v.toFixed(1);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

/** Zero-shot accuracy (lm-eval style) of the original and the current plan on the picked tasks. */
export function TasksPanel() {
  const model = useLab((s) => s.model);
  const settings = useLab((s) => s.settings.tasks);
  const update = useLab((s) => s.updateSettings);
  const record = useLab(currentRecord);
  const busy = useLab(anyJob);
  const [files, setFiles] = useState<Record<string, string>>(() => Object.fromEntries([...taskUploads].map(([id, f]) => [id, f.name])));
  const L = model?.numLayers ?? 0;
  const planKeys = taskPlans(L, record.plan.removed).map((p) => planKey(p.plan));
  const rec = record.tasks;
  const current = rec && rec.planKeys.join('|') === planKeys.join('|') ? rec : null;
  const toggle = (id: string, on: boolean) => update({ tasks: { ...settings, selected: on ? [...settings.selected, id] : settings.selected.filter((t) => t !== id) } });
  const pick = (id: string, file: File | undefined) => {
    if (file) taskUploads.set(id, file);
    else taskUploads.delete(id);
    setFiles((f) => ({ ...f, [id]: file?.name ?? '' }));
    if (file && !settings.selected.includes(id)) toggle(id, true);
  };
  const runnable = settings.selected.length > 0 && settings.selected.every((id) => id !== 'custom' || files.custom);
  return (
    <section className="panel" aria-labelledby="tasks-h" data-testid="tasks-panel">
      <h2 id="tasks-h">Zero-shot tasks</h2>
      <p className="muted">Multiple-choice accuracy as the seed's lm-eval snapshot scores it. Data: the shipped KJV tasks, the datasets' Parquet files from the Hub (the model's Hub host), or a file you pick (Parquet or JSONL in the dataset's columns; custom: {'{"context", "choices", "gold"}'} per line).</p>
      <fieldset>
        <legend>Tasks</legend>
        <ul className="task-list">
          {TASKS.map((t) => (
            <li key={t.id}>
              <label>
                <input type="checkbox" checked={settings.selected.includes(t.id)} onChange={(e) => toggle(t.id, e.target.checked)} data-testid={`task-${t.id}`} />
                {' '}{t.title} <span className="muted">({t.metric}; {t.embedded ? 'shipped' : t.hub ? `Hub ${t.hub.dataset}` : 'file'})</span>
              </label>
              {!t.embedded && (
                <label className="file-field">
                  <span className="sr-only">{t.title} file</span>
                  <input type="file" accept=".parquet,.jsonl,.json" onChange={(e) => pick(t.id, e.target.files?.[0])} data-testid={`task-file-${t.id}`} />
                </label>
              )}
              {files[t.id] && <span className="muted" data-testid={`task-file-name-${t.id}`}> {files[t.id]}</span>}
            </li>
          ))}
        </ul>
      </fieldset>
      <div className="row">
        <NumberField label="Items per task (0 = all)" value={settings.limit} min={0} onChange={(limit) => update({ tasks: { ...settings, limit } })} testId="tasks-limit" />
        <button type="button" className="primary" disabled={!model || busy || !runnable} onClick={() => void runTasks()} data-testid="run-tasks">Run tasks</button>
        <button type="button" disabled={!current || current.table.tasks.length === 0} onClick={downloadTasksCsv} data-testid="tasks-csv">Download CSV</button>
      </div>
      <JobProgress jobKey="tasks" label="Tasks" />
      <ErrorNote jobKey="tasks" />
      {current && current.table.tasks.length > 0 && <TaskResultsTable table={current.table} blocks={keptBlocks(L, record.plan.removed).length} />}
      {rec && !current && <p className="muted" data-testid="tasks-stale">Task results are for another plan; run the tasks again for this one.</p>}
    </section>
  );
}

/** zeroshot_acc.csv's layout: tasks across, the metric under each, then each plan and its difference to the original. */
export function TaskResultsTable({ table, blocks }: { table: TaskTable; blocks: number }) {
  const base = planScores(table, 0);
  return (
    <table className="results" data-testid="tasks-table">
      <caption className="muted">Accuracy in %, {table.tasks.map((t) => `${t.task} ${t.items} items`).join(', ')}</caption>
      <thead>
        <tr><th scope="col">Model</th>{table.tasks.map((t) => <th scope="col" key={t.task}>{t.task}</th>)}<th scope="col">AVE</th></tr>
        <tr><th scope="row">metric</th>{table.tasks.map((t) => <td key={t.task}>{t.metric}</td>)}<td>n/a</td></tr>
      </thead>
      <tbody>
        {table.plans.map((p, i) => {
          const s = planScores(table, i);
          return [
            <tr key={p.name} data-testid={`tasks-row-${i}`}>
              <th scope="row">{i === 0 ? 'Original' : `Current plan (${blocks} blocks)`}</th>
              {s.scores.map((v, j) => <td key={j} title={`± ${(100 * (table.tasks[j]!.perPlan[i]?.[table.tasks[j]!.metric]?.stderr ?? NaN)).toFixed(1)} (stderr)`}>{pctText(v)}</td>)}
              <td>{pctText(s.average)}</td>
            </tr>,
            i > 0 && (
              <tr key={`${p.name}-diff`} data-testid="tasks-diff">
                <th scope="row">Difference</th>
                {s.scores.map((v, j) => <td key={j}>{signed(v - base.scores[j]!)}</td>)}
                <td>{signed(s.average - base.average)}</td>
              </tr>
            ),
          ];
        })}
      </tbody>
    </table>
  );
}
