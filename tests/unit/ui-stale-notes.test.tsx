// @vitest-environment jsdom
/** Messages on the page follow what the user did since: cancelled runs say so, stale errors and panes do not linger. */
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { textLabel } from '../../src/ui/format';
import { GeneratePanel } from '../../src/ui/GeneratePanel';
import { runGeneration, runPerplexity } from '../../src/ui/lab-actions';
import { ModelPanel } from '../../src/ui/ModelPanel';
import { EvaluatePanel } from '../../src/ui/EvaluatePanel';
import { useLab } from '../../src/ui/store';
import { resetStore } from './ui-fixtures';

// A worker whose every job is cancelled by the user.
vi.mock('../../src/browser/worker-client', () => {
  class EngineError extends Error {
    constructor(message: string, readonly kind: string) {
      super(message);
    }
  }
  return {
    EngineError,
    EngineClient: class {
      private next = 1;
      onEvent(): void {}
      cancel(): void {}
      init() {
        return Promise.resolve({ type: 'ready', adapter: { description: 'fake' } });
      }
      private cancelledJob() {
        return { id: this.next++, result: Promise.reject(new EngineError('cancelled', 'cancelled')) };
      }
      generate() {
        return this.cancelledJob();
      }
      perplexity() {
        return this.cancelledJob();
      }
    },
  };
});

afterEach(cleanup);
beforeEach(() => resetStore());

describe('stale and missing notes', () => {
  it('a cancelled generation says so in both panes, not a blank one', async () => {
    render(<GeneratePanel />);
    await act(() => runGeneration());
    expect(screen.getByTestId('gen-original').textContent).toMatch(/cancelled/);
    expect(screen.getByTestId('gen-pruned').textContent).toMatch(/not run: generation was cancelled/);
  });

  it('a cancelled evaluation leaves a note; changing the text clears a stale error', async () => {
    render(<EvaluatePanel />);
    await act(() => runPerplexity());
    expect(screen.getByTestId('error-ppl').textContent).toMatch(/cancelled: nothing new was measured/);
    act(() => useLab.getState().updateSettings({ evalText: { kind: 'inline', name: 'pasted text', text: 'x' } }));
    expect(screen.queryByTestId('error-ppl')).toBeNull();
    // Settings a job does not read leave its error alone.
    act(() => useLab.getState().setError('score', 'not enough text for 10 x 128'));
    act(() => useLab.getState().updateSettings({ prompt: 'other' }));
    expect(useLab.getState().errors.score).toBe('not enough text for 10 x 128');
    act(() => useLab.getState().updateSettings({ calibration: { kind: 'embedded' } }));
    expect(useLab.getState().errors.score).toBeUndefined();
  });

  it('the pruned pane says when it was generated for an earlier plan', () => {
    const plan = Array.from({ length: 13 }, (_, i) => i);
    act(() => useLab.getState().updateRecord((r) => ({ ...r, plan: { ...r.plan, removed: [13, 14, 15] }, generation: { prompt: 'p', original: null, pruned: { text: 't', tokens: 1, tokPerS: 1, running: false, plan } } })));
    render(<GeneratePanel />);
    expect(screen.queryByTestId('gen-pruned-note')).toBeNull();
    act(() => useLab.getState().toggleBlock(12));
    expect(screen.getByTestId('gen-pruned-note').textContent).toBe('Generated with 13 blocks; the current plan keeps 12: generate again to see it.');
    expect(screen.getByText('Pruned (an earlier plan)')).toBeTruthy();
  });

  it('after a failed load elsewhere, the Model panel names the model still loaded', () => {
    render(<ModelPanel />);
    expect(screen.queryByTestId('loaded-source')).toBeNull();
    act(() => screen.getByLabelText('Hugging Face Hub').click());
    expect(screen.getByTestId('loaded-source').textContent).toMatch(/Loaded now: the embedded model \(kjv-tiny-llama\)/);
  });

  it('texts are named as the page describes them, not by internal ids', () => {
    expect(textLabel('embedded:kjv-calib.txt')).toBe('the embedded KJV calibration split');
    expect(textLabel('embedded:kjv-heldout.txt')).toBe('the embedded KJV held-out split');
    expect(textLabel('my.txt')).toBe('my.txt');
  });
});
