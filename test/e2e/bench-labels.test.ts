/**
 * The benchmark's machine label and allocator setting: every table names the CPU (model, family
 * and model numbers, SIMD flags) and the ISA and GEMM lstm-native ran, and `npm run bench` runs
 * its children with glibc's default allocator unless `--malloc steady` is given.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const common = await import(join(root, 'bench', 'lib', 'common.mjs')) as {
  parseCpuinfo(text: string, fallbackModel?: string, cores?: number): { family: number | null; model: number | null; core: string | null; flags: string[]; modelName: string };
  machineLabel(cpu: object, backend?: { isa: string; blas: string; threads: number }): string;
};

const zen4 = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
stepping\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_bf16

processor\t: 1
vendor_id\t: AuthenticAMD
`;
const intel = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz
stepping\t: 4
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512vl
`;
const arm = `processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes crc32 sve
CPU implementer\t: 0x41
CPU part\t: 0xd40
`;

describe('machine label', () => {
  it('names the CPU model, its family and model numbers, AMD\'s core and the SIMD flags', () => {
    const amd = common.parseCpuinfo(zen4);
    expect(amd).toMatchObject({ family: 25, model: 17, core: 'Zen 4', modelName: 'AMD EPYC 9R14 96-Core Processor' });
    expect(common.machineLabel(amd, { isa: 'avx512', blas: 'builtin', threads: 2 })).toBe(
      'AMD EPYC 9R14 96-Core Processor (Zen 4, family 25 model 17; avx avx2 fma avx512f avx512bw avx512vl avx512_bf16), ' +
      'lstm-native ISA avx512, GEMM builtin, 2 threads');
    expect(common.parseCpuinfo(zen4.replace('model\t\t: 17', 'model\t\t: 1')).core).toBe('Zen 3');
    expect(common.machineLabel(common.parseCpuinfo(intel))).toBe(
      'Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz (family 6 model 85; avx avx2 fma avx512f avx512bw avx512vl)');
    expect(common.machineLabel(common.parseCpuinfo(arm, 'arm64 cpu'), { isa: 'neon', blas: 'openblas', threads: 4 }))
      .toBe('arm64 cpu (asimd sve), lstm-native ISA neon, GEMM openblas, 4 threads');
  });
});

describe('npm run bench', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lstm-native-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bench = (args: string[]) => {
    const json = join(dir, `${args.join('_').replace(/\W/g, '')}.json`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MALLOC_')));
    const r = spawnSync(process.execPath, [join(root, 'bench', 'run.mjs'), '--quick', '--no-peers', '--only', 'W4', '--json', json, ...args],
      { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`bench failed (${r.status}):\n${r.stderr}`);
    return { table: r.stdout, result: JSON.parse(readFileSync(json, 'utf8')) as {
      machine: { label: string }; raw: { system: string; case: string; malloc?: Record<string, string> }[] } };
  };

  it('labels the run and every table, and runs with glibc\'s default allocator; --malloc steady sets the thresholds', () => {
    const plain = bench([]);
    const label = plain.result.machine.label;
    expect(label).toMatch(/, lstm-native ISA (avx512|avx2|neon|scalar), GEMM (builtin|openblas), \d+ threads$/);
    expect(plain.table).toContain(`- machine: **${label}**`);
    expect(plain.table).toContain(`## W4 latency (I 32, H 128, B 1, T 50, forward)\n\nMachine: ${label}.`);
    const w4 = plain.result.raw.find((r) => r.system === 'ours' && r.case === 'W4')!;
    expect(w4.malloc).toEqual({});
    const steady = bench(['--malloc', 'steady']);
    expect(steady.result.raw.find((r) => r.system === 'ours' && r.case === 'W4')!.malloc)
      .toEqual({ MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '134217728' });
  }, 600_000);
});
