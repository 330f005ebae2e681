/**
 * lstm-native: a fast LSTM for Node.js with PyTorch's numbers and weight names.
 * The public surface, nothing else.
 */
export { LSTM } from './layers/lstm.js';
export type { LSTMOptions, LSTMForwardOptions, LSTMOutput, LSTMGradients, LSTMInputGradients } from './layers/lstm.js';
export { tensor, zeros, numel, isTensor } from './tensor.js';
export type { Tensor, TensorData } from './tensor.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { backendInfo, setNumThreads } from './backend.js';
export type { BackendInfo } from './backend.js';
export { LstmError } from './errors.js';
export type { LstmErrorCode } from './errors.js';
