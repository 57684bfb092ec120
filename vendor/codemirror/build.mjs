// Bundles entry.js with esbuild into web/vendor/codemirror/ (codemirror.js, and one chunk per
// code-block language, loaded on first use), and writes beside it the exact version of every
// package inside and their licences. The output is deterministic: `node build.mjs --check`
// rebuilds into memory and fails if the committed directory differs (CI runs it, so the
// vendored bundle is always what the pinned packages produce).

import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const here = import.meta.dirname;
const out = join(here, '..', '..', 'web', 'vendor', 'codemirror');

const result = await build({
  entryPoints: { codemirror: join(here, 'entry.js') },
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  legalComments: 'none', // every licence is in codemirror.licenses.txt instead
  splitting: true,
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  metafile: true,
  write: false,
  logLevel: 'warning',
});

// The packages whose code is in the bundle, found from esbuild's list of inputs.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!match || packages.has(match[1])) continue;
  const root = join(here, 'node_modules', match[1]);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(root).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  if (!licenceFile) throw new Error(`${match[1]} has no licence file: check its terms by hand`);
  packages.set(match[1], {
    version: manifest.version,
    license: manifest.license,
    text: readFileSync(join(root, licenceFile), 'utf8').trim(),
  });
}
const names = [...packages.keys()].sort();
const pinned = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).dependencies;
for (const [name, version] of Object.entries(pinned)) {
  if (packages.has(name) && packages.get(name).version !== version) {
    throw new Error(`${name} is ${packages.get(name).version} in node_modules, pinned ${version}: run npm ci`);
  }
}

const versions = Object.fromEntries(names.map((name) => [name, packages.get(name).version]));
const banner = `/* CodeMirror 6 for folio, built by vendor/codemirror/build.mjs with esbuild ${esbuildVersion()}.\n`
  + ` * Packages: ${names.map((n) => `${n}@${versions[n]}`).join(', ')}.\n`
  + ' * Licences: LICENSES.txt beside this file. */\n';
/** File name in `out` → its contents. */
const expected = new Map(result.outputFiles.map((file) => [
  basename(file.path),
  basename(file.path) === 'codemirror.js' ? banner + file.text : file.text,
]));
expected.set('versions.json', `${JSON.stringify(versions, null, 2)}\n`);
expected.set('LICENSES.txt', names.map((name) => {
  const p = packages.get(name);
  return `${name}@${p.version} (${p.license})\n${'-'.repeat(72)}\n${p.text}\n`;
}).join('\n'));
const total = [...expected.values()].reduce((sum, text) => sum + Buffer.byteLength(text), 0);

function esbuildVersion() {
  return JSON.parse(readFileSync(join(here, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
}

const shown = relative(process.cwd(), out);
if (process.argv.includes('--check')) {
  const present = existsSync(out) ? readdirSync(out) : [];
  const differ = [...new Set([...present, ...expected.keys()])].sort().filter((name) =>
    !expected.has(name) || !present.includes(name) || readFileSync(join(out, name), 'utf8') !== expected.get(name));
  if (differ.length) {
    console.error(`error: ${shown}/{${differ.join(',')}} differ from what the pinned packages build: run vendor/codemirror/build.sh and commit`);
    process.exit(1);
  }
  console.log(`${shown} is what the pinned packages build (${names.length} packages)`);
} else {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const [name, text] of expected) writeFileSync(join(out, name), text);
  const main = Buffer.byteLength(expected.get('codemirror.js'));
  console.log(`wrote ${shown}: codemirror.js ${(main / 1024).toFixed(0)} KiB, ${expected.size - 3} language chunks, ${(total / 1024).toFixed(0)} KiB in all, ${names.length} packages`);
}
