import { resolveIncludes } from './wgsl-include';

/**
 * Compute pipelines cached by shader source, entry point and override constants: each
 * specialization is compiled once per device, whatever the number of dispatches. Shader text
 * goes through the WGSL include resolver (wgsl-include.ts) once per module.
 */
export type Constants = Record<string, number | boolean>;

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(readonly device: GPUDevice) {}

  get(shader: { name: string; code: string }, entryPoint: string, constants: Constants = {}): GPUComputePipeline {
    const key = `${shader.name}:${entryPoint}:${JSON.stringify(sortedEntries(constants))}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(shader), entryPoint, constants: numeric(constants) },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private module(shader: { name: string; code: string }): GPUShaderModule {
    let module = this.modules.get(shader.name);
    if (!module) {
      module = this.device.createShaderModule({ label: shader.name, code: resolveIncludes(shader.name, shader.code) });
      this.modules.set(shader.name, module);
    }
    return module;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

function sortedEntries(c: Constants): [string, number | boolean][] {
  return Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** WGSL override constants are passed as numbers; booleans become 0/1. */
function numeric(c: Constants): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) out[k] = typeof v === 'boolean' ? Number(v) : v;
  return out;
}
