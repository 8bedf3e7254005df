/** Names the UI needs without importing the engine (which stays in the worker bundle). */
export const EMBEDDED_MODEL = 'kjv-tiny-llama';
export const EMBEDDED_TEXT_FILES = { calibration: 'kjv-calib.txt', heldout: 'kjv-heldout.txt' } as const;
