/**
 * lstm-native: a fast LSTM for Node.js with PyTorch's numbers and weight names.
 * The public surface, nothing else.
 */
export { LSTM } from './layers/lstm.js';
export { Linear } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { Embedding } from './layers/embedding.js';
export type { EmbeddingOptions } from './layers/embedding.js';
export { Dropout } from './layers/dropout.js';
export type { DropoutOptions } from './layers/dropout.js';
export { Sequential } from './layers/sequential.js';
export type { SequentialOptions, SequentialForwardOptions, SequentialBackwardOptions, SequentialLayers, SequentialEntries,
  SequentialState, SequentialStateForwardOptions, SequentialStateOutput, SequentialStateBackwardOptions,
  SequentialStateGradients } from './layers/sequential.js';
export { Module } from './layers/module.js';
export type { LoadStateDictOptions, LoadStateDictResult, BackwardOptions, RecurrentState } from './layers/module.js';
export { Parameters } from './parameters.js';
export type { ParamSlot } from './parameters.js';
export * as init from './init.js';
export { manualSeed, getRngState, setRngState, Random } from './random.js';
export type { RandomState } from './random.js';
export { Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, clipGradNorm, clipGradValue } from './optim/index.js';
export type * from './optim/index.js';
export { losses } from './losses.js';
export type { Reduction, LossResult, ReductionOptions, HuberOptions, CrossEntropyOptions, BCEWithLogitsOptions, ClassTargets } from './losses.js';
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup, ReduceLROnPlateau } from './schedule.js';
export type * from './schedule.js';
export type { LSTMOptions, LSTMForwardOptions, LSTMForwardOutputs, LSTMOutput, LSTMGradients, LSTMBackwardOptions, LSTMInputGradients } from './layers/lstm.js';
export { tensor, zeros, numel, isTensor } from './tensor.js';
export type { Tensor, TensorData, SequenceLengths } from './tensor.js';
export { readSafetensors, writeSafetensors, readSafetensorsAsync, openSafetensors, SafetensorsReader } from './io/safetensors.js';
export type { SafetensorsContents, SafetensorsDtype, SafetensorsTensorInfo } from './io/safetensors.js';
export { loadModel, saveModel, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './io/model-file.js';
export type { SaveModelOptions, LoadModelOptions } from './io/model-file.js';
export { modelInfo } from './io/model-info.js';
export { exportOnnx, encodeOnnx } from './io/onnx.js';
export type { ExportOnnxOptions } from './io/onnx.js';
export type { ModelInfo } from './io/model-info.js';
export type { ModuleSpec, LayerSpec, SequentialSpec } from './io/architecture.js';
export { backendInfo, setNumThreads } from './backend.js';
export type { BackendInfo } from './backend.js';
export { LstmError } from './errors.js';
export type { LstmErrorCode } from './errors.js';
export { Trainer } from './train/trainer.js';
export type { StepResult, EvaluateResult, PreparedBatch, TrainStepOptions, BatchesOptions } from './train/trainer.js';
export { AbortError } from './train/abort.js';
export type * from './train/types.js';
export { LSTMCell } from './layers/lstm-cell.js';
export type { LSTMCellOptions, LSTMCellInputGradients } from './layers/lstm-cell.js';
import './infer/module-methods.js';
export { Session, createSession } from './infer/session.js';
export type { SessionOptions, SessionState } from './infer/session.js';
export { generate } from './infer/generate.js';
export type { GenerateOptions } from './infer/generate.js';
export { predictStream } from './infer/predict-stream.js';
export type { PredictItem, PredictResult, PredictStreamOptions } from './infer/predict-stream.js';
