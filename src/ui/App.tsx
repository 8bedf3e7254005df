import { useEffect, useRef } from 'react';
import { AdapterPanel } from './AdapterPanel';
import { BlocksPanel } from './BlocksPanel';
import { CriteriaPanel } from './CriteriaPanel';
import { loadRememberedModel, startGpu } from './lab-actions';
import { EvaluatePanel } from './EvaluatePanel';
import { ExportPanel } from './ExportPanel';
import { FrontierPanel } from './FrontierPanel';
import { GeneratePanel } from './GeneratePanel';
import { HealPanel } from './HealPanel';
import { ModelPanel } from './ModelPanel';
import { ShareLink } from './ShareLink';
import { restoreSharedLink } from './share-link';
import { SpeedPanel } from './SpeedPanel';
import { TasksPanel } from './TasksPanel';
import { useLab } from './store';

/** Loads the remembered model source once the GPU is up (the embedded model on a first visit). */
function useAutoLoad(): void {
  const gpuReady = useLab((s) => s.gpu.state === 'ready');
  const hydrated = useLab((s) => s.hydrated);
  const started = useRef(false);
  useEffect(() => {
    if (!gpuReady || !hydrated || started.current || useLab.getState().model) return;
    started.current = true;
    restoreSharedLink(location.hash);
    void loadRememberedModel();
  }, [gpuReady, hydrated]);
}

export function App() {
  useEffect(() => {
    void startGpu();
  }, []);
  useAutoLoad();
  return (
    <main>
      <header>
        <h1>Depth-Pruning Lab</h1>
        <p className="tagline">Score LLaMA blocks, drop the least important, measure what it costs and what it buys — on your GPU.</p>
        <ShareLink />
      </header>
      <div className="top-row">
        <ModelPanel />
        <AdapterPanel />
      </div>
      <div className="layout">
        <div className="col-blocks">
          <BlocksPanel />
        </div>
        <div className="col-work">
          <CriteriaPanel />
          <EvaluatePanel />
          <HealPanel />
          <TasksPanel />
          <GeneratePanel />
          <SpeedPanel />
          <FrontierPanel />
          <ExportPanel />
        </div>
      </div>
    </main>
  );
}
