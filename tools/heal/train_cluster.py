#!/usr/bin/env python3
"""Run a lab healing recipe (heal-recipe.json, written by `depth-pruning-lab heal`) on a GPU cluster:
LoRA on the exported pruned checkpoint with transformers' Trainer and PEFT, the data formatted as
the lab formats it (src/heal/data.ts): .jsonl rows with "text", or "instruction"/"input"/"output"
in the Alpaca template with the prompt's tokens masked out of the loss (labels -100), cut at
cutoff_len, EOS appended when it fits; plain text cut into cutoff_len-token windows.

    torchrun --nproc_per_node 8 tools/heal/train_cluster.py --recipe adapter/heal-recipe.json \\
        --model pruned/ --data alpaca_cleaned.jsonl --output-dir healed/ --num-train-epochs 2
    accelerate launch tools/heal/train_cluster.py ...   (the same arguments)

The Trainer splits the batch over the processes (per_device_train_batch_size each). The adapter is
saved as a PEFT folder in --output-dir (PeftModel.from_pretrained loads it; tools/heal/lora_logits.py
merges it). Needs torch, transformers and peft; --print-args prints the LoraConfig and
TrainingArguments keyword arguments as JSON without importing them.
"""
import argparse
import json
import os
import random
import sys

RECIPE_FORMAT = 'depth-pruning-lab/heal-recipe'
RECIPE_VERSION = 1
LORA_KEYS = ('r', 'lora_alpha', 'lora_dropout', 'target_modules', 'bias', 'task_type')
TRAINING_KEYS = (
    'learning_rate', 'warmup_steps', 'lr_scheduler_type', 'per_device_train_batch_size', 'gradient_accumulation_steps',
    'max_steps', 'optim', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'weight_decay', 'seed', 'eval_strategy', 'eval_steps',
    'save_strategy', 'save_steps', 'load_best_model_at_end', 'metric_for_best_model', 'logging_steps',
)
DATA_KEYS = ('description', 'text_sha256', 'format', 'cutoff_len', 'prompt_template', 'train_on_inputs', 'add_eos_token', 'val_set_size')
# tloen/alpaca-lora templates/alpaca.json, as src/heal/data.ts
PROMPT_INPUT = ('Below is an instruction that describes a task, paired with an input that provides further context. '
                'Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n')
PROMPT_NO_INPUT = ('Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n'
                   '### Instruction:\n{instruction}\n\n### Response:\n')


class RecipeError(ValueError):
    pass


def load_recipe(path):
    """The recipe at path, checked for the fields this script maps."""
    try:
        with open(path, encoding='utf-8') as f:
            recipe = json.load(f)
    except (OSError, ValueError) as e:
        raise RecipeError(f'{path}: cannot read the recipe ({e})')
    if not isinstance(recipe, dict) or recipe.get('format') != RECIPE_FORMAT:
        raise RecipeError(f'{path}: not a depth-pruning-lab heal recipe')
    if recipe.get('version') != RECIPE_VERSION:
        raise RecipeError(f'{path}: unsupported recipe version {recipe.get("version")!r} (this script reads {RECIPE_VERSION})')
    for section, keys in (('lora_config', LORA_KEYS), ('training_arguments', TRAINING_KEYS), ('data', DATA_KEYS)):
        part = recipe.get(section)
        if not isinstance(part, dict):
            raise RecipeError(f'{path}: no "{section}" object')
        missing = [k for k in keys if k not in part]
        if missing:
            raise RecipeError(f'{path}: {section} lacks {", ".join(missing)}')
    return recipe


def parse_args(argv):
    p = argparse.ArgumentParser(description='LoRA healing of a pruned checkpoint from a depth-pruning-lab recipe (transformers + PEFT).')
    p.add_argument('--recipe', required=True, help='heal-recipe.json written by `depth-pruning-lab heal`')
    p.add_argument('--model', required=True, help='the pruned checkpoint folder (HF layout)')
    p.add_argument('--data', required=True, help='.jsonl (text or instruction/input/output rows) or plain text')
    p.add_argument('--output-dir', required=True, help='where the adapter and the Trainer checkpoints go')
    steps = p.add_mutually_exclusive_group()
    steps.add_argument('--max-steps', type=int, help="override the recipe's max_steps")
    steps.add_argument('--num-train-epochs', type=float, help='train for epochs instead of max_steps (the seed: 2)')
    p.add_argument('--learning-rate', type=float)
    p.add_argument('--warmup-steps', type=int)
    p.add_argument('--per-device-train-batch-size', type=int)
    p.add_argument('--gradient-accumulation-steps', type=int)
    p.add_argument('--eval-steps', type=int)
    p.add_argument('--val-set-size', type=int, help='.jsonl rows held out (default: the recipe\'s)')
    p.add_argument('--cutoff-len', type=int)
    precision = p.add_mutually_exclusive_group()
    precision.add_argument('--bf16', action='store_true')
    precision.add_argument('--fp16', action='store_true')
    p.add_argument('--print-args', action='store_true', help='print the LoraConfig and TrainingArguments kwargs as JSON and exit')
    args = p.parse_args(argv)
    for name in ('max_steps', 'num_train_epochs', 'learning_rate', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'eval_steps', 'cutoff_len'):
        v = getattr(args, name)
        if v is not None and not v > 0:
            p.error(f'--{name.replace("_", "-")} must be positive, got {v}')
    for name in ('warmup_steps', 'val_set_size'):
        v = getattr(args, name)
        if v is not None and v < 0:
            p.error(f'--{name.replace("_", "-")} must be >= 0, got {v}')
    if not args.print_args:
        if not os.path.isfile(os.path.join(args.model, 'config.json')):
            p.error(f'--model {args.model}: no config.json (give the pruned checkpoint folder)')
        if not os.path.isfile(args.data):
            p.error(f'--data {args.data}: no such file')
    try:
        args.recipe_obj = load_recipe(args.recipe)
    except RecipeError as e:
        p.error(str(e))
    return args


