// @vitest-environment jsdom
/** The presentation view: both generations in one view with their tokens/s and the speedup between them; Escape closes it. */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PresentButton } from '../../src/ui/PresentationView';
import { useLab, type PaneState } from '../../src/ui/store';
import { resetStore } from './ui-fixtures';

afterEach(cleanup);
beforeEach(() => resetStore());

const pane = (text: string, tokPerS: number, plan: number[]): PaneState => ({ text, tokens: 40, tokPerS, running: false, plan });

describe('the presentation view', () => {
  it('shows the original and the pruned generation with their tokens/s and the speedup, and closes on Escape', () => {
    useLab.getState().updateRecord((r) => ({ ...r, generation: { prompt: 'In the beginning', original: pane(' God created', 50, [0, 1, 2]), pruned: pane(' the heaven', 65, [0, 2]) } }));
    render(<PresentButton />);
    expect(screen.queryByTestId('presentation')).toBeNull();
    fireEvent.click(screen.getByTestId('present'));
    expect(screen.getByTestId('present-original-text').textContent).toBe(' God created');
    expect(screen.getByTestId('present-pruned-text').textContent).toBe(' the heaven');
    expect(screen.getByTestId('present-pruned-rate').textContent).toMatch(/65/);
    expect(screen.getByTestId('present-speedup').textContent).toBe('1.30×');
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByTestId('presentation')).toBeNull();
  });

  it('shows no speedup while a pane is still generating', () => {
    useLab.getState().updateRecord((r) => ({ ...r, generation: { prompt: 'x', original: pane('a', 50, [0]), pruned: { ...pane('b', 60, [0]), running: true } } }));
    render(<PresentButton />);
    fireEvent.click(screen.getByTestId('present'));
    expect(screen.getByTestId('present-speedup').textContent).toBe('–');
  });
});
