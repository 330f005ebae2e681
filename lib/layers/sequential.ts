/**
 * Sequential: layers applied in order, with one parameter block for the whole model. The names
 * given to the layers are the state-dict prefixes (`embed.weight`, `lstm.weight_ih_l0`,
 * `head.bias`, as a PyTorch module with those attributes). Sequence lengths flow through the
 * chain, and an LSTM with `returnSequences: false` passes on each sequence's last valid step.
 * Feature sizes are checked when the Sequential is built, not at the first forward.
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { Random } from '../random.js';
import type { Tensor, TensorData } from '../tensor.js';
import { checkBoolean, checkInteger, checkOptions } from '../validate.js';
import type { ParamSlot } from './lstm-layout.js';
import { Module, type ChainState, type Features } from './module.js';
import type { LSTMForwardOptions } from './lstm.js';
import { fitModel, predictModel } from '../train/fit.js';
import type { FitData, FitOptions, History, InputData, PredictOptions } from '../train/types.js';

/** Options of {@link Sequential}. */
export interface SequentialOptions {
  /** Re-initialise every layer's parameters and dropout masks from this seed, in layer order. */
  seed?: number;
}

/** Options of {@link Sequential.forward}. */
export interface SequentialForwardOptions {
  /** Valid steps of each sequence (B), passed to every LSTM in the chain. */
  lengths?: LSTMForwardOptions['lengths'];
  /** Inference only: the LSTMs keep nothing for backward (less memory, faster). Default false. */
  noGrad?: boolean;
}

/** Options of {@link Sequential.backward}. */
export interface SequentialBackwardOptions {
  /**
   * Compute the gradient of the model's input (default true). False lets the first layer skip it
   * (for an LSTM, one product as large as its input projection); backward then returns null.
   */
  inputGrad?: boolean;
}

function describeFeatures(f: Features): string {
  return f.kind === 'tokens' ? 'token ids' : f.size === null ? 'features of any size' : `${f.size} features`;
}

/**
 * A chain of layers sharing one parameter block.
 * @example
 * const model = new Sequential({
 *   embed: new Embedding({ numEmbeddings: 65, embeddingDim: 64 }),
 *   lstm: new LSTM({ inputSize: 64, hiddenSize: 256, batchFirst: true }),
 *   head: new Linear({ inFeatures: 256, outFeatures: 65 }),
 * });
 * const logits = model.forward(tokens);   // (B, T) ids -> (B, T, 65)
 * model.backward(dLogits);
 */
export class Sequential extends Module {
  /** The layers by name, in order. */
  readonly layers: ReadonlyArray<readonly [string, Module]>;
  private readonly layout: ParamSlot[];
  private ran = false;

  /**
   * @param layers an object of name -> layer (names become state-dict prefixes) or an array
   *   (names "0", "1", ...)
   * @throws RangeError when a layer's output does not fit the next one's input
   */
  constructor(layers: Record<string, Module> | Module[], options?: SequentialOptions) {
    const where = 'new Sequential';
    const o = checkOptions(where, options, ['seed']);
    if (layers === null || typeof layers !== 'object') {
      throw typeError(`${where}: layers must be an object of name -> layer or an array of layers, got ${describe(layers)}`);
    }
    const entries: [string, Module][] = Array.isArray(layers) ? layers.map((l, i) => [String(i), l]) : Object.entries(layers);
    if (entries.length === 0) throw rangeError(`${where}: needs at least one layer`);
    const seen = new Set<Module>();
    for (const [name, layer] of entries) {
      if (!(layer instanceof Module)) throw typeError(`${where}: layer "${name}" must be a layer (LSTM, Linear, Embedding, Dropout, Sequential), got ${describe(layer)}`);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw rangeError(`${where}: layer name "${name}" must be letters, digits or _ (it becomes a state-dict prefix)`);
      if (seen.has(layer)) throw rangeError(`${where}: layer "${name}" appears twice; each layer may be used once`);
      seen.add(layer);
    }
    // Each layer's output must fit the next one's input.
    let flow = entries[0]![1].inputFeatures();
    entries.forEach(([name, layer], i) => {
      const wants = layer.inputFeatures();
      const fits = wants.kind === 'tokens' ? flow.kind === 'tokens'
        : flow.kind === 'features' && (wants.size === null || flow.size === null || wants.size === flow.size);
      if (!fits) {
        const prev = entries[i - 1]![0];
        throw rangeError(`${where}: layer "${name}" takes ${describeFeatures(wants)}, but "${prev}" produces ${describeFeatures(flow)}`,
          'ERR_LSTM_SHAPE');
      }
      flow = layer.outputFeatures(flow.kind === 'features' && flow.size !== null ? flow : wants);
    });
    const layout: ParamSlot[] = [];
    let offset = 0;
    for (const [name, layer] of entries) {
      for (const s of layer.slots) layout.push({ name: `${name}.${s.name}`, shape: [...s.shape], offset: offset + s.offset, size: s.size });
      offset += layer.parameters().size;
    }
    super(offset);
    this.layers = entries;
    this.layout = layout;
    // One block for the whole model: each layer moves into its part, keeping its values.
    let at = 0;
    for (const [, layer] of entries) {
      const n = layer.parameters().size;
      layer.bindBuffers(this.values.subarray(at, at + n), this.grads.subarray(at, at + n));
      at += n;
    }
    if (o.seed !== undefined) {
      const rng = new Random(checkInteger(where, 'seed', o.seed, 0, 0xffffffff));
      this.resetParameters(rng);
      for (const [, layer] of entries) layer.reseed(rng.nextUint32());
    }
  }

