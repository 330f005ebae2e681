#!/usr/bin/env node
// The last step of a release (docs/releasing.md): checks that prebuilds/ holds exactly the
// prebuilds the release promises, each a shared object for its target, that the one for this
// machine (when it is among them) loads, and then packs the package with `npm pack`, checking that
// the tarball holds what a user's install needs and none of the local build folders.
//
//   node scripts/release-pack.mjs [--expect TARGETS] [--dir PKG] [--out DIR]
//
// TARGETS: comma-separated <platform>-<arch>[.<libc>], default the release matrix
// (linux-x64.glibc,linux-x64.musl,linux-arm64.glibc), or none for a package without prebuilds.
// PKG: the package folder (default this repository). DIR: where the tarball goes (default PKG).
// Lifecycle scripts are not run: dist/ must be built already (npm ci or npm run build:ts), and is
// refused when older than lib/.
// Prints the tarball's path on the last line.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RELEASE_MATRIX = ['linux-x64.glibc', 'linux-x64.musl', 'linux-arm64.glibc'];
/** ELF e_machine of each Node arch a prebuild may target. */
const ELF_MACHINE = { x64: 62, arm64: 183, ia32: 3, arm: 40 };

const { values } = parseArgs({ options: { expect: { type: 'string' }, dir: { type: 'string' }, out: { type: 'string' } } });
const pkgDir = resolve(values.dir ?? root);
const outDir = resolve(values.out ?? pkgDir);
const expected = (values.expect === 'none' ? [] : values.expect ? values.expect.split(',') : RELEASE_MATRIX).map((s) => s.trim()).filter(Boolean);

const fail = (msg) => {
  console.error(`release-pack: ${msg}`);
  process.exit(1);
};

/** Files under dir, relative to it, '/'-separated. */
function walk(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [relative(base, p).split('\\').join('/')];
  });
}

/** The target a prebuild's path names: prebuilds/linux-x64/lstm-native.napi.glibc.node -> linux-x64.glibc. */
function targetOf(file) {
  const [, folder, name] = file.split('/');
  const libc = name.split('.').find((t) => t === 'glibc' || t === 'musl');
  return libc ? `${folder}.${libc}` : folder;
}

