import { useEffect, useRef, useState, type DragEvent } from 'react';
import { filesFromDrop } from '../io/file-source';
import { DEFAULT_HUB_HOST, isHubHost } from '../io/http-source';
import type { ModelSourceSpec } from '../app/protocol';
import type { WeightFormat } from '../quant/formats';
import type { MemoryPlan } from '../quant/memory-plan';
import { embeddedSpec, loadModel, planModel } from './lab-actions';
import { HubCache } from './HubCache';
import { JobProgress } from './JobProgress';
import { MemoryPlanTable, ModelFacts } from './ModelFacts';
import { anyJob, useLab } from './store';
import { EMBEDDED_MODEL } from '../app/embedded';
import { WEIGHT_FORMATS } from '../quant/formats';

type Kind = 'embedded' | 'hub' | 'local';

/** Files of a dropped folder as plain File objects named by their path inside that folder. */
async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const pathed = await filesFromDrop(items);
  const out: File[] = [];
  for (const { file, path } of pathed) {
    const parts = path.split('/').filter(Boolean);
    const rel = parts.length > 1 ? parts.slice(1).join('/') : parts[0]!;
    if (rel.includes('/')) continue; // sub-folders are not part of a checkpoint
    out.push(file.name === rel ? file : new File([file], rel, { type: file.type, lastModified: file.lastModified }));
  }
  return out;
}

