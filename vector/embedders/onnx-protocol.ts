import type { Pooling } from './config.js';

/** Passed as workerData: one worker serves one model directory with fixed pooling. */
export interface OnnxWorkerInit {
  /** Parent directory, used as transformers' localModelPath. */
  root: string;
  /** Model directory name inside `root`. */
  id: string;
  /** Where the .onnx file sits inside the model directory: 'onnx' or ''. */
  subfolder: string;
  pooling: Pooling;
  normalize: boolean;
}

export type OnnxRequest = { seq: number; op: 'load' } | { seq: number; op: 'embed'; texts: string[] };

export type OnnxReply =
  | { seq: number; ok: true; dim: number; count: number; data: Float32Array | null }
  | { seq: number; ok: false; error: string; unavailable: boolean };
