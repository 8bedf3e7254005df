// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CriteriaPanel } from '../../src/ui/CriteriaPanel';
import { currentRecord, useLab } from '../../src/ui/store';
import { CALIBRATION, PPL_SCORES, resetStore, result, TAYLOR_SCORES } from './ui-fixtures';

// jsdom has no IndexedDB: the button's store is replaced by spies.
const { clear, count } = vi.hoisted(() => ({ clear: vi.fn<() => Promise<void>>(), count: vi.fn<() => Promise<number>>() }));
vi.mock('../../src/browser/score-cache-idb', () => ({ idbScoreStore: () => ({ get: vi.fn(), set: vi.fn(), clear, count }) }));

afterEach(cleanup);

describe('score cache in the UI', () => {
  beforeEach(() => {
    resetStore(false);
    clear.mockReset();
    count.mockReset().mockResolvedValue(3);
  });

  it('marks a cached result as cached and keeps its original compute time', () => {
    act(() => useLab.getState().mergeScores(CALIBRATION, [{ ...result('ppl', PPL_SCORES), seconds: 42.25, cached: true }, { ...result('taylor', TAYLOR_SCORES), cached: false }]));
    expect(currentRecord(useLab.getState()).scores?.results.ppl?.cached).toBe(true);
    render(<CriteriaPanel />);
    const ppl = screen.getByTestId('done-ppl');
    expect(ppl.textContent).toBe(' ✓ cached');
    expect(ppl.getAttribute('title')).toBe('from the score cache (computed in 42.3 s)');
    const taylor = screen.getByTestId('done-taylor');
    expect(taylor.textContent).toBe(' ✓');
    expect(taylor.getAttribute('title')).toBe('computed in 1.0 s');
  });

  it('shows how many results are cached and clears them; a failure is reported, not thrown', async () => {
    clear.mockRejectedValueOnce(new Error('blocked')).mockResolvedValueOnce(undefined);
    render(<CriteriaPanel />);
    await waitFor(() => expect(screen.getByTestId('score-cache-size').textContent).toBe('3 cached results'));
    const button = screen.getByTestId('clear-score-cache') as HTMLButtonElement;
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Could not clear the score cache: blocked'));
    expect(screen.getByTestId('score-cache-size').textContent).toBe('3 cached results');
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByTestId('score-cache-size').textContent).toBe('0 cached results'));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(button.disabled).toBe(true);
    expect(clear).toHaveBeenCalledTimes(2);
  });

  it('is not offered while a job runs, and counts again when it ends', async () => {
    act(() => useLab.getState().setJob('score', { id: 1, done: 0, total: 1, what: 'ppl', startedAt: 0 }));
    render(<CriteriaPanel />);
    expect((screen.getByTestId('clear-score-cache') as HTMLButtonElement).disabled).toBe(true);
    expect(count).not.toHaveBeenCalled();
    count.mockResolvedValue(5);
    act(() => useLab.getState().setJob('score', undefined));
    await waitFor(() => expect(screen.getByTestId('score-cache-size').textContent).toBe('5 cached results'));
  });
});
