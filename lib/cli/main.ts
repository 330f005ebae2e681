/**
 * The `lstm` command: batch inference, generation, model inspection, the demo. Errors end the
 * process with one line on stderr and a non-zero exit code (see cli-error.ts).
 */
import { Command, CommanderError } from 'commander';
import { CliError, messageOf } from './cli-error.js';
import { registerBench } from './commands/bench.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerInfo } from './commands/info.js';
import { registerPredict } from './commands/predict.js';
import { registerTrain } from './commands/train.js';
import { packageVersion } from './package-root.js';

const program = new Command('lstm')
  .description('lstm-native: fast LSTMs for Node.js. Batch inference over JSONL/CSV streams, text generation, a demo.')
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText('after', `
Examples:
  lstm demo                                   train a character model for a minute (what npm start runs)
  lstm predict -m model.safetensors -i in.jsonl -o out.jsonl
  lstm generate -m demo-out/model.safetensors -p "ROMEO:" -n 300
  lstm info demo-out/model.safetensors`);
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerDemo(program);
registerTrain(program);
registerEval(program);
registerPredict(program);
registerGenerate(program);
registerInfo(program);
registerExport(program);
registerBench(program);
for (const c of program.commands) c.exitOverride();

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else {
      process.stderr.write(`lstm: ${messageOf(err)}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
    }
  }
}

void main();
