/**
 * lmmkit: linear mixed models for genetics, for Node.js and the browser.
 * This is the one public entry point; everything a user needs is exported here.
 */
export { InputError, LmmkitError, NotPositiveDefiniteError, NumericalError, ShapeError, type InputLocation } from './errors.js';
export { Matrix, type MatrixLike } from './linalg/matrix.js';
export {
  Backend,
  logdetFromCholesky,
  type BackendInfo,
  type Eigen,
  type GemmOptions,
  type GemvOptions,
  type Svd,
  type SyrkOptions,
  type TrsmOptions,
} from './linalg/backend.js';
export type { KernelInfo, Kernels } from './linalg/kernels.js';
export {
  availableBackends,
  getBackend,
  loadBackend,
  nativeStatus,
  setBackend,
  type BackendName,
} from './linalg/select.js';
export * from './stats/index.js';
