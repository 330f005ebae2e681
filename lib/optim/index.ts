/** Optimizers and gradient clipping. */
export { Optimizer } from './optimizer.js';
export type { OptimizerState, OptimizerConfig } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions, SGDConfig } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions, AdamWOptions, AdamConfig } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions, RMSpropConfig } from './rmsprop.js';
export { Adagrad } from './adagrad.js';
export type { AdagradOptions, AdagradConfig } from './adagrad.js';
export { clipGradNorm, clipGradValue } from './clip.js';
