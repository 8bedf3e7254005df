"""tools/heal/train_cluster.py without the training stack (Python standard library only): the module
imports no torch / transformers / peft, bad arguments and recipes exit 2 with a message, the recipe
maps onto LoraConfig and TrainingArguments with the command line's overrides, and the data is
formatted and masked as src/heal/data.ts does.
usage: python3 tests/python/test_train_cluster.py RECIPE.json   (a recipe the lab wrote)
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools', 'heal'))
import train_cluster as tc  # noqa: E402

RECIPE = None


def run_args(argv):
    """(exit code, stderr) of parse_args."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            tc.parse_args(argv)
        except SystemExit as e:
            return e.code, err.getvalue()
    return 0, err.getvalue()


class TrainClusterTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.model = os.path.join(self.dir, 'pruned')
        os.mkdir(self.model)
        open(os.path.join(self.model, 'config.json'), 'w').write('{}')
        self.data = os.path.join(self.dir, 'd.jsonl')
        open(self.data, 'w').write('{"text": "abc"}\n')
        self.base = ['--recipe', RECIPE, '--model', self.model, '--data', self.data, '--output-dir', os.path.join(self.dir, 'out')]

    def test_no_training_stack_imported(self):
        for name in ('torch', 'transformers', 'peft'):
            self.assertNotIn(name, sys.modules)

    def test_argument_errors_exit_2(self):
        self.assertEqual(run_args(self.base)[0], 0)
        code, err = run_args(self.base[2:])
        self.assertEqual(code, 2)
        self.assertIn('--recipe', err)
        code, err = run_args(self.base + ['--max-steps', '5', '--num-train-epochs', '2'])
        self.assertEqual(code, 2)
        self.assertIn('not allowed with argument', err)
        code, err = run_args(self.base + ['--learning-rate', '0'])
        self.assertEqual(code, 2)
        self.assertIn('--learning-rate must be positive', err)
        code, err = run_args(['--recipe', RECIPE, '--model', self.dir, '--data', self.data, '--output-dir', 'o'])
        self.assertEqual(code, 2)
        self.assertIn('no config.json', err)
        bad = os.path.join(self.dir, 'bad.json')
        json.dump({'format': 'x'}, open(bad, 'w'))
        code, err = run_args(['--recipe', bad] + self.base[2:])
        self.assertEqual(code, 2)
        self.assertIn('not a depth-pruning-lab heal recipe', err)
        recipe = json.load(open(RECIPE))
        del recipe['training_arguments']['warmup_steps']
        json.dump(recipe, open(bad, 'w'))
        code, err = run_args(['--recipe', bad] + self.base[2:])
        self.assertIn('training_arguments lacks warmup_steps', err)

    def test_recipe_mapping_and_overrides(self):
        recipe = json.load(open(RECIPE))
        args = tc.parse_args(self.base)
        self.assertEqual(tc.lora_config_kwargs(recipe), recipe['lora_config'])
        kw = tc.training_arguments_kwargs(recipe, args)
        for k, v in recipe['training_arguments'].items():
            if v is not None:
                self.assertEqual(kw[k], v, k)
        self.assertEqual(kw['output_dir'], os.path.join(self.dir, 'out'))
        args = tc.parse_args(self.base + ['--num-train-epochs', '2', '--learning-rate', '1e-4', '--warmup-steps', '100', '--per-device-train-batch-size', '4', '--gradient-accumulation-steps', '16'])
        kw = tc.training_arguments_kwargs(recipe, args)
        self.assertEqual((kw['max_steps'], kw['num_train_epochs'], kw['learning_rate'], kw['warmup_steps']), (-1, 2.0, 1e-4, 100))
        self.assertEqual((kw['per_device_train_batch_size'], kw['gradient_accumulation_steps']), (4, 16))

    def test_data_as_the_lab(self):
        encode = lambda t: [1] + [ord(c) for c in t]  # noqa: E731 (BOS 1, one token a character)
        prompt = tc.alpaca_prompt('i', '')
        e = tc.tokenize_row({'instruction': 'i', 'input': '', 'output': 'ab'}, encode, 2, 1000)
        self.assertEqual(e['input_ids'], encode(prompt + 'ab') + [2])
        self.assertEqual(e['labels'], [-100] * (len(prompt) + 1) + [ord('a'), ord('b'), 2])
        self.assertIsNone(tc.tokenize_row({'instruction': 'i', 'input': '', 'output': 'abc'}, encode, 2, len(prompt) + 1))
        self.assertEqual(tc.alpaca_prompt('Sum', '1 {x} 2').count('### Input:\n1 {x} 2\n'), 1)
        bad = os.path.join(self.dir, 'bad.jsonl')
        open(bad, 'w').write('{"text": "a"}\n{"instruction": 1, "output": "b"}\n')
        with self.assertRaisesRegex(tc.RecipeError, 'line 2'):
            tc.read_rows(bad)
        train, val = tc.split_rows(list(range(10)), 3, 0)
        self.assertEqual(sorted(train + val), list(range(10)))
        self.assertEqual(len(val), 3)


if __name__ == '__main__':
    RECIPE = sys.argv.pop(1)
    unittest.main()
