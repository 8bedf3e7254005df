// @vitest-environment jsdom
/** The Speed panel's format comparison: formats that do not fit are disabled with the reason, the run takes the chosen ones that fit, the table's ratios. */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FormatComparison } from '../../src/eval/format-comparison';
import type { SpeedResult } from '../../src/eval/speed';
import { SpeedPanel } from '../../src/ui/SpeedPanel';
import { useLab } from '../../src/ui/store';
import { MODEL, resetStore } from './ui-fixtures';

const actions = vi.hoisted(() => ({
  comparisonFits: vi.fn(async () => [
    { format: 'float', weights: 8e6, needs: 16e6, fits: true },
    { format: 'q8', weights: 0, needs: 5e6, fits: true, loaded: true },
    { format: 'q4', weights: 4e6, needs: 9e9, fits: false, reason: 'needs 8.38 GiB beside the loaded model\'s 0.00 GiB, over the 8.00 GiB budget' },
  ]),
  runFormatComparison: vi.fn(async () => {}),
}));
vi.mock('../../src/ui/format-actions', () => actions);

const speed = (decode: number, bytes: number, blocks: number): SpeedResult => ({
  plan: [], blocks, prefillTokensPerS: 100, decodeTokensPerS: decode, timing: 'wall clock', wall: { prefillTokensPerS: 100, decodeTokensPerS: decode },
  tokensPerS: decode, msPerDecodeToken: 1000 / decode, decodeRunsTokensPerS: [decode], hostMsPerDecodeToken: 1, dispatchesPerDecodeStep: 100, hostUsPerDispatch: 10,
  weightBytesPerToken: bytes, adapter: 'test adapter', options: { promptTokens: 4, newTokens: 3, warmup: 0, runs: 1 },
});

afterEach(cleanup);
beforeEach(() => {
  resetStore();
  useLab.setState({ model: { ...MODEL, weightFormat: 'q8' } });
  useLab.getState().setGpu({ state: 'ready', adapter: { vendor: 'nvidia', architecture: '', device: '', description: 'GPU', isFallbackAdapter: false, features: [], limits: {}, hasF16: false, hasSubgroups: false, hasTimestamps: false } });
});

describe('Speed panel: comparing weight formats', () => {
  it('disables a format that does not fit beside the loaded model, with the reason, and compares the others', async () => {
    render(<SpeedPanel />);
    const q4 = screen.getByTestId('compare-q4') as HTMLInputElement;
    await waitFor(() => expect(q4.disabled).toBe(true));
    expect(q4.checked).toBe(false);
    expect(screen.getByTestId('format-comparison').textContent).toMatch(/does not fit: needs 8\.38 GiB beside the loaded model/);
    expect(screen.getByTestId('format-comparison').textContent).toMatch(/8-bit \(q8\) \(loaded\)/);
    fireEvent.click(screen.getByTestId('compare-float'));
    expect(useLab.getState().settings.compareFormats).toEqual(['q8', 'q4']);
    fireEvent.click(screen.getByTestId('run-compare-formats'));
    expect(actions.runFormatComparison).toHaveBeenCalledWith(['q8']);
  });

  it('shows per format full and pruned speed, bytes, and decode speed against float\'s byte ratio', () => {
    const c: FormatComparison = {
      plans: [[0, 1, 2], [0, 2]], options: { promptTokens: 4, newTokens: 3, warmup: 0, runs: 1 }, embeddings: false,
      formats: [
        { format: 'float', loaded: false, bytesOnGpu: 8e6, results: [speed(10, 6e6, 3), speed(14, 4e6, 2)] },
        { format: 'q8', loaded: true, bytesOnGpu: 5e6, results: [speed(15, 3e6, 3), speed(20, 2e6, 2)] },
        { format: 'q4', loaded: false, bytesOnGpu: 0, results: [], error: 'out of memory' },
      ],
    };
    useLab.getState().updateRecord((r) => ({ ...r, formats: c }));
    render(<SpeedPanel />);
    const table = screen.getByTestId('compare-table');
    // q8: 1.5x float's decode for 2x fewer bytes: 0.75 of its byte ratio on the original plan; pruned: (20 / 14) / 2.
    expect(screen.getByTestId('of-bytes-q8').textContent).toBe(`0.75 / ${(20 / 14 / 2).toFixed(2)}`);
    expect(screen.getByTestId('of-bytes-float').textContent).toBe('1.00 / 1.00');
    expect(within(screen.getByTestId('compare-row-q8')).getByText('1.33× (ideal 1.50×)')).toBeTruthy();
    expect(within(screen.getByTestId('compare-row-q4')).getByText(/not measured: out of memory/)).toBeTruthy();
    expect(table.querySelectorAll('tbody tr')).toHaveLength(3);
  });
});
