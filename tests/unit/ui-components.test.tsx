// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMask, serializeMask } from '../../src/prune/mask';
import { selectBlocks, SEED_PROTECTED } from '../../src/prune/select';
import { AdapterPanel } from '../../src/ui/AdapterPanel';
import { BlocksPanel } from '../../src/ui/BlocksPanel';
import { CriteriaPanel } from '../../src/ui/CriteriaPanel';
import { fmtRange } from '../../src/ui/format';
import { GenerationPane } from '../../src/ui/GenerationPane';
import { NumberField } from '../../src/ui/NumberField';
import { PruneControls } from '../../src/ui/PruneControls';
import { SpeedPanel } from '../../src/ui/SpeedPanel';
import { TextSourcePicker } from '../../src/ui/TextSourcePicker';
import { EvaluatePanel } from '../../src/ui/EvaluatePanel';
import { ExportPanel } from '../../src/ui/ExportPanel';
import { buildCurrentMask, importMaskText } from '../../src/ui/mask-actions';
import { currentRecord, useLab, type TextChoice } from '../../src/ui/store';
import { CALIBRATION, MODEL, PPL_SCORES, resetStore, result } from './ui-fixtures';

const removedInDom = () =>
  screen.getAllByRole('listitem').filter((li) => li.dataset.state === 'removed').map((li) => Number(li.dataset.testid!.replace('block-', '')));

afterEach(cleanup);

describe('BlocksPanel', () => {
  beforeEach(() => resetStore());

  it('draws one row per block with a bar per computed criterion and the raw value in its label', () => {
    render(<BlocksPanel />);
    const rows = within(screen.getByTestId('block-stack')).getAllByRole('listitem');
    expect(rows).toHaveLength(16);
    const bar = within(rows[8]!).getByLabelText(/^PPL: 35\.5 \(rank 1\)$/);
    expect(bar.getAttribute('data-score')).toBe('35.5');
    expect(within(rows[8]!).getAllByRole('img')).toHaveLength(2);
    expect(within(rows[0]!).getByText('protected')).toBeTruthy();
  });

  it('toggles a block with its button and undoes/redoes', () => {
    render(<BlocksPanel />);
    fireEvent.click(screen.getByRole('button', { name: /Block 6: kept/ }));
    expect(removedInDom()).toEqual([6]);
    expect(screen.getByTestId('removed-count').textContent).toBe('1');
    expect(screen.getByTestId('plan-criterion').textContent).toBe('manual');
    fireEvent.click(screen.getByTestId('undo'));
    expect(removedInDom()).toEqual([]);
    fireEvent.click(screen.getByTestId('redo'));
    expect(removedInDom()).toEqual([6]);
  });

  it('"Prune" by a ratio removes exactly what selectBlocks selects', () => {
    render(<BlocksPanel />);
    const button = screen.getByTestId('prune');
    expect(button.textContent).toBe('Prune 3 blocks');
    fireEvent.click(button);
    expect(removedInDom()).toEqual(selectBlocks(PPL_SCORES, 3, SEED_PROTECTED).removed);
    fireEvent.change(screen.getByTestId('prune-mode'), { target: { value: 'k' } });
    fireEvent.change(screen.getByTestId('prune-k'), { target: { value: '5' } });
    fireEvent.click(screen.getByTestId('prune'));
    expect(removedInDom()).toEqual(selectBlocks(PPL_SCORES, 5, SEED_PROTECTED).removed);
    expect(screen.getByTestId('plan').textContent).toContain(selectBlocks(PPL_SCORES, 5, SEED_PROTECTED).kept.join(', '));
  });
});

