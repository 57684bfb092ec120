// What folio's editor (web/js/markdown-editor.js) uses from CodeMirror, as one ES module.
// build.mjs bundles this file into web/vendor/codemirror.js.

export { Compartment, EditorSelection, EditorState, Prec } from '@codemirror/state';
export {
  EditorView, drawSelection, dropCursor, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, keymap, lineNumbers, placeholder,
} from '@codemirror/view';
export { defaultKeymap, history, historyKeymap, isolateHistory } from '@codemirror/commands';
export { bracketMatching, indentOnInput, syntaxHighlighting, syntaxTree } from '@codemirror/language';
export {
  closeSearchPanel, highlightSelectionMatches, openSearchPanel, search, searchKeymap,
  searchPanelOpen,
} from '@codemirror/search';
export { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
export { markdown, markdownKeymap, markdownLanguage } from '@codemirror/lang-markdown';
export { yamlFrontmatter } from '@codemirror/lang-yaml';
export { classHighlighter, tagHighlighter, tags } from '@lezer/highlight';
export { codeLanguages } from './languages.js';
