/**
 * The CLI's model files: safetensors with the tensors under their PyTorch names and, in
 * `__metadata__`, the architecture (`lstm.architecture`, JSON) and, for character models, the
 * vocabulary (`lstm.vocab`, a JSON array of strings, one per token id).
 *
 * This is the seam to the package's model-file format (issue 21, `model.save` / `loadModel`): the
 * CLI reads and writes models only through `saveModelFile` and `loadModelFile`.
 */
import { existsSync, statSync } from 'node:fs';
import { LstmError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import type { Module } from '../layers/module.js';
import { Sequential } from '../layers/sequential.js';

/** A layer's type and constructor options, as stored in the file. */
export type LayerSpec =
  | { type: 'LSTM'; options: Record<string, unknown> }
  | { type: 'Linear'; options: Record<string, unknown> }
  | { type: 'Embedding'; options: Record<string, unknown> }
  | { type: 'Dropout'; options: Record<string, unknown> }
  | { type: 'Sequential'; layers: [string, LayerSpec][] };

export const FORMAT = 'lstm-native.model';
export const FORMAT_VERSION = 1;

/** A loaded model file: the model (in eval mode), its vocabulary when it has one, and its metadata. */
export interface LoadedModel {
  model: Module;
  vocab: string[] | null;
  architecture: LayerSpec;
  formatVersion: number;
  metadata: Record<string, string>;
}

/** The architecture of a model built of the layers this file format knows. */
export function describeModel(m: Module): LayerSpec {
  if (m instanceof Sequential) return { type: 'Sequential', layers: m.layers.map(([n, l]) => [n, describeModel(l)]) };
  if (m instanceof LSTM) {
    return { type: 'LSTM', options: { inputSize: m.inputSize, hiddenSize: m.hiddenSize, numLayers: m.numLayers,
      bidirectional: m.bidirectional, batchFirst: m.batchFirst, projSize: m.projSize, dropout: m.dropout,
      returnSequences: m.returnSequences } };
  }
  if (m instanceof Linear) return { type: 'Linear', options: { inFeatures: m.inFeatures, outFeatures: m.outFeatures, bias: m.hasBias } };
  if (m instanceof Embedding) {
    return { type: 'Embedding', options: { numEmbeddings: m.numEmbeddings, embeddingDim: m.embeddingDim,
      ...(m.paddingIdx !== null ? { paddingIdx: m.paddingIdx } : {}) } };
  }
  if (m instanceof Dropout) return { type: 'Dropout', options: { p: m.p } };
  throw new LstmError(`saveModelFile: cannot describe a ${m.constructor.name} layer`, 'ERR_LSTM_STATE');
}

/** Builds a model from its stored architecture; throws for anything it does not know. */
export function buildModel(spec: LayerSpec, where: string): Module {
  if (spec === null || typeof spec !== 'object') throw new Error(`${where}: layer spec must be an object`);
  switch (spec.type) {
    case 'Sequential': {
      if (!Array.isArray(spec.layers)) throw new Error(`${where}: Sequential.layers must be an array`);
      return new Sequential(Object.fromEntries(spec.layers.map(([n, s]) => [n, buildModel(s, where)])));
    }
    case 'LSTM': return new LSTM({ ...spec.options, seed: 0 } as never);
    case 'Linear': return new Linear({ ...spec.options, seed: 0 } as never);
    case 'Embedding': return new Embedding({ ...spec.options, seed: 0 } as never);
    case 'Dropout': return new Dropout({ ...spec.options, seed: 0 } as never);
    default: throw new Error(`${where}: unknown layer type ${JSON.stringify((spec as { type: unknown }).type)}`);
  }
}

/** Writes `model` (and its vocabulary) to `path` atomically. */
export function saveModelFile(path: string, model: Module, extra: { vocab?: string[] | null; metadata?: Record<string, string> } = {}): void {
  const metadata: Record<string, string> = {
    format: FORMAT, format_version: String(FORMAT_VERSION), 'lstm.architecture': JSON.stringify(describeModel(model)),
    ...extra.metadata,
  };
  if (extra.vocab) metadata['lstm.vocab'] = JSON.stringify(extra.vocab);
  writeSafetensors(path, model.stateDict(), metadata);
}

/**
 * Reads a model file and rebuilds its model (in eval mode).
 * @throws LstmError ERR_LSTM_FILE naming the file and the problem (missing, not a model file,
 *   a newer format version, an architecture or tensors that do not fit)
 */
export function loadModelFile(path: string): LoadedModel {
  const fail = (why: string, cause?: unknown): never => {
    throw new LstmError(`${path}: ${why}`, 'ERR_LSTM_FILE', cause === undefined ? undefined : { cause });
  };
  if (!existsSync(path)) fail('no such file');
  if (statSync(path).isDirectory()) fail('is a directory, not a model file');
  let contents: ReturnType<typeof readSafetensors>;
  try {
    contents = readSafetensors(path);
  } catch (err) {
    return fail(`not a readable safetensors model file (${(err as Error).message})`, err);
  }
  const { tensors, metadata } = contents;
  if (metadata.format !== FORMAT || metadata['lstm.architecture'] === undefined) {
    fail(`not an lstm-native model file (no ${FORMAT} architecture in its metadata; a bare state dict needs the architecture: build the model in code and call loadStateDict)`);
  }
  const version = Number(metadata.format_version);
  if (!Number.isInteger(version) || version < 1) fail(`format_version ${JSON.stringify(metadata.format_version)} is not valid`);
  if (version > FORMAT_VERSION) fail(`format version ${version} is newer than this package reads (${FORMAT_VERSION}); upgrade lstm-native`);
  let architecture: LayerSpec;
  let model: Module;
  try {
    architecture = JSON.parse(metadata['lstm.architecture']!) as LayerSpec;
    model = buildModel(architecture, 'architecture');
    model.loadStateDict(tensors);
  } catch (err) {
    return fail(`architecture or tensors do not fit: ${(err as Error).message}`, err);
  }
  let vocab: string[] | null = null;
  if (metadata['lstm.vocab'] !== undefined) {
    try {
      const v = JSON.parse(metadata['lstm.vocab']) as unknown;
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error('not an array of strings');
      vocab = v as string[];
    } catch (err) {
      fail(`lstm.vocab is not a JSON array of strings (${(err as Error).message})`, err);
    }
  }
  model.eval();
  return { model, vocab, architecture, formatVersion: version, metadata };
}
