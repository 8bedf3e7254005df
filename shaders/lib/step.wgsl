// The step buffer (src/kernels/common.ts StepBuffer) at binding 1: the position of the first token of
// this forward call, rewritten once per call so bind groups never change between decode steps.

struct Step {
  pos0: u32,
}

@group(0) @binding(1) var<uniform> step: Step;