  get slots(): readonly ParamSlot[] {
    return this.layout;
  }

  protected override onBind(): void {
    let at = 0;
    for (const [, layer] of this.layers) {
      const n = layer.parameters().size;
      layer.bindBuffers(this.values.subarray(at, at + n), this.grads.subarray(at, at + n));
      at += n;
    }
  }

  resetParameters(rng: Random): void {
    for (const [, layer] of this.layers) layer.resetParameters(rng);
  }

  override reseed(seed: number): void {
    const rng = new Random(seed);
    for (const [, layer] of this.layers) layer.reseed(rng.nextUint32());
  }

  override train(mode = true): this {
    super.train(mode);
    for (const [, layer] of this.layers) layer.train(mode);
    return this;
  }

  override assertIdle(where: string): void {
    super.assertIdle(where);
    for (const [, layer] of this.layers) layer.assertIdle(where);
  }

  override chainLayers(): Module[] {
    return this.layers.flatMap(([, layer]) => layer.chainLayers());
  }

  inputFeatures(): Features {
    return this.layers[0]![1].inputFeatures();
  }

  outputFeatures(input: Features): Features {
    let flow = input;
    for (const [, layer] of this.layers) flow = layer.outputFeatures(flow);
    return flow;
  }

  /**
   * Runs every layer in order.
   * @param x token ids (B, T) for a model starting with an Embedding, else features (..., inFeatures)
   * @param options `lengths` for the LSTMs in the chain
   */
  forward(x: Tensor<TensorData>, options?: SequentialForwardOptions): Tensor {
    const o = checkOptions(`${this.where}.forward`, options, ['lengths', 'noGrad']);
    const noGrad = o.noGrad === undefined ? false : checkBoolean(`${this.where}.forward`, 'noGrad', o.noGrad);
    this.assertIdle(`${this.where}.forward`);
    return this.forwardChain(x, { lengths: (o.lengths ?? null) as ChainState['lengths'], noGrad });
  }

  /**
   * Backpropagates `grad` (shaped like the last forward's output) through every layer; returns the
   * input's gradient, or null for token ids or with `inputGrad: false`.
   */
  backward(grad: Tensor, options: SequentialBackwardOptions = {}): Tensor | null {
    const where = `${this.where}.backward`;
    const o = checkOptions(where, options, ['inputGrad']);
    const inputGrad = o.inputGrad === undefined ? true : checkBoolean(where, 'inputGrad', o.inputGrad);
    if (!this.ran) throw new LstmError(`${where}: call forward() before backward()`, 'ERR_LSTM_STATE');
    this.assertIdle(where);
    return this.backwardChain(grad, inputGrad);
  }

  /**
   * Trains the model (docs/training.md): batches, padding and lengths, shuffling, validation,
   * callbacks, early stopping, checkpoints and exact resume, with every LSTM step off the main
   * thread. Resolves to the per-epoch history.
   * @param data `{ x, y, lengths? }`, `{ tokens }` with `tbptt`, or an async iterable of batches
   * @throws TypeError / RangeError (rejected) naming a bad option or data before any work
   * @example
   * const history = await model.fit({ x, y }, { epochs: 5, batchSize: 64, loss: 'mse', validationSplit: 0.1 });
   */
  fit(data: FitData, options?: FitOptions): Promise<History> {
    return fitModel(this, data, options);
  }

  /**
   * The model's output for every sequence of x, in evaluation mode, off the main thread:
   * (N, outFeatures) per sequence, or (N, T, outFeatures) per step.
   * @param x `number[][][]` (ragged allowed), a tensor (N, T, I) with `lengths`, or token ids
   */
  predict(x: InputData, options?: PredictOptions): Promise<Tensor> {
    return predictModel(this, x, options);
  }

  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    let flow: Tensor<TensorData> = x;
    const s: ChainState = { ...state };
    for (const [, layer] of this.layers) flow = layer.forwardChain(flow, s);
    this.ran = true;
    return flow as Tensor;
  }

  backwardChain(grad: Tensor, inputGrad = true): Tensor | null {
    let g: Tensor | null = grad;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      if (g === null) {
        throw new LstmError(`${this.where}.backward: layer "${this.layers[i]![0]}" has no gradient to pass back (it follows a layer taking token ids)`,
          'ERR_LSTM_STATE');
      }
      g = this.layers[i]![1].backwardChain(g, i > 0 || inputGrad);
    }
    return inputGrad ? g : null;
  }
}
