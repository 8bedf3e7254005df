/**
 * A link that reopens an experiment: the model source (Hub id, revision and host, or the embedded
 * model; never a token, never a local path), the criteria and evaluation settings, and the current
 * plan, in the URL fragment (never sent to a server). Opening it sets the source and settings
 * before the first load and applies the plan once a model with that many blocks is loaded.
 */
import { isCriterion } from '../prune/criteria/registry';
import { useLab, type PlanState, type Settings, type SourceChoice } from './store';

const PREFIX = '#lab=';

/** The settings that define an experiment (texts only when embedded: a pasted text is not shared). */
const SHARED = ['criteria', 'n', 't', 'seed', 'bos', 'protectText', 'selectCriterion', 'pruneMode', 'pruneK', 'pruneRatio', 'evalWindow', 'evalBos', 'evalMaxWindows', 'frontierWindows', 'frontierMaxK'] as const satisfies readonly (keyof Settings)[];

export interface SharedExperiment {
  v: 1;
  source: { kind: 'embedded' } | { kind: 'hub'; id: string; revision: string; host?: string };
  settings: Partial<Pick<Settings, (typeof SHARED)[number]>>;
  plan: { removed: number[]; criterion: PlanState['criterion']; protect: number[] };
}

const b64url = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64url = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));

/** The fragment for the page's current experiment, or null for a local model (a folder cannot travel in a link). */
export function shareFragment(source: SourceChoice, settings: Settings, plan: PlanState): string | null {
  if (source.kind === 'local') return null;
  const shared: SharedExperiment = {
    v: 1,
    source: source.kind === 'hub' ? { kind: 'hub', id: source.id, revision: source.revision, ...(source.host ? { host: source.host } : {}) } : { kind: 'embedded' },
    settings: Object.fromEntries(SHARED.map((k) => [k, settings[k]])),
    plan: { removed: plan.removed, criterion: plan.criterion, protect: plan.protect },
  };
  return PREFIX + b64url(JSON.stringify(shared));
}

const intList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);

/** Reads a fragment; null when it is not a lab link or does not hold a well-formed experiment. */
export function parseShareFragment(hash: string): SharedExperiment | null {
  if (!hash.startsWith(PREFIX)) return null;
  let x: SharedExperiment;
  try {
    x = JSON.parse(unb64url(hash.slice(PREFIX.length))) as SharedExperiment;
  } catch {
    return null;
  }
  if (x?.v !== 1 || !x.plan || !intList(x.plan.removed) || !intList(x.plan.protect) || !(x.plan.criterion === 'manual' || isCriterion(x.plan.criterion))) return null;
  const src = x.source as Record<string, unknown> | undefined;
  const hubOk = src?.kind === 'hub' && typeof src.id === 'string' && typeof src.revision === 'string' && (src.host === undefined || typeof src.host === 'string');
  if (!(src?.kind === 'embedded' || hubOk)) return null;
  const settings = Object.fromEntries(Object.entries(x.settings ?? {}).filter(([k]) => (SHARED as readonly string[]).includes(k)));
  return { v: 1, source: x.source, settings, plan: x.plan };
}

let pending: SharedExperiment['plan'] | null = null;

/** Applies a link's source and settings now and its plan once a model that can take it is loaded; false when the fragment is no lab link. */
export function restoreSharedLink(hash: string): boolean {
  const x = parseShareFragment(hash);
  if (!x) return false;
  const s = useLab.getState();
  s.setSource(x.source);
  s.updateSettings(x.settings);
  pending = x.plan;
  applyPendingPlan();
  return true;
}

function applyPendingPlan(): void {
  const s = useLab.getState();
  const L = s.model?.numLayers;
  if (!pending || L === undefined) return;
  const plan = pending;
  pending = null;
  if (plan.removed.every((b) => b < L) && plan.removed.length < L) s.applyPlan({ ...plan, protect: plan.protect.filter((b) => b < L) });
}

useLab.subscribe((s, prev) => {
  if (pending && s.model && s.model !== prev.model) applyPendingPlan();
});