describe('mask export and import', () => {
  beforeEach(() => resetStore());

  it('builds a valid mask of the current plan and re-imports it', async () => {
    act(() => useLab.getState().pruneBy('taylor', 3));
    const mask = await buildCurrentMask();
    expect(mask.criterion.name).toBe('taylor');
    expect(mask.criterion.calibration?.num_samples).toBe(2);
    const text = serializeMask(mask);
    act(() => useLab.getState().applyPlan({ removed: [], criterion: 'manual', protect: [] }));
    expect(await importMaskText(text, 'm.json')).toBe(true);
    expect(currentRecord(useLab.getState()).plan.removed).toEqual(mask.removed);
  });

  it('records how many windows the perplexity used and how many the text holds; the page says when it was partial', async () => {
    act(() => useLab.getState().pruneBy('taylor', 3));
    const rec = currentRecord(useLab.getState());
    const full = Array.from({ length: 16 }, (_, i) => i).join(',');
    const current = Array.from({ length: 16 }, (_, i) => i).filter((b) => !rec.plan.removed.includes(b)).join(',');
    const r = (ppl: number) => ({ ppl, nll: Math.log(ppl), windows: 2, predictions: 254, windowsAvailable: 64 });
    act(() => useLab.getState().updateRecord((x) => ({ ...x, ppl: { key: 'k', window: 128, bos: 'first', maxWindows: 2, textSha256: 'ef'.repeat(32), textName: 'KJV held-out split', results: { [full]: r(40), [current]: r(44) } } })));
    const mask = await buildCurrentMask();
    expect(mask.metrics?.perplexity).toMatchObject({ windows: 2, windows_available: 64, before: 40, after: 44 });
    render(<EvaluatePanel />);
    expect(screen.getByTestId('ppl-table').textContent).toMatch(/2 of 64 windows .* a partial measurement/);
    expect(screen.getByLabelText('Max windows (0 = all 64)')).toBeTruthy();
    // With the last run's rate, "0 = all" says what it costs: 64 windows x (16 + 13 blocks) x 10 ms.
    act(() => useLab.getState().updateRecord((x) => ({ ...x, ppl: { ...x.ppl!, secondsPerBlockWindow: 0.01 } })));
    expect(screen.getByLabelText('Max windows (0 = all 64, about 19 s)')).toBeTruthy();
  });

  it('writes a hand-edited plan as "manual"', async () => {
    act(() => useLab.getState().pruneBy('ppl', 3));
    act(() => useLab.getState().toggleBlock(0));
    const mask = await buildCurrentMask();
    expect(mask.criterion.name).toBe('manual');
    expect(mask.criterion.protected_blocks).not.toContain(0);
  });

  it('writes a plan as "manual" once its criterion was scored again and ranks other blocks first', async () => {
    act(() => useLab.getState().pruneBy('ppl', 3));
    expect((await buildCurrentMask()).criterion.name).toBe('ppl');
    const rescored = PPL_SCORES.map((v, i) => (i === 12 ? 30 : v)); // block 12 now the least important
    act(() => useLab.getState().mergeScores({ ...CALIBRATION, seed: 99 }, [result('ppl', rescored)]));
    const mask = await buildCurrentMask(); // valid (buildMask checks), rather than an error
    expect(mask.criterion.name).toBe('manual');
    expect(mask.removed).toEqual(currentRecord(useLab.getState()).plan.removed);
  });

  it('writes a contiguous angular run as "angular", a valid mask', async () => {
    const single = Array.from({ length: 16 }, (_, l) => 0.2 + l / 100);
    const pairs = Array.from({ length: 15 }, (_, l) => (l === 9 ? 0.05 : 0.4)); // blocks 9, 10 together
    act(() => useLab.getState().mergeScores(CALIBRATION, [{ ...result('angular', single), detail: { windows: [single, pairs] } }]));
    act(() => useLab.getState().pruneBy('angular', 2));
    const mask = await buildCurrentMask();
    expect(mask.removed).toEqual([9, 10]);
    expect(mask.criterion.name).toBe('angular');
  });

  it('shows every issue of a bad mask and changes nothing', async () => {
    render(<ExportPanel />);
    act(() => useLab.getState().pruneBy('ppl', 3));
    const before = currentRecord(useLab.getState());
    const good = buildMask({
      model: { source: MODEL.source, architecture: MODEL.architecture, num_hidden_layers: 16, fingerprint: MODEL.fingerprint },
      criterion: { name: 'ppl', calibration: CALIBRATION, protected_blocks: [0, 1, 2, 3, 14, 15] },
      scores: { ppl: PPL_SCORES },
      removed: [7, 8, 9],
    });
    const bad = { ...JSON.parse(serializeMask(good)), kept: good.kept.slice(1), extra: 1 };
    const input = screen.getByTestId('import-mask') as HTMLInputElement;
    fireEvent.change(input, { target: { files: [new File([JSON.stringify(bad)], 'bad.json', { type: 'application/json' })] } });
    await waitFor(() => expect(screen.getByTestId('mask-issues')).toBeTruthy());
    const issues = within(screen.getByTestId('mask-issues')).getAllByRole('listitem').map((li) => li.textContent);
    expect(issues.some((i) => /extra/.test(i!))).toBe(true);
    expect(screen.getByTestId('mask-message').textContent).toMatch(/bad\.json: invalid pruning mask\. Nothing was changed/);
    expect(currentRecord(useLab.getState())).toBe(before);

    // A mask of another model: refused with the model mismatch.
    const other = serializeMask({ ...good, model: { ...good.model, fingerprint: 'ef'.repeat(32) } });
    expect(await importMaskText(other, 'other.json')).toBe(false);
    await waitFor(() => expect(screen.getByTestId('mask-message').textContent).toMatch(/does not fit the loaded model/));
    expect(screen.getByTestId('mask-issues').textContent).toMatch(/fingerprint/);
    expect(currentRecord(useLab.getState())).toBe(before);

    // Not JSON at all.
    expect(await importMaskText('{nope', 'x.json')).toBe(false);
    await waitFor(() => expect(screen.getByTestId('mask-issues').textContent).toMatch(/not valid JSON/));
    expect(currentRecord(useLab.getState())).toBe(before);
  });
});

