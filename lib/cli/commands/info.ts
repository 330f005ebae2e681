/** `lstm info`: what a model file holds. */
import type { Command } from 'commander';
import { Stepper } from '../../infer/stepper.js';
import { loadForCommand } from '../load.js';
import type { ModuleSpec } from '../../io/architecture.js';

function describeLayers(spec: ModuleSpec, indent: string, name: string): string[] {
  if (spec.type === 'Sequential') return [`${indent}${name}Sequential`, ...spec.layers.flatMap(([n, s]) => describeLayers(s, indent + '  ', `${n}: `))];
  const opts = Object.entries(spec.options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
  return [`${indent}${name}${spec.type}(${opts})`];
}

export function registerInfo(program: Command): void {
  program.command('info')
    .description('show a model file\'s architecture, parameter count, input and format version')
    .argument('<model>', 'model file (.safetensors)')
    .option('--json', 'print one JSON object instead of text')
    .addHelpText('after', `
Examples:
  lstm info demo-out/model.safetensors
  lstm info model.safetensors --json | jq .parameters`)
    .action(async (path: string, o: { json?: boolean }) => {
      const m = await loadForCommand(path);
      const params = m.model.parameters().size;
      const stepper = new Stepper(m.model, 'lstm info', false);
      const input = stepper.input.kind === 'tokens' ? `token ids in [0, ${stepper.input.vocabSize})` : `${stepper.input.size} features per step`;
      const info = {
        file: path, format: m.metadata.format, formatVersion: m.formatVersion, parameters: params,
        input, outputFeatures: stepper.outputSize, vocabulary: m.vocab ? m.vocab.length : null, architecture: m.architecture,
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const lines = [
        `file:            ${path}`,
        `format:          ${info.format ?? 'TensorFlow.js Layers model'}${info.formatVersion ? ` version ${info.formatVersion}` : ''}`,
        `parameters:      ${params.toLocaleString('en-US')}`,
        `input:           ${input}${m.vocab ? ` (a vocabulary of ${m.vocab.length} characters is stored)` : ''}`,
        `output:          ${stepper.outputSize} features per step`,
        'architecture:',
        ...(m.architecture ? describeLayers(m.architecture, '  ', '') : ['  (not stored)']),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
