// Loads Dawn's WebGPU globals (GPUBufferUsage, GPUMapMode, ...) before any test module runs.
import '../src/node/dawn';
