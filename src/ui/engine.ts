/** The page's single engine worker and the actions that drive it and update the store. */
import { EngineClient } from '../worker/client';
import { useLab } from './store';

let client: EngineClient | undefined;

function engine(): EngineClient {
  if (!client) {
    client = new EngineClient();
    client.onEvent((e) => {
      if (e.type === 'device-lost') useLab.getState().setGpu({ state: 'lost', message: e.message });
    });
  }
  return client;
}

/** Acquires (or re-acquires after a loss) the GPU in the worker. */
export async function startGpu(): Promise<void> {
  const { setGpu } = useLab.getState();
  setGpu({ state: 'starting' });
  try {
    const { adapter } = await engine().request({ type: 'init' }, 'ready');
    setGpu({ state: 'ready', adapter });
  } catch (err) {
    setGpu({ state: 'unavailable', message: err instanceof Error ? err.message : String(err) });
  }
}
