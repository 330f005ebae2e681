/**
 * The release path as a user meets it (docs/releasing.md): scripts/build-prebuild.mjs and
 * scripts/release-pack.mjs make a tarball that `npm install` puts into an empty project with no
 * compiler on PATH (the prebuild loads), release-pack refuses a prebuild built for another target,
 * and a tarball whose prebuilds fit nothing here builds the addon from source at install.
 *
 * Cost: the prebuild compiles in build-prebuild/ of the repository, which is kept, so only the
 * first run compiles it in full; the from-source install compiles the whole addon once per run
 * (about a minute of CPU), because that compile from the tarball's own files is what it checks.
 * The installs take the package's dependencies from npm's cache (--prefer-offline).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const npmCli = process.env.npm_execpath?.endsWith('.js')
  ? process.env.npm_execpath
  : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const libc = process.platform !== 'linux' ? '' : (process.report.getReport() as { header?: { glibcVersionRuntime?: string } })
  .header?.glibcVersionRuntime ? 'glibc' : 'musl';
const host = `${process.platform}-${process.arch}`;
const hostTarget = libc ? `${host}.${libc}` : host;
const otherArch = process.arch === 'x64' ? 'arm64' : 'x64';
const otherLibc = libc === 'glibc' ? 'musl' : 'glibc';
/** The foreign package's targets: another arch, and on Linux this arch with the other C library. */
const foreignTargets = [`${process.platform}-${otherArch}${libc ? `.${libc}` : ''}`, ...(libc ? [`${host}.${otherLibc}`] : [])];
const smoke = `
  const m = require('lstm-native');
  const x = m.tensor(new Float32Array(2 * 3 * 4).fill(0.5), [2, 3, 4]);
  const { output } = new m.LSTM({ inputSize: 4, hiddenSize: 5, seed: 1 }).forward(x);
  const dir = require('path').dirname(require.resolve('lstm-native/package.json'));
  console.log(JSON.stringify({ info: m.backendInfo(), shape: output.shape, finite: output.data.every(Number.isFinite),
    loaded: require('node-gyp-build').path(dir) }));
`;

/** The environment of a user's shell: none of npm's own variables or this suite's overrides. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|INIT_CWD$|PREBUILDS_ONLY$|LSTM_NATIVE_(PREBUILD|BUILD_DIR|POISON_OUTPUTS)$)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  const seconds = (Date.now() - t0) / 1000;
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds };
}

/** An empty project that installs `tarball`; returns npm's result and the smoke test's. */
function installInEmptyProject(name: string, tarball: string, env: NodeJS.ProcessEnv) {
  const app = join(stage, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  const npm = run(process.execPath, [npmCli, 'install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'],
    app, env, 900_000);
  if (npm.status !== 0) throw new Error(`npm install in ${app} failed (${npm.status}):\n${npm.stdout}\n${npm.stderr}`);
  const probe = run(process.execPath, ['-e', smoke], app, env, 60_000);
  if (probe.status !== 0) throw new Error(`loading lstm-native in ${app} failed:\n${probe.stderr}`);
  const loaded = JSON.parse(probe.stdout.trim().split('\n').pop()!) as
    { info: { blas: string; isa: string }; shape: number[]; finite: boolean; loaded: string };
  return { npm, loaded, pkgDir: join(app, 'node_modules', 'lstm-native') };
}

let stage = '';
let pkg = '';        // the package as `npm pack` ships it, plus the prebuild of this machine
let foreign = '';    // the same with prebuilds that fit no target here

beforeAll(() => {
  stage = mkdtempSync(join(tmpdir(), 'lstm-native-release-'));
  const packed = run(process.execPath, [npmCli, 'pack', root, '--ignore-scripts', '--json', '--pack-destination', stage],
    stage, userEnv(), 120_000);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const { filename } = (JSON.parse(packed.stdout) as { filename: string }[])[0]!;
  execFileSync('tar', ['xzf', join(stage, filename), '-C', stage]);
  rmSync(join(stage, filename));
  pkg = join(stage, 'package');
  rmSync(join(pkg, 'prebuilds'), { recursive: true, force: true }); // whatever a developer left in the tree
  execFileSync(process.execPath, [join(root, 'scripts', 'build-prebuild.mjs'), '--out', pkg],
    { cwd: root, stdio: 'pipe', env: userEnv({ LSTM_NATIVE_BLAS: 'builtin' }), timeout: 900_000 });

  // Prebuilds for another arch, and on Linux for this arch with the other C library: none fits.
  foreign = join(stage, 'foreign');
  cpSync(pkg, foreign, { recursive: true });
  rmSync(join(foreign, 'prebuilds'), { recursive: true });
  const built = join(pkg, 'prebuilds', host, readdirSync(join(pkg, 'prebuilds', host))[0]!);
  for (const t of foreignTargets) {
    const [folder, tag] = t.split('.');
    mkdirSync(join(foreign, 'prebuilds', folder!), { recursive: true });
    cpSync(built, join(foreign, 'prebuilds', folder!, `lstm-native.napi${tag ? `.${tag}` : ''}.node`));
  }
}, 900_000);

afterAll(() => {
  if (stage) rmSync(stage, { recursive: true, force: true });
});

describe('the npm scripts', () => {
  it('have no pre- or post-hooks that npm would run around another script', () => {
    // npm runs `preX` before and `postX` after `npm run X`: a script named like that runs unasked
    // (a `prebuild` once made every `npm run build` build the addon twice and leave a prebuild).
    const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts);
    const hooks = scripts.filter((s) => ['pre', 'post'].some((p) => s.startsWith(p) && scripts.includes(s.slice(p.length))));
    expect(hooks).toEqual([]);
  });

  it('npm pack of the repository ships no build folder, test or bench file, nor the release scripts', () => {
    const r = run(process.execPath, [npmCli, 'pack', '--dry-run', '--ignore-scripts', '--json'], root, userEnv(), 120_000);
    expect(r.status).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files.filter((f) => /^(build|build-prebuild|test|bench|node_modules)\//.test(f))).toEqual([]);
    expect(files).toContain('scripts/build-native.mjs');
    expect(files.filter((f) => f.startsWith('scripts/') && f !== 'scripts/build-native.mjs')).toEqual([]);
    expect(files).toContain('CMakeLists.txt');
    expect(files).toContain('dist/index.js');
  });
});

describe('release-pack', () => {
  it('refuses a prebuild built for another arch, and one the release does not list', () => {
    const script = join(root, 'scripts', 'release-pack.mjs');
    const wrongArch = run(process.execPath, [script, '--dir', foreign, '--out', stage, '--expect', foreignTargets.join(',')],
      root, userEnv(), 120_000);
    expect(wrongArch.status).toBe(1);
    expect(wrongArch.stderr).toMatch(new RegExp(`built for ${process.arch}, not ${otherArch}`));
    const unlisted = run(process.execPath, [script, '--dir', foreign, '--out', stage, '--expect', foreignTargets[0]!],
      root, userEnv(), 120_000);
    expect(unlisted.status).toBe(1);
    expect(unlisted.stderr).toMatch(/prebuilds not in the release/);
    expect(readdirSync(stage).filter((f) => f.endsWith('.tgz'))).toEqual([]);
  });

  it('refuses, and removes, a tarball that would ship a local build folder', () => {
    const stray = join(stage, 'stray');
    cpSync(pkg, stray, { recursive: true });
    mkdirSync(join(stray, 'build', 'Release'), { recursive: true });
    writeFileSync(join(stray, 'build', 'Release', 'lstm_native.node'), 'not shipped');
    const manifest = JSON.parse(readFileSync(join(stray, 'package.json'), 'utf8')) as { files: string[] };
    writeFileSync(join(stray, 'package.json'), JSON.stringify({ ...manifest, files: [...manifest.files, 'build'] }));
    const out = join(stage, 'stray-tgz');
    mkdirSync(out);
    const r = run(process.execPath, [join(root, 'scripts', 'release-pack.mjs'), '--dir', stray, '--out', out, '--expect', hostTarget],
      root, userEnv(), 120_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the tarball holds files no user needs: build\/Release\/lstm_native\.node/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a prebuild loads alone through LSTM_NATIVE_PREBUILD with PREBUILDS_ONLY=1', () => {
    // node-gyp-build's documented <PACKAGE>_PREBUILD override points it at the staged package.
    const r = run(process.execPath, ['--input-type=module', '-e',
      `import * as m from ${JSON.stringify(join(root, 'dist', 'index.js'))}; console.log(JSON.stringify(m.backendInfo()));`],
    root, userEnv({ PREBUILDS_ONLY: '1', LSTM_NATIVE_PREBUILD: pkg }), 60_000);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim()).blas).toBe('builtin');
  });
});