/** The model: where it comes from, loading progress, errors, and its shape. */
export function ModelPanel() {
  const source = useLab((s) => s.source);
  const loadError = useLab((s) => s.loadError);
  const model = useLab((s) => s.model);
  const loading = useLab(anyJob);
  const gpuReady = useLab((s) => s.gpu.state === 'ready');
  const [kind, setKind] = useState<Kind>(source.kind);
  const [hubId, setHubId] = useState(source.kind === 'hub' ? source.id : '');
  const [revision, setRevision] = useState(source.kind === 'hub' ? source.revision : 'main');
  const [host, setHost] = useState(source.kind === 'hub' ? (source.host ?? '') : '');
  const [token, setToken] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [folderName, setFolderName] = useState('');
  const [dragging, setDragging] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);
  const [format, setFormat] = useState<WeightFormat>('float');
  const [quantizeEmbeddings, setQuantizeEmbeddings] = useState(false);
  const [plan, setPlan] = useState<MemoryPlan | null>(null);
  // The remembered source arrives after the first render (IndexedDB) and changes on each load.
  useEffect(() => {
    setKind(source.kind);
    if (source.kind === 'hub') {
      setHubId(source.id);
      setRevision(source.revision);
      setHost(source.host ?? '');
    }
  }, [source]);

  const choose = (k: Kind) => {
    setKind(k);
    useLab.getState().setLoadError(null);
  };
  const spec = (): ModelSourceSpec =>
    kind === 'embedded' ? embeddedSpec()
    : kind === 'hub' ? { kind: 'hub', id: hubId.trim(), revision: revision.trim() || 'main', ...(host.trim() ? { host: host.trim() } : {}), ...(token ? { token } : {}) }
    : { kind: 'local', name: folderName || 'local model', files };
  const load = () => void loadModel(spec(), { format, embeddings: quantizeEmbeddings });
  // The plan preselects the recommended format; the user may pick any other that fits.
  const checkMemory = async () => {
    const p = await planModel(spec(), { embeddings: quantizeEmbeddings });
    setPlan(p);
    if (p?.recommended) setFormat(p.recommended);
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const items = e.dataTransfer.items;
    const list = items && items.length ? await droppedFiles(items) : Array.from(e.dataTransfer.files);
    const first = items?.[0]?.webkitGetAsEntry?.();
    setKind('local');
    setFiles(list);
    setFolderName(first?.isDirectory ? first.name : 'dropped files');
  };
  const canLoad = gpuReady && !loading && (kind === 'embedded' || (kind === 'hub' && /^[\w.-]+\/[\w.-]+$/.test(hubId.trim()) && (!host.trim() || isHubHost(host.trim()))) || (kind === 'local' && files.length > 0));

  return (
    <section className="panel" aria-labelledby="model-h" data-testid="model-panel">
      <h2 id="model-h">Model</h2>
      <div className="source-picker">
        <fieldset>
          <legend>Source</legend>
          <div className="radios">
            <label><input type="radio" name="source" checked={kind === 'embedded'} onChange={() => choose('embedded')} /> Embedded ({EMBEDDED_MODEL})</label>
            <label><input type="radio" name="source" checked={kind === 'hub'} onChange={() => choose('hub')} /> Hugging Face Hub</label>
            <label><input type="radio" name="source" checked={kind === 'local'} onChange={() => choose('local')} /> Local folder</label>
          </div>
          {kind === 'hub' && (
            <div className="row">
              <label className="field"><span>Model id</span><input value={hubId} onChange={(e) => setHubId(e.target.value)} placeholder="owner/name" style={{ width: '16rem' }} /></label>
              <label className="field"><span>Revision</span><input value={revision} onChange={(e) => setRevision(e.target.value)} style={{ width: '7rem' }} /></label>
              <label className="field"><span>Token (optional, never stored)</span><input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} style={{ width: '12rem' }} /></label>
              <label className="field"><span>Hub host (or a mirror)</span><input type="url" value={host} onChange={(e) => setHost(e.target.value)} placeholder={DEFAULT_HUB_HOST} style={{ width: '16rem' }} /></label>
            </div>
          )}
          {kind === 'hub' && <HubCache />}
          {kind === 'local' && (
            <div
              className={`dropzone${dragging ? ' dragging' : ''}`}
              onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
              onDragLeave={() => setDragging(false)}
              onDrop={(e) => void onDrop(e)}
              data-testid="dropzone"
            >
              <input
                ref={folderInput}
                type="file"
                aria-label="Pick a model folder"
                {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
                multiple
                onChange={(e) => {
                  const list = Array.from(e.target.files ?? []);
                  setFiles(list);
                  setFolderName((list[0] as File & { webkitRelativePath?: string })?.webkitRelativePath?.split('/')[0] || 'local model');
                }}
              />
              <span className="muted">or drop the folder (config.json, *.safetensors, tokenizer.json) here. {files.length ? `${files.length} files from ${folderName}.` : ''}</span>
            </div>
          )}
        </fieldset>
        <div className="load-actions">
          <label className="field">
            <span>Weights</span>
            <select value={format} onChange={(e) => setFormat(e.target.value as WeightFormat)} data-testid="weight-format-select">
              {WEIGHT_FORMATS.map((f) => <option key={f.id} value={f.id} title={f.hint}>{f.label}</option>)}
            </select>
          </label>
          <label title="q8 / q4 quantize the block linears; this also quantizes the token embedding and the LM head">
            <input type="checkbox" checked={quantizeEmbeddings} onChange={(e) => setQuantizeEmbeddings(e.target.checked)} /> also embedding and LM head
          </label>
          <button type="button" onClick={() => void checkMemory()} disabled={!canLoad} data-testid="check-memory">Check memory</button>
          <button type="button" className="primary" onClick={load} disabled={!canLoad} data-testid="load-model">Load</button>
        </div>
      </div>
      {plan && <MemoryPlanTable plan={plan} chosen={format} onChoose={setFormat} />}
      {source.kind === 'local' && files.length === 0 && kind === 'local' && <p className="muted">The folder {source.name} was used last time: pick it again to reload it.</p>}
      {model && kind !== source.kind && (
        <p className="muted" data-testid="loaded-source">
          Loaded now: {source.kind === 'hub' ? `${source.id}@${source.revision} from the Hub` : source.kind === 'local' ? `the local folder ${source.name}` : `the embedded model (${EMBEDDED_MODEL})`}; press Load to switch.
        </p>
      )}
      <JobProgress jobKey="load" label="Loading" />
      {loadError && <p className="error-text" role="alert" data-testid="load-error">{loadError}</p>}
      <ModelFacts />
    </section>
  );
}
