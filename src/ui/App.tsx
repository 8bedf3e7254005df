import { useEffect } from 'react';
import { AdapterPanel } from './AdapterPanel';
import { startGpu } from './engine';

export function App() {
  useEffect(() => {
    void startGpu();
  }, []);
  return (
    <main>
      <header>
        <h1>Depth-Pruning Lab</h1>
        <p className="tagline">Score LLaMA blocks, drop the least important, measure what it costs and what it buys — on your GPU.</p>
      </header>
      <AdapterPanel />
    </main>
  );
}