describe('installing the packed tarball in an empty project', () => {
  it('uses the prebuild: installs and loads with no compiler, cmake or make on PATH', () => {
    const packed = run(process.execPath, [join(root, 'scripts', 'release-pack.mjs'), '--dir', pkg, '--out', stage, '--expect', hostTarget],
      root, userEnv(), 300_000);
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = packed.stdout.trim().split('\n').pop()!;
    // PATH holds node and sh (npm runs scripts with sh) and nothing else.
    const bin = join(stage, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const { npm, loaded, pkgDir } = installInEmptyProject('with-prebuild', tarball, userEnv({ PATH: bin }));
    console.log(`npm install of the tarball with its prebuild: ${npm.seconds.toFixed(1)} s; npm said:\n${npm.stderr.trim()}`);
    expect(npm.stdout).toMatch(/a prebuilt or earlier build of the addon loads; nothing to build/);
    expect(loaded.loaded).toBe(join(pkgDir, 'prebuilds', host, `lstm-native.napi${libc ? `.${libc}` : ''}.node`));
    expect(existsSync(join(pkgDir, 'build'))).toBe(false);
    expect(loaded.info.blas).toBe('builtin');
    expect(loaded.shape).toEqual([2, 3, 5]);
    expect(loaded.finite).toBe(true);
  }, 600_000);

  it('builds the addon from source when no prebuild fits this platform', () => {
    const out = join(stage, 'foreign-tgz');
    mkdirSync(out);
    const packed = run(process.execPath, [npmCli, 'pack', '--ignore-scripts', '--json', '--pack-destination', out], foreign, userEnv(), 120_000);
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = join(out, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
    const { npm, loaded, pkgDir } = installInEmptyProject('from-source', tarball, userEnv());
    console.log(`npm install of the tarball, built from source: ${npm.seconds.toFixed(1)} s`);
    expect(npm.stdout).toMatch(/lstm-native: building the addon/);
    expect(loaded.loaded).toBe(join(pkgDir, 'build', 'Release', 'lstm_native.node'));
    expect(loaded.shape).toEqual([2, 3, 5]);
    expect(loaded.finite).toBe(true);
  }, 900_000);
});
