import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import schema from '../../src/prune/mask-schema.json';
import { parseMask, serializeMask } from '../../src/prune/mask';

const doc = readFileSync(join(process.cwd(), 'docs', 'mask-format.md'), 'utf8');

/** Every property name declared anywhere in the schema. */
function propertyNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => propertyNames(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) out.add(k);
    Object.values(o).forEach((v) => propertyNames(v, out));
  }
  return out;
}

describe('docs/mask-format.md', () => {
  it('its complete example is a valid mask in canonical form', () => {
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)![1]!;
    const mask = parseMask(example, { numLayers: 16 });
    expect(serializeMask(mask)).toBe(`${example}\n`);
    // The example uses every optional part of the format.
    expect(mask.metrics?.perplexity?.eval_text_description).toBeDefined();
    expect(mask.metrics?.speed?.batch).toBeDefined();
    expect(mask.metrics?.zero_shot?.tasks.length).toBeGreaterThan(0);
  });

  it('documents every field of the schema', () => {
    const missing = [...propertyNames(schema)].filter((k) => !doc.includes(`\`${k}\``) && !doc.includes(`.${k}\``) && !doc.includes(`"${k}"`));
    expect(missing).toEqual([]);
  });
});
