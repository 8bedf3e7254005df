import { useCallback, useState } from 'react';

/**
 * The invalid number fields of one panel, by field: while any is invalid the panel's action
 * stays disabled and the first problem is shown as the reason (never run with an old value).
 */
export function useFieldProblems(): { first: string | null; report: (field: string) => (problem: string | null) => void } {
  const [problems, setProblems] = useState<Record<string, string>>({});
  const report = useCallback(
    (field: string) => (problem: string | null) =>
      setProblems((p) => {
        if ((p[field] ?? null) === problem) return p;
        const next = { ...p };
        if (problem) next[field] = problem;
        else delete next[field];
        return next;
      }),
    [],
  );
  return { first: Object.values(problems)[0] ?? null, report };
}

/** Why an action is disabled: the first of the reasons that applies, or null. */
export function firstReason(...reasons: (string | false | null | undefined)[]): string | null {
  return reasons.find((r): r is string => typeof r === 'string' && r.length > 0) ?? null;
}
