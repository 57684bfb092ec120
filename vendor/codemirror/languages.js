// The languages fenced code blocks are highlighted in. Each parser is its own chunk, fetched
// the first time a block names it, so the editor starts with the markdown parser only. Names
// and aliases follow what people write after the fence; anything else stays plain.

import { LanguageDescription, LanguageSupport, StreamLanguage } from '@codemirror/language';

const legacy = (load) => () => load().then((mode) => new LanguageSupport(StreamLanguage.define(mode)));

const cpp = () => import('@codemirror/lang-cpp').then((m) => m.cpp());
const javascript = (config) => () => import('@codemirror/lang-javascript').then((m) => m.javascript(config));

const table = [
  ['C', ['c', 'h'], cpp],
  ['C++', ['cpp', 'c++', 'cc', 'cxx', 'hpp'], cpp],
  ['CSS', ['css'], () => import('@codemirror/lang-css').then((m) => m.css())],
  ['Diff', ['diff', 'patch'], legacy(() => import('@codemirror/legacy-modes/mode/diff').then((m) => m.diff))],
  ['Go', ['go', 'golang'], () => import('@codemirror/lang-go').then((m) => m.go())],
  ['HTML', ['html', 'htm', 'xhtml'], () => import('@codemirror/lang-html').then((m) => m.html())],
  ['Java', ['java'], () => import('@codemirror/lang-java').then((m) => m.java())],
  ['JavaScript', ['javascript', 'js', 'mjs', 'cjs', 'node'], javascript({})],
  ['JSX', ['jsx'], javascript({ jsx: true })],
  ['TypeScript', ['typescript', 'ts'], javascript({ typescript: true })],
  ['TSX', ['tsx'], javascript({ jsx: true, typescript: true })],
  ['JSON', ['json', 'jsonc', 'json5'], () => import('@codemirror/lang-json').then((m) => m.json())],
  ['Python', ['python', 'py', 'python3'], () => import('@codemirror/lang-python').then((m) => m.python())],
  ['Rust', ['rust', 'rs'], () => import('@codemirror/lang-rust').then((m) => m.rust())],
  ['Shell', ['sh', 'bash', 'shell', 'zsh', 'console'], legacy(() => import('@codemirror/legacy-modes/mode/shell').then((m) => m.shell))],
  ['SQL', ['sql', 'postgresql', 'postgres', 'mysql', 'sqlite'], () => import('@codemirror/lang-sql').then((m) => m.sql())],
  ['TOML', ['toml'], legacy(() => import('@codemirror/legacy-modes/mode/toml').then((m) => m.toml))],
  ['YAML', ['yaml', 'yml'], () => import('@codemirror/lang-yaml').then((m) => m.yaml())],
];

/** For `markdown({ codeLanguages })`: every language above, matched by name or alias. */
export const codeLanguages = table.map(([name, alias, load]) =>
  LanguageDescription.of({ name, alias, extensions: alias, load }));
