/** The pruned checkpoint of the loaded model's source, written to the host's export sink. */
import { exportPrunedCheckpoint } from '../../export/checkpoint';
import { exportSourceFromIndex } from '../../export/source';
import { inspectCheckpoint } from '../../io/checkpoint';
import type { LabJob } from './lab-job';

export const exportCheckpointJob: LabJob<'export-checkpoint'> = {
  plans: (r) => [r.kept],
  async run(lab, request, ctx) {
    const { source } = lab.loaded();
    const sink = lab.host.exportSink();
    await exportPrunedCheckpoint({
      source: await exportSourceFromIndex(await inspectCheckpoint(source, ctx.signal)),
      sink, kept: request.kept, toF16: request.toF16, ...(request.mask ? { mask: request.mask } : {}), signal: ctx.signal,
      onProgress: (p: { bytesDone: number; bytesTotal: number }) => ctx.progress({ done: p.bytesDone, total: p.bytesTotal, what: 'writing' }),
    });
    return { type: 'exported', files: sink.files().map((f) => ({ name: f.name, blob: f })) };
  },
};
