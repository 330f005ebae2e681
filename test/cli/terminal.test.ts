/**
 * What a person at a terminal sees, and what a log gets: `lstm train`, `lstm demo` and `lstm predict`
 * run under a pseudo-terminal (util-linux `script`) draw a progress bar with their rate and ETA,
 * every field filled in from the first frame; with stderr not a terminal there is no bar and no
 * escape code. And `lstm predict --threads n` really runs n kernel threads, with the same bytes out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Embedding, Linear, LSTM, Sequential } from '../../lib/index.js';
import { saveModelFile } from '../../lib/cli/model-store.js';
import { bin, lstm, root } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lstm-tty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ESC = '\x1b[';

/** Runs `lstm args...` with stdin, stdout and stderr on a pseudo-terminal; returns what the terminal got. */
function onTerminal(args: string[]): { status: number | null; screen: string } {
  const command = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, screen: r.stdout };
}

/** The airline config with its outputs in `dir` and `epochs` epochs. */
function airline(epochs: number): string {
  const cfg = JSON.parse(readFileSync(join(root, 'examples', 'train', 'airline.json'), 'utf8'));
  cfg.data = { train: join(root, 'examples', 'train', 'airline-train.jsonl'), validation: join(root, 'examples', 'train', 'airline-test.jsonl') };
  cfg.training.epochs = epochs;
  cfg.output = join(dir, 'airline.safetensors');
  delete cfg.plot;
  delete cfg.checkpoint;
  const path = join(dir, 'airline.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** The last progress frame on the screen (frames are redrawn after ESC[1G). */
const frames = (screen: string) => screen.split(`${ESC}1G`).slice(1).map((f) => f.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));

describe('progress on a terminal, none in a log', () => {
  it('lstm train: epoch, step, loss, samples/s and ETA; no {token} ever shown', () => {
    const r = onTerminal(['train', '-c', airline(30)]);
    expect(r.status, r.screen).toBe(0);
    expect(r.screen).toContain(ESC);
    const shown = frames(r.screen);
    expect(shown.length).toBeGreaterThan(1);
    expect(shown.join('\n')).not.toMatch(/\{\w+\}/);
    expect(shown.at(-1)).toMatch(/epoch 30 \| step 6\/6 \| loss \d+\.\d{4} \| \d+ samples\/s \| ETA \d+s/);
    const log = lstm(['train', '-c', airline(2)]);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stderr).toBe('');
    expect(log.stdout).not.toContain('\x1b');
    expect(log.stdout.match(/^epoch \d+: loss/gm)).toHaveLength(2);
  });

  it('lstm demo: loss, characters per second and ETA', () => {
    const out = join(dir, 'demo');
    const r = onTerminal(['demo', '--seconds', '2', '--hidden', '16', '--out', out]);
    expect(r.status, r.screen).toBe(0);
    const shown = frames(r.screen);
    expect(shown.join('\n')).not.toMatch(/\{\w+\}/);
    expect(shown.some((f) => /\d+% \| step \d+ \| loss \d+\.\d+ \| \d+ chars\/s \| ETA \d+s/.test(f)), shown.join('\n')).toBe(true);
    const log = lstm(['demo', '--seconds', '1', '--hidden', '16', '--out', out]);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stdout + log.stderr).not.toContain('\x1b');
  });

  it('lstm predict: rows, rows per second and ETA for a file', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, input: [[i % 7, 1, 2], [3, 4, i % 5]] }));
    const input = join(dir, 'rows.jsonl');
    writeFileSync(input, rows.join('\n') + '\n');
    const model = join(dir, 'f.safetensors');
    return saveModelFile(model, new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 8, batchFirst: true }),
      head: new Linear({ inFeatures: 8, outFeatures: 2 }) }, { seed: 3 })).then(() => {
      const r = onTerminal(['predict', '-m', model, '-i', input, '-o', join(dir, 'out.jsonl')]);
      expect(r.status, r.screen).toBe(0);
      const shown = frames(r.screen);
      expect(shown.join('\n')).not.toMatch(/\{\w+\}/);
      expect(shown.some((f) => /\d+% \| [1-9]\d* rows \| \d+ rows\/s \| ETA \S+/.test(f)), shown.join('\n')).toBe(true);
      expect(r.screen).toMatch(/lstm predict: 3000 rows, 0 errors/);
      const log = lstm(['predict', '-m', model, '-i', input, '-o', join(dir, 'out.jsonl')]);
      expect(log.status, log.stderr).toBe(0);
      expect(log.stderr).toMatch(/^lstm predict: 3000 rows, 0 errors, [\d.]+ s, \d+ rows\/s, \d+ kernel threads?\n$/);
    });
  });
});

describe('lstm predict --threads', () => {
  it('runs n kernel threads (more OS threads in the process) and writes the same bytes as 1 thread', async () => {
    // A model big enough that the kernel splits its work across threads.
    const model = join(dir, 'chars.safetensors');
    await saveModelFile(model, new Sequential({ embed: new Embedding({ numEmbeddings: 65, embeddingDim: 32 }),
      lstm: new LSTM({ inputSize: 32, hiddenSize: 128, batchFirst: true }), head: new Linear({ inFeatures: 128, outFeatures: 65 }) }, { seed: 4 }));
    const input = join(dir, 'tokens.jsonl');
    writeFileSync(input, Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: i, tokens: Array.from({ length: 20 + (i % 40) }, (_, t) => (i * 7 + t * 3) % 65) })).join('\n') + '\n');
    const run = (threads: number) => new Promise<{ peakThreads: number; stderr: string; out: string }>((done, fail) => {
      const out = join(dir, `threads-${threads}.jsonl`);
      const child = spawn(process.execPath, [bin, 'predict', '-m', model, '-i', input, '-o', out, '--threads', String(threads)], { cwd: root });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      let peakThreads = 0;
      const poll = setInterval(() => {
        try {
          const m = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peakThreads = Math.max(peakThreads, Number(m[1]));
        } catch { /* ended */ }
      }, 5);
      child.on('error', fail);
      child.on('close', (status) => {
        clearInterval(poll);
        if (status !== 0) fail(new Error(`exit ${status}: ${stderr}`));
        else done({ peakThreads, stderr, out: readFileSync(out, 'utf8') });
      });
    });
    const one = await run(1);
    const three = await run(3);
    expect(one.stderr).toMatch(/, 1 kernel thread\n$/);
    expect(three.stderr).toMatch(/, 3 kernel threads\n$/);
    expect(three.peakThreads).toBeGreaterThanOrEqual(one.peakThreads + 2);
    expect(three.out.split('\n')).toHaveLength(1501);
    expect(three.out === one.out).toBe(true);
  }, 120_000);
});
