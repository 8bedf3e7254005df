/** LoRA healing of a pruned plan on a text: the adapters as a PEFT folder and the loss of every step. */
import { heal } from '../../heal/run';
import { sha256Hex } from '../../prune/calibration';
import type { LabJob } from './lab-job';

export const healJob: LabJob<'heal'> = {
  plans: (r) => [r.plan],
  async run(lab, request, ctx) {
    const { model, tokenizer, info } = lab.loaded();
    const { text, name } = await lab.text(request.text);
    const heldout = request.heldout ? tokenizer.encode((await lab.text(request.heldout)).text) : undefined;
    const stream = tokenizer.encode(text);
    const s = request.settings;
    const settings = request.epochs ? { ...s, steps: Math.max(1, Math.ceil((request.epochs * Math.floor(stream.length / s.window)) / (s.batch * s.micro))) } : s;
    const r = await heal(model, stream, request.plan, settings, {
      ...ctx.options, baseModel: info.name, bosId: tokenizer.bosId ?? 1,
      ...(heldout ? { heldout, heldoutWindows: request.heldoutWindows } : {}),
      ...(request.resume ? { resume: request.resume } : {}),
      ...(ctx.healState ? { onState: ctx.healState } : {}),
    });
    return {
      type: 'healed', losses: r.losses, steps: settings.steps, tokensPerS: r.tokensPerS, windows: r.windows, textSha256: await sha256Hex(text), textName: name,
      ...(r.heldout ? { heldout: r.heldout } : {}),
      adapterConfig: r.adapter['adapter_config.json'], adapterSafetensors: r.adapter['adapter_model.safetensors'],
    };
  },
};
