// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/io/config';
import { memoryPlan } from '../../src/quant/memory-plan';
import { MemoryPlanTable } from '../../src/ui/ModelFacts';

afterEach(cleanup);

const llama7b = parseConfig({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 32, rms_norm_eps: 1e-6, vocab_size: 32000, max_position_embeddings: 2048,
  tie_word_embeddings: false, torch_dtype: 'float16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
});

describe('MemoryPlanTable', () => {
  it('marks the recommended format, disables those that do not fit with the reason, and picks a row', () => {
    const plan = memoryPlan(llama7b, { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 2 ** 31 }, { budgetBytes: 12 * 2 ** 30 });
    const onChoose = vi.fn();
    render(<MemoryPlanTable plan={plan} chosen="q8" onChoose={onChoose} />);
    expect(screen.getByTestId('memory-plan').querySelector('caption')!.textContent).toMatch(/8-bit \(q8\) recommended/);
    const f16 = within(screen.getByTestId('plan-float'));
    expect((f16.getByRole('radio') as HTMLInputElement).disabled).toBe(true);
    expect(f16.getByText(/over the .* budget/)).toBeTruthy();
    expect(within(screen.getByTestId('plan-q8')).getByText(/\(recommended\)/)).toBeTruthy();
    fireEvent.click(within(screen.getByTestId('plan-q4')).getByRole('radio'));
    expect(onChoose).toHaveBeenCalledWith('q4');
  });
});