def lora_config_kwargs(recipe):
    return {k: recipe['lora_config'][k] for k in LORA_KEYS}


def training_arguments_kwargs(recipe, args):
    """TrainingArguments(**kwargs): the recipe's, with the command line's overrides."""
    kw = {k: recipe['training_arguments'][k] for k in TRAINING_KEYS}
    for name in ('learning_rate', 'warmup_steps', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'max_steps'):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if args.num_train_epochs is not None:
        kw['max_steps'] = -1  # transformers: -1 = train by epochs
        kw['num_train_epochs'] = args.num_train_epochs
    if args.eval_steps is not None and kw['eval_strategy'] == 'steps':
        kw['eval_steps'] = kw['save_steps'] = args.eval_steps
    for k in ('eval_steps', 'save_steps', 'metric_for_best_model'):
        if kw[k] is None:
            del kw[k]
    kw['output_dir'] = args.output_dir
    kw['bf16'] = bool(args.bf16)
    kw['fp16'] = bool(args.fp16)
    kw['remove_unused_columns'] = False
    kw['report_to'] = []
    return kw


def alpaca_prompt(instruction, input_text):
    """The template filled in one pass, as str.format does in alpaca-lora's Prompter."""
    return (PROMPT_INPUT if input_text else PROMPT_NO_INPUT).format(instruction=instruction, input=input_text)


def read_rows(path):
    """.jsonl rows ({"text"} or {"instruction","input","output"}); a bad line names itself."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise RecipeError(f'{path}: line {i} is not valid JSON')
            if not isinstance(row, dict):
                raise RecipeError(f'{path}: line {i} is not a JSON object')
            if 'instruction' in row or 'output' in row:
                if not isinstance(row.get('instruction'), str) or not isinstance(row.get('output'), str):
                    raise RecipeError(f'{path}: line {i}: "instruction" and "output" must be strings')
                rows.append({'instruction': row['instruction'], 'input': row.get('input') or '', 'output': row['output']})
            elif isinstance(row.get('text'), str):
                rows.append({'text': row['text']})
            else:
                raise RecipeError(f'{path}: line {i} has neither "text" nor "instruction" / "output"')
    return rows


def tokenize_row(row, encode, eos_id, cutoff):
    """input_ids and labels (-100 on the prompt's tokens) as src/heal/data.ts tokenizeRows; None if no target is left."""
    prompt = '' if 'text' in row else alpaca_prompt(row['instruction'], row['input'])
    ids = list(encode(row['text'] if 'text' in row else prompt + row['output']))[:cutoff]
    if eos_id is not None and len(ids) < cutoff and (not ids or ids[-1] != eos_id):
        ids.append(eos_id)
    prompt_len = min(len(encode(prompt)), cutoff) if prompt else 0
    if len(ids) - max(prompt_len, 1) < 1:
        return None
    return {'input_ids': ids, 'labels': [-100] * prompt_len + ids[prompt_len:]}


def split_rows(rows, val_set_size, seed):
    order = list(rows)
    random.Random(seed).shuffle(order)
    if not val_set_size:
        return order, []
    if val_set_size >= len(order):
        raise RecipeError(f'a held-out split of {val_set_size} rows needs more rows; the data has {len(order)}')
    return order[:-val_set_size], order[-val_set_size:]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    recipe = args.recipe_obj
    lora_kw = lora_config_kwargs(recipe)
    train_kw = training_arguments_kwargs(recipe, args)
    if args.print_args:
        json.dump({'lora_config': lora_kw, 'training_arguments': train_kw}, sys.stdout, indent=2)
        sys.stdout.write('\n')
        return 0
    # the training stack, only now: argument handling and the mapping run without it
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    data = recipe['data']
    cutoff = args.cutoff_len or data['cutoff_len']
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    encode = lambda text: tokenizer(text)['input_ids']  # noqa: E731 (BOS as the tokenizer adds it)
    if args.data.lower().endswith('.jsonl'):
        val = args.val_set_size if args.val_set_size is not None else (data['val_set_size'] or 0)
        train_rows, val_rows = split_rows(read_rows(args.data), val, train_kw['seed'])
        train = [e for e in (tokenize_row(r, encode, tokenizer.eos_token_id, cutoff) for r in train_rows) if e]
        heldout = [e for e in (tokenize_row(r, encode, tokenizer.eos_token_id, cutoff) for r in val_rows) if e]
    else:
        with open(args.data, encoding='utf-8') as f:
            stream = encode(f.read())
        train = [{'input_ids': stream[i:i + cutoff], 'labels': stream[i:i + cutoff]} for i in range(0, len(stream) - cutoff + 1, cutoff)]
        heldout = []
    if not heldout:
        for k in ('eval_steps', 'save_steps', 'metric_for_best_model'):
            train_kw.pop(k, None)
        train_kw.update(eval_strategy='no', save_strategy='no', load_best_model_at_end=False)
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else torch.float32
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=dtype)
    model = get_peft_model(model, LoraConfig(**lora_kw))
    model.print_trainable_parameters()
    trainer = transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(**train_kw),
        train_dataset=train,
        eval_dataset=heldout or None,
        data_collator=transformers.DataCollatorForSeq2Seq(tokenizer, pad_to_multiple_of=8, return_tensors='pt', padding=True),
    )
    trainer.train()
    model.save_pretrained(args.output_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
