/** LoRA healing of a pruned plan on a text or .jsonl data: the adapters as a PEFT folder, the loss of every step, the held-out evaluations. */
import { healData } from '../../heal/data';
import { heal } from '../../heal/run';
import { sha256Hex } from '../../prune/calibration';
import type { LabJob } from './lab-job';

export const healJob: LabJob<'heal'> = {
  plans: (r) => [r.plan],
  async run(lab, request, ctx) {
    const { model, tokenizer, info } = lab.loaded();
    const { text, name } = await lab.text(request.text);
    const heldout = request.heldout ? { ...(await lab.text(request.heldout)), maxWindows: request.heldoutWindows ?? 32 } : undefined;
    const { data, description } = healData({ name, text }, tokenizer, request.settings, heldout);
    const s = request.settings;
    // epochs: passes over the training sequences, rounded up to whole optimizer steps.
    const settings = request.epochs ? { ...s, steps: Math.max(1, Math.ceil((request.epochs * data.train.length) / (s.batch * s.micro))) } : s;
    const r = await heal(model, data, request.plan, settings, {
      ...ctx.options, baseModel: info.name,
      ...(request.resume ? { resume: request.resume } : {}),
      ...(ctx.healState ? { onState: ctx.healState } : {}),
    });
    return {
      type: 'healed', losses: r.losses, steps: settings.steps, tokensPerS: r.tokensPerS, windows: r.windows, textSha256: await sha256Hex(text), textName: name,
      ...(r.heldout ? { heldout: r.heldout } : {}),
      evaluations: r.evaluations, trainSeconds: r.trainSeconds, data: description, ...(r.stopped ? { stopped: r.stopped } : {}),
      adapterConfig: r.adapter['adapter_config.json'], adapterSafetensors: r.adapter['adapter_model.safetensors'],
    };
  },
};