/** What is wrong with a Linux prebuild's bytes for its target, or null. */
function elfProblem(path, target) {
  const [platform, rest] = target.split('-');
  const [arch, libc] = rest.split('.');
  if (platform !== 'linux') return null;
  const head = Buffer.alloc(20);
  const fd = openSync(path, 'r');
  try { readSync(fd, head, 0, 20, 0); } finally { closeSync(fd); }
  if (head.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  if (head[4] !== 2) return 'not a 64-bit ELF file';
  if (head.readUInt16LE(16) !== 3) return 'not a shared object (ELF type ET_DYN)';
  const machine = head.readUInt16LE(18);
  if (ELF_MACHINE[arch] !== undefined && machine !== ELF_MACHINE[arch]) {
    const name = Object.entries(ELF_MACHINE).find(([, m]) => m === machine)?.[0] ?? `machine ${machine}`;
    return `built for ${name}, not ${arch}`;
  }
  // The C library a shared object links is named in its dynamic string table.
  const bytes = readFileSync(path);
  const musl = bytes.includes('libc.musl-');
  const glibc = bytes.includes('libc.so.6');
  if (libc === 'musl' && !musl) return 'does not link musl (libc.musl-*.so.1)';
  if (libc === 'glibc' && (musl || !glibc)) return 'does not link glibc (libc.so.6)';
  return null;
}

// 1. The prebuilds: exactly the expected targets, one file each, each right for its target.
const prebuilds = walk(join(pkgDir, 'prebuilds')).map((f) => `prebuilds/${f}`);
const byTarget = new Map();
for (const f of prebuilds) {
  if (!f.endsWith('.node')) fail(`${f}: not a .node file; prebuilds/ must hold only prebuilds`);
  const t = targetOf(f);
  if (byTarget.has(t)) fail(`two prebuilds for ${t}: ${byTarget.get(t)} and ${f}`);
  byTarget.set(t, f);
}
const missing = expected.filter((t) => !byTarget.has(t));
const extra = [...byTarget.keys()].filter((t) => !expected.includes(t));
if (missing.length) fail(`no prebuild for ${missing.join(', ')} in ${join(pkgDir, 'prebuilds')} (run npm run build:prebuild on each target; docs/releasing.md)`);
if (extra.length) fail(`prebuilds not in the release: ${extra.map((t) => byTarget.get(t)).join(', ')} (remove them or add them to --expect)`);
for (const [t, f] of byTarget) {
  const problem = elfProblem(join(pkgDir, f), t);
  if (problem) fail(`${f}: ${problem}`);
}

// 2. The prebuild of this machine, when the release has one, loads alone (PREBUILDS_ONLY=1).
const report = /** @type {{ header?: { glibcVersionRuntime?: string } }} */ (process.report.getReport());
const hostTarget = `${process.platform}-${process.arch}${process.platform === 'linux' ? (report.header?.glibcVersionRuntime ? '.glibc' : '.musl') : ''}`;
if (byTarget.has(hostTarget)) {
  const gypBuild = createRequire(join(root, 'package.json')).resolve('node-gyp-build');
  const probe = `const a = require(${JSON.stringify(gypBuild)})(${JSON.stringify(pkgDir)}); console.log(JSON.stringify(a.backendInfo()));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
  if (r.status !== 0) fail(`${byTarget.get(hostTarget)} does not load here:\n${r.stderr}`);
  console.log(`release-pack: ${byTarget.get(hostTarget)} loads here: ${r.stdout.trim()}`);
}

// 3. dist/ is built and not older than the sources it comes from.
for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']) {
  if (!existsSync(join(pkgDir, f))) fail(`${f} is missing: build it first (npm run build:ts)`);
}
const libFiles = walk(join(pkgDir, 'lib'));
if (libFiles.length) {
  const newest = Math.max(...libFiles.map((f) => statSync(join(pkgDir, 'lib', f)).mtimeMs));
  if (statSync(join(pkgDir, 'dist', 'index.js')).mtimeMs < newest) fail('dist/ is older than lib/: rebuild it (npm run build:ts)');
}

// 4. Pack, then check the tarball's file list.
const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
const packed = spawnSync(npmCli[0], [...npmCli.slice(1), 'pack', '--ignore-scripts', '--json', '--pack-destination', outDir],
  { cwd: pkgDir, encoding: 'utf8' });
if (packed.status !== 0) fail(`npm pack failed:\n${packed.stderr}`);
const [info] = JSON.parse(packed.stdout);
const files = info.files.map((f) => f.path);
// Every entry of package.json's `files` that exists here must be in the tarball, file or folder.
const listed = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).files ?? [];
const needed = ['package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', ...byTarget.values(),
  ...listed.filter((f) => existsSync(join(pkgDir, f)) && (statSync(join(pkgDir, f)).isFile() || walk(join(pkgDir, f)).length > 0))];
const absent = needed.filter((f) => !files.includes(f) && !files.some((p) => p.startsWith(`${f}/`)));
const stray = files.filter((f) => /^(build|build-prebuild|test|bench|node_modules)\//.test(f));
const tarball = join(outDir, info.filename);
// A tarball that fails a check is removed, so it cannot be published by mistake.
if (absent.length) { rmSync(tarball); fail(`the tarball lacks ${absent.join(', ')}`); }
if (stray.length) { rmSync(tarball); fail(`the tarball holds files no user needs: ${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', ...' : ''}`); }
console.log(`release-pack: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB packed, prebuilds for ${[...byTarget.keys()].join(', ') || 'no target'}`);
console.log(tarball);
