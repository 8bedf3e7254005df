/** The model and texts shipped in public/: names only, so the page can read them without importing the engine. */
export const EMBEDDED_MODEL = 'kjv-tiny-llama';
/** public/data/<file> per embedded text. */
export const EMBEDDED_TEXTS = { calibration: 'kjv-calib.txt', heldout: 'kjv-heldout.txt' } as const;
