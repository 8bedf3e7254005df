import { create } from 'zustand';
import type { AdapterSummary } from '../gpu/device';

/** UI state only: what the page shows. Engine objects live in the worker. */
export type GpuStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: AdapterSummary }
  | { state: 'unavailable'; message: string }
  | { state: 'lost'; message: string };

export interface LabState {
  gpu: GpuStatus;
  setGpu: (gpu: GpuStatus) => void;
}

export const useLab = create<LabState>()((set) => ({
  gpu: { state: 'starting' },
  setGpu: (gpu) => set({ gpu }),
}));
