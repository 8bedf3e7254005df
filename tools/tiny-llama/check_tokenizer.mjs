// Checks that transformers.js loads the tokenizer and produces exactly the Python encoder's ids.
// usage: node tools/tiny-llama/check_tokenizer.mjs   (after dump_ids in make_fixtures / check step)
import { AutoTokenizer, env } from '@huggingface/transformers';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.join(root, 'public', 'models') + '/';
const tok = await AutoTokenizer.from_pretrained('kjv-tiny-llama');
const ref = JSON.parse(fs.readFileSync(path.join(root, 'tools/tiny-llama/work/python_ids.json'), 'utf8'));
let bad = 0, n = 0;
for (const [name, docs] of Object.entries(ref)) {
  const text = fs.readFileSync(path.join(root, 'public/data', name), 'utf8');
  const chapters = text.replace(/\n$/, '').split('\n\n');
  if (chapters.length !== docs.length) throw new Error(`${name}: ${chapters.length} docs vs ${docs.length}`);
  chapters.forEach((c, i) => {
    const ids = tok.encode(c);
    n += ids.length;
    if (JSON.stringify(ids) !== JSON.stringify(docs[i])) { bad++; if (bad < 3) console.log(name, i, ids.slice(0, 20), docs[i].slice(0, 20)); }
    const dec = tok.decode(ids, { skip_special_tokens: true });
    if (dec !== c) { bad++; console.log('roundtrip', name, i); }
  });
}
const odd = 'Héllo wörld! 你好，世界 🙂👍🏽 \t tabs\u00a0nbsp\u2003em  \n\n\r\n  trailing   ';
const e = tok.encode(odd);
console.log('odd roundtrip', tok.decode(e, { skip_special_tokens: true }) === odd, e.slice(0, 8));
console.log(bad === 0 ? `OK ${n} tokens identical` : `MISMATCH ${bad}`);
process.exit(bad ? 1 : 0);
