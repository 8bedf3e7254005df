/** The share link: what it carries (never a token or a local folder), what it refuses, and its restore after the model loads. */
import { beforeEach, describe, expect, it } from 'vitest';
import { parseShareFragment, restoreSharedLink, shareFragment } from '../../src/ui/share-link';
import { currentRecord, DEFAULT_SETTINGS, useLab } from '../../src/ui/store';
import { MODEL } from './ui-fixtures';

const plan = { removed: [6, 7, 8], criterion: 'taylor' as const, protect: [0, 1, 2, 3, 14, 15] };

beforeEach(() => useLab.setState({ model: null, records: {}, settings: DEFAULT_SETTINGS, source: { kind: 'embedded' }, jobs: {}, errors: {} }));

describe('the share link', () => {
  it('carries the Hub source, the experiment settings and the plan, and reads back the same', () => {
    const settings = { ...DEFAULT_SETTINGS, n: 4, t: 64, protectText: '0,1,-1', criteria: ['angular' as const], evalText: { kind: 'inline' as const, name: 'mine.txt', text: 'private text' } };
    const hash = shareFragment({ kind: 'hub', id: 'owner/model', revision: 'abc123', host: 'https://mirror.example' }, settings, plan)!;
    expect(hash).toMatch(/^#lab=[\w-]+$/);
    const x = parseShareFragment(hash)!;
    expect(x.source).toEqual({ kind: 'hub', id: 'owner/model', revision: 'abc123', host: 'https://mirror.example' });
    expect(x.settings).toMatchObject({ n: 4, t: 64, protectText: '0,1,-1', criteria: ['angular'] });
    expect(x.plan).toEqual(plan);
    // A pasted text stays home; a local folder has no link.
    expect(JSON.stringify(x)).not.toContain('private text');
    expect(shareFragment({ kind: 'local', name: 'my-model' }, DEFAULT_SETTINGS, plan)).toBeNull();
  });

  it('refuses fragments that are no lab link or hold a malformed experiment', () => {
    const enc = (o: unknown) => `#lab=${Buffer.from(JSON.stringify(o)).toString('base64url')}`;
    for (const bad of ['', '#other', '#lab=%%%', enc({ v: 2 }), enc({ v: 1, source: { kind: 'embedded' }, plan: { removed: [-1], criterion: 'ppl', protect: [] } }),
      enc({ v: 1, source: { kind: 'local', name: 'x' }, plan }), enc({ v: 1, source: { kind: 'embedded' }, plan: { ...plan, criterion: 'nonsense' } })]) {
      expect(parseShareFragment(bad), bad).toBeNull();
    }
    // Unknown settings are dropped.
    expect(parseShareFragment(enc({ v: 1, source: { kind: 'embedded' }, settings: { n: 3, token: 'hf_x' }, plan }))!.settings).toEqual({ n: 3 });
  });

  it('sets the source and settings at once and the plan when the model is loaded', () => {
    const hash = shareFragment({ kind: 'hub', id: 'owner/model', revision: 'main' }, { ...DEFAULT_SETTINGS, n: 7 }, plan)!;
    expect(restoreSharedLink(hash)).toBe(true);
    expect(useLab.getState().source).toEqual({ kind: 'hub', id: 'owner/model', revision: 'main' });
    expect(useLab.getState().settings.n).toBe(7);
    useLab.getState().setModel(MODEL);
    expect(currentRecord(useLab.getState()).plan).toEqual(plan);
    expect(restoreSharedLink('#nothing')).toBe(false);
  });
});