describe('small components', () => {
  it('GenerationPane shows the prompt, the streamed text and tok/s with one decimal', () => {
    render(<GenerationPane title="Original" prompt="In the beginning" pane={{ text: ' God created', tokens: 3, tokPerS: 12.345, running: false, plan: [0, 1, 2] }} testId="gen-original" />);
    expect(screen.getByTestId('gen-original-text').textContent).toBe(' God created');
    expect(screen.getByTestId('gen-original-rate').textContent).toBe('12.3 tok/s');
    expect(screen.getByText('In the beginning')).toBeTruthy();
    expect(screen.queryByTestId('gen-original-warmup')).toBeNull();
    cleanup();
    render(<GenerationPane title="Original" prompt="x" pane={{ text: 'y', tokens: 1, tokPerS: 9, warmupMs: 1234, running: false, plan: [0] }} testId="gen-original" />);
    expect(screen.getByTestId('gen-original-warmup').textContent).toContain('warm-up 1.2 s');
  });

  it('NumberField reports only whole numbers in range; invalid text stays marked after blur, with what is expected', () => {
    const got: number[] = [];
    const problems: (string | null)[] = [];
    render(<NumberField label="Runs" value={3} min={1} max={50} onChange={(v) => got.push(v)} onProblem={(p) => problems.push(p)} testId="runs" />);
    const input = screen.getByTestId('runs') as HTMLInputElement;
    for (const text of ['0', '2.5', '51', '7']) fireEvent.change(input, { target: { value: text } });
    expect(got).toEqual([7]);
    fireEvent.change(input, { target: { value: '0' } });
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.title).toBe('Runs: a whole number from 1 to 50');
    fireEvent.blur(input);
    // Not silently replaced by the old value: still shown, still marked, the reason beside it.
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.value).toBe('0');
    expect(screen.getByTestId('runs-problem').textContent).toBe('a whole number from 1 to 50');
    expect(problems.at(-1)).toBe('Runs: a whole number from 1 to 50');
    fireEvent.change(input, { target: { value: '4' } });
    expect(problems.at(-1)).toBeNull();
    expect(got).toEqual([7, 4]);
  });

  it('an invalid number field or an empty pasted text disables Compute scores and says why', () => {
    resetStore();
    render(<CriteriaPanel />);
    const run = () => screen.getByTestId('run-scoring') as HTMLButtonElement;
    expect(run().disabled).toBe(false);
    fireEvent.change(screen.getByTestId('cal-n'), { target: { value: '0' } });
    fireEvent.blur(screen.getByTestId('cal-n'));
    expect(run().disabled).toBe(true);
    expect(screen.getByTestId('score-blocked').textContent).toBe('Fix N samples: a whole number from 1 to 256.');
    fireEvent.change(screen.getByTestId('cal-n'), { target: { value: '4' } });
    expect(run().disabled).toBe(false);
    expect(useLab.getState().settings.n).toBe(4);
    act(() => useLab.getState().updateSettings({ calibration: { kind: 'inline', name: 'pasted text', text: '  ' } }));
    expect(run().disabled).toBe(true);
    expect(screen.getByTestId('score-blocked').textContent).toMatch(/calibration text is empty/);
  });

  it('speed ranges read slowest-fastest run, and nothing for one run or results saved without runs', () => {
    expect(fmtRange([12.34, 9.87, 11])).toBe('9.9–12.3');
    expect(fmtRange([5])).toBe('');
    expect(fmtRange(undefined)).toBe('');
  });

  it('TextSourcePicker turns an uploaded .jsonl into blank-line-separated documents', async () => {
    let value: TextChoice = { kind: 'embedded' };
    const { rerender } = render(<TextSourcePicker legend="Calibration text" embeddedLabel="embedded" value={value} onChange={(v) => (value = v)} />);
    fireEvent.click(screen.getByLabelText(/uploaded/));
    rerender(<TextSourcePicker legend="Calibration text" embeddedLabel="embedded" value={value} onChange={(v) => (value = v)} />);
    const file = new File(['{"text": "first doc"}\n{"text": "second doc"}\n'], 'cal.jsonl');
    fireEvent.change(screen.getByLabelText('Calibration text: upload a file'), { target: { files: [file] } });
    await waitFor(() => expect(value).toEqual({ kind: 'inline', name: 'cal.jsonl', text: 'first doc\n\nsecond doc' }));
  });

  it('TextSourcePicker shows the choice its value holds, and "uploaded" without a file is an empty text', () => {
    const picker = (value: TextChoice, onChange: (v: TextChoice) => void = () => {}) =>
      <TextSourcePicker legend="Calibration text" embeddedLabel="embedded" value={value} onChange={onChange} />;
    const { rerender } = render(picker({ kind: 'embedded' }));
    // Settings restored after the first render (IndexedDB): the radio follows.
    rerender(picker({ kind: 'inline', name: 'pasted text', text: 'In the beginning' }));
    expect((screen.getByLabelText('pasted') as HTMLInputElement).checked).toBe(true);
    let next: TextChoice | undefined;
    rerender(picker({ kind: 'inline', name: 'pasted text', text: 'In the beginning' }, (v) => (next = v)));
    fireEvent.click(screen.getByLabelText(/uploaded/));
    expect(next).toEqual({ kind: 'inline', name: '', text: '' });
  });

  it('protected entries outside the model are named, not dropped silently; a protected block removed by hand is noted', () => {
    resetStore();
    act(() => useLab.getState().updateSettings({ protectText: '0,1,99,-20' }));
    render(<CriteriaPanel />);
    expect(screen.getByTestId('protect-out-of-range').textContent).toMatch(/Ignored: 99, -20 — this model has 16 blocks \(0 to 15, or -16 to -1/);
    cleanup();
    render(<BlocksPanel />);
    expect(screen.queryByTestId('protected-removed')).toBeNull();
    expect(screen.getByTestId('rank-caption').textContent).toMatch(/1 = least important/);
    act(() => useLab.getState().toggleBlock(1));
    expect(screen.getByTestId('protected-removed').textContent).toMatch(/Protected block 1 removed by hand/);
  });

  it('a bad protected set is reported next to its field', () => {
    resetStore();
    act(() => useLab.getState().updateSettings({ protectText: '0,1,x' }));
    render(<CriteriaPanel />);
    expect(screen.getByRole('alert').textContent).toMatch(/"x" is not a block index/);
    expect((screen.getByTestId('run-scoring') as HTMLButtonElement).disabled).toBe(true);
    // Pruning and the benchmark's sweep wait for it too, rather than use the default set silently.
    cleanup();
    render(<><PruneControls /><SpeedPanel /></>);
    expect((screen.getByTestId('prune') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('prune-protect-error').textContent).toMatch(/"x" is not a block index/);
    expect((screen.getByTestId('run-benchmark') as HTMLButtonElement).disabled).toBe(true);
    act(() => useLab.getState().updateSettings({ protectText: '0,1' }));
    expect((screen.getByTestId('prune') as HTMLButtonElement).disabled).toBe(false);
    expect((screen.getByTestId('run-benchmark') as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('AdapterPanel', () => {
  const adapter = (description: string, isFallbackAdapter: boolean) => ({
    vendor: 'google', architecture: '', device: '', description, isFallbackAdapter, features: [], limits: {},
    hasF16: false, hasSubgroups: false, hasTimestamps: false,
  });

  it('says when WebGPU runs on the CPU, and not on a GPU', () => {
    useLab.getState().setGpu({ state: 'ready', adapter: adapter('SwiftShader driver 5.0.0', true) });
    render(<AdapterPanel />);
    expect(screen.getByTestId('cpu-adapter').textContent).toMatch(/on the CPU/);
    cleanup();
    useLab.getState().setGpu({ state: 'ready', adapter: adapter('NVIDIA H200', false) });
    render(<AdapterPanel />);
    expect(screen.queryByTestId('cpu-adapter')).toBeNull();
  });
  it('the Speed panel flags its own figures as noise on a software adapter only', () => {
    resetStore();
    useLab.getState().setGpu({ state: 'ready', adapter: adapter('SwiftShader driver 5.0.0', true) });
    render(<SpeedPanel />);
    expect(screen.getByTestId('speed-software').textContent).toMatch(/software adapter/);
    cleanup();
    useLab.getState().setGpu({ state: 'ready', adapter: adapter('NVIDIA H200', false) });
    render(<SpeedPanel />);
    expect(screen.queryByTestId('speed-software')).toBeNull();
  });
});

describe('Export panel and Criteria notes', () => {
  beforeEach(() => resetStore());

  it('shows the llama.cpp command for the current plan, and no F16 conversion for an F16 model', () => {
    render(<ExportPanel />);
    expect(screen.queryByTestId('llama-cpp')).toBeNull();
    expect(screen.getByTestId('to-f16')).toBeTruthy(); // dtype unknown (older saved state): offered
    act(() => useLab.getState().pruneBy('ppl', 3));
    const removed = currentRecord(useLab.getState()).plan.removed;
    expect(screen.getByTestId('llama-cpp-command').textContent).toBe(`llama-quantize --prune-layers ${removed.join(',')} model.gguf model-pruned.gguf <type>`);
    act(() => useLab.setState({ model: { ...useLab.getState().model!, weightDtypes: ['F16'] } }));
    expect(screen.queryByTestId('to-f16')).toBeNull();
    expect(screen.getByTestId('already-f16')).toBeTruthy();
    act(() => useLab.setState({ model: { ...useLab.getState().model!, weightDtypes: ['BF16'] } }));
    expect(screen.getByTestId('to-f16')).toBeTruthy();
  });

  it('warns when calibration samples or evaluation windows are longer than the model\'s context', () => {
    act(() => useLab.setState({ model: { ...useLab.getState().model!, maxPositionEmbeddings: 64 } }));
    render(<><CriteriaPanel /><EvaluatePanel /></>);
    expect(screen.getByTestId('calibration-context').textContent).toMatch(/T = 128 tokens is more than this model's max_position_embeddings \(64\)/);
    expect(screen.getByTestId('eval-context').textContent).toMatch(/window of 128 tokens/);
    act(() => useLab.getState().updateSettings({ t: 64, evalWindow: 32 }));
    expect(screen.queryByTestId('calibration-context')).toBeNull();
    expect(screen.queryByTestId('eval-context')).toBeNull();
  });

  it('says that iterative PPL takes its k from the Blocks panel', () => {
    act(() => useLab.getState().updateSettings({ criteria: ['iterative-ppl'], pruneMode: 'k', pruneK: 5 }));
    render(<CriteriaPanel />);
    expect(screen.getByTestId('iterative-k').textContent).toMatch(/removes k = 5 blocks, the amount set in the Blocks panel/);
  });
});
