// @vitest-environment jsdom
/**
 * The Heal panel without a GPU: the embedded preset is the engine's HEAL_DEFAULTS and the seed preset
 * the seed's recipe; a run that was training when the page went away comes back paused and offers to
 * resume at its next step; the run's status line and held-out PPL; healing needs a pruned plan.
 */
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HEAL_DEFAULTS } from '../../src/heal/run';
import { HealPanel } from '../../src/ui/HealPanel';
import { EMBEDDED_HEAL, SEED_HEAL } from '../../src/ui/heal-presets';
import { emptyRecord, settledRecords, useLab, type HealRecord } from '../../src/ui/store';
import { MODEL, resetStore } from './ui-fixtures';

afterEach(cleanup);

const run = (patch: Partial<HealRecord> = {}): HealRecord => ({
  runId: 'r1', plan: [0, 1, 2, 4], settings: HEAL_DEFAULTS, epochs: 0, text: { kind: 'embedded' }, heldout: { kind: 'embedded' }, heldoutWindows: 8,
  status: 'running', step: 7, total: 50, losses: [5, 4.8, 4.6, 4.5, 4.4, 4.3, 4.25], ppl: [{ step: 0, ppl: 80.5 }], ...patch,
});

describe('Heal panel', () => {
  beforeEach(() => resetStore(false));

  it('presets: the engine defaults for the embedded model, the seed recipe', () => {
    const { epochs: _e, heldoutWindows: _h, ...embedded } = EMBEDDED_HEAL;
    expect(embedded).toEqual(HEAL_DEFAULTS);
    expect(SEED_HEAL).toMatchObject({ r: 8, alpha: 16, dropout: 0.05, lr: 1e-4, warmupSteps: 100, batch: 4, micro: 16, window: 256, epochs: 2 });
    render(<HealPanel />);
    fireEvent.click(screen.getByTestId('heal-preset-seed'));
    expect(useLab.getState().settings.heal).toMatchObject({ ...SEED_HEAL, text: { kind: 'embedded' } });
    expect(screen.getByText(/Effective batch 64 sequences of 256 tokens/)).toBeTruthy();
    fireEvent.click(screen.getByTestId('heal-preset-embedded'));
    expect(useLab.getState().settings.heal).toMatchObject(EMBEDDED_HEAL);
  });

  it('needs a pruned plan', () => {
    render(<HealPanel />);
    expect((screen.getByTestId('heal-start') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('heal-blocked').textContent).toMatch(/Remove some blocks first/);
    act(() => useLab.getState().toggleBlock(3));
    expect((screen.getByTestId('heal-start') as HTMLButtonElement).disabled).toBe(false);
  });

  it('a run interrupted by a reload comes back paused, with its curve, and offers to resume', () => {
    const records = settledRecords({ [MODEL.fingerprint]: { ...emptyRecord(), heal: run() } });
    expect(records[MODEL.fingerprint]!.heal!.status).toBe('paused');
    useLab.setState({ records });
    render(<HealPanel />);
    expect(screen.getByTestId('heal-status').textContent).toMatch(/^Paused · step 7 of 50 · loss 4\.2500 · 4 blocks$/);
    expect(screen.getByTestId('heal-resume').textContent).toBe('Resume at step 8');
    expect(screen.getByTestId('heal-ppl').textContent).toBe('Held-out PPL: pruned 80.50');
    expect(screen.getByTestId('heal-message').textContent).toMatch(/interrupted/);
    expect(screen.getByTestId('heal-download')).toBeTruthy();
  });

  it('a failed run (device lost, non-finite loss) says why and can be resumed from its last good step', () => {
    useLab.setState({ records: { [MODEL.fingerprint]: { ...emptyRecord(), heal: run({ status: 'failed', message: 'healing stopped: the loss at optimizer step 8 is NaN' }) } } });
    render(<HealPanel />);
    expect(screen.getByTestId('heal-message').textContent).toMatch(/step 8 is NaN/);
    expect(screen.getByTestId('heal-resume').textContent).toBe('Resume at step 8');
  });
});
