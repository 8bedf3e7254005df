/**
 * Text generation with one plan (and optionally LoRA adapters, unmerged), streamed token by token,
 * after a warm-up the first time a shape runs.
 */
import { generate } from '../../eval/generate';
import { checkCancelled } from '../../util/job';
import { heldAdapters } from '../held-adapters';
import type { LabEngine } from '../lab';
import type { DecodeAdapters } from '../../model/decode';
import type { GenerateRequest } from '../protocol';
import type { LabJob } from './lab-job';

export const generateJob: LabJob<'generate'> = {
  plans: (r) => [r.plan],
  async run(lab, request, ctx) {
    const { model, tokenizer } = lab.loaded();
    const prompt = tokenizer.encode(request.prompt);
    const adapters = request.adapter ? heldAdapters(model, request.adapter, request.plan).decode : undefined;
    const warmupMs = await warmUp(lab, prompt, request, ctx.signal, adapters);
    const stream = tokenizer.streamDecoder();
    const t0 = performance.now();
    const r = await generate(model, prompt, {
      plan: request.plan, adapters, maxNewTokens: request.maxNewTokens, sampling: request.sampling, seed: request.seed, eosIds: tokenizer.eosIds, signal: ctx.signal,
      onToken: (id, index) => {
        const text = stream.push(id);
        if (text) ctx.token?.(text, index, performance.now() - t0);
      },
    });
    const tail = stream.flush();
    if (tail) ctx.token?.(tail, r.ids.length - 1, performance.now() - t0);
    return { type: 'generated', text: stream.text, tokens: r.ids.length, promptTokens: r.promptTokens, prefillMs: r.prefillMs, decodeMs: r.decodeMs, warmupMs, stoppedBy: r.stoppedBy };
  },
};

/**
 * The first generation with a prompt length and a kind of token selection compiles its pipelines
 * and touches its buffers: that is done in an untimed two-token run first, so the tokens/s shown
 * side by side compare the models, not the shader compiler. Returns its milliseconds (0 if warm).
 */
async function warmUp(lab: LabEngine, prompt: number[], request: GenerateRequest, signal: AbortSignal, adapters?: DecodeAdapters): Promise<number> {
  const { model, warmed } = lab.loaded();
  const s = request.sampling;
  const key = `${prompt.length}:${s.temperature > 0 ? 'sampled' : 'greedy'}:${(s.repetitionPenalty ?? 1) !== 1 ? 'penalty' : ''}${adapters ? ':lora' : ''}`;
  if (warmed.has(key)) return 0;
  const t0 = performance.now();
  model.decoder(prompt.length + request.maxNewTokens); // sized for the real run, so it is not reallocated
  await generate(model, prompt, { plan: request.plan, adapters, maxNewTokens: Math.min(2, request.maxNewTokens), sampling: s, seed: request.seed, forceLength: true, signal });
  warmed.add(key);
  checkCancelled(signal); // a cancel during the warm-up ends the job before the timed run
  return performance.now() - t0;
}
