// What a scoring request carries once parsed, before and after the signature is applied.

/** A parsed request body: a table (from dataframe_* or CSV) or tensors (from instances/inputs). */
export type ParsedInput =
  | { kind: 'frame'; columns: string[]; rows: unknown[][] }
  | { kind: 'tensor'; data: unknown }
  | { kind: 'tensors'; data: Record<string, unknown> };

/** One column handed to a runtime: a numpy dtype name and its values (null is a missing value). */
export interface FrameColumn {
  name: string;
  dtype: string;
  values: unknown[];
}

/** An n-dimensional array in row-major order. */
export interface Tensor {
  dtype: string;
  shape: number[];
  data: unknown[];
}

/** The model's input after enforcement, in the shapes a runtime rebuilds (DataFrame, ndarray, dict). */
export type ModelInput =
  | { kind: 'frame'; columns: FrameColumn[]; rowCount: number }
  | { kind: 'tensor'; tensor: Tensor }
  | { kind: 'tensors'; tensors: Record<string, Tensor> };

export interface ScoringRequest {
  input: ModelInput;
  /** Params after the signature's params schema (defaults filled in); undefined when none apply. */
  params?: Record<string, unknown>;
}
