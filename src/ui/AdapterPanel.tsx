import { describeAdapter, isCpuAdapter } from '../gpu/device';
import { restartGpu } from './lab-actions';
import { useLab } from './store';

const SHOWN_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'];

function formatLimit(name: string, value: number): string {
  if (/Size$/.test(name) && value >= 1 << 20) return `${(value / (1 << 20)).toFixed(0)} MiB`;
  if (/Size$/.test(name) && value >= 1024) return `${(value / 1024).toFixed(0)} KiB`;
  return String(value);
}

/** The GPU the lab runs on, or why there is none and what to do. */
export function AdapterPanel() {
  const gpu = useLab((s) => s.gpu);
  if (gpu.state === 'starting') return <section className="panel" aria-busy="true">Starting WebGPU…</section>;
  if (gpu.state === 'unavailable' || gpu.state === 'lost') {
    return (
      <section className="panel error" role="alert" data-testid="gpu-error">
        <h2>{gpu.state === 'lost' ? 'The GPU device was lost' : 'WebGPU is not available'}</h2>
        <p>{gpu.message}</p>
        <p>
          The lab needs WebGPU: Chrome or Edge 113 or newer with hardware acceleration on. On Linux, enable{' '}
          <code>chrome://flags/#enable-unsafe-webgpu</code> (and Vulkan), then reload.
        </p>
        <button onClick={() => void restartGpu()}>Try again</button>
      </section>
    );
  }
  const a = gpu.adapter;
  return (
    <section className="panel" data-testid="adapter">
      <h2>GPU</h2>
      <p className="adapter-name" data-testid="adapter-name">{describeAdapter(a)}</p>
      {isCpuAdapter(a) && (
        <p className="warning" data-testid="cpu-adapter">
          This is WebGPU running on the CPU (a software fallback). Scores and perplexities are exact, but
          everything is slow and speed figures say nothing about a GPU. To use the GPU, turn on hardware
          acceleration in the browser settings and check <code>chrome://gpu</code>.
        </p>
      )}
      <p className="features" aria-label="Optional WebGPU features">{['shader-f16', 'subgroups', 'timestamp-query'].map((f) => (
        <span key={f} className={a.features.includes(f) ? 'tag on' : 'tag off'}>{f}</span>
      ))}</p>
      <dl className="facts">
        {SHOWN_LIMITS.filter((l) => l in a.limits).map((l) => (
          <div key={l} className="fact"><dt>{l}</dt><dd>{formatLimit(l, a.limits[l]!)}</dd></div>
        ))}
      </dl>
    </section>
  );
}
