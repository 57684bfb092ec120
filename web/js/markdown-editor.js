// The markdown editor: CodeMirror 6 (vendored, see vendor/codemirror/) with markdown and
// code-block highlighting, line numbers, search and replace, history, soft wrap, bracket and
// emphasis helpers, formatting shortcuts and a toolbar for them. The view (views/editor.js)
// talks to it through the small interface `createMarkdownEditor` returns.

import {
  Compartment, EditorSelection, EditorState, EditorView, Prec, bracketMatching, classHighlighter,
  closeBrackets, closeBracketsKeymap, codeLanguages, defaultKeymap, drawSelection, dropCursor,
  highlightActiveLine, highlightActiveLineGutter, highlightSelectionMatches, highlightSpecialChars,
  history, historyKeymap, indentOnInput, isolateHistory, keymap, lineNumbers, markdown, markdownLanguage,
  openSearchPanel, placeholder, search, searchKeymap, syntaxHighlighting, tagHighlighter, tags,
  yamlFrontmatter,
} from '../vendor/codemirror/codemirror.js';
import { h } from './dom.js';

/** Classes for what markdown has and CodeMirror's `tok-*` classes leave out (style.css). */
const markdownClasses = tagHighlighter([
  { tag: tags.heading1, class: 'md-h1' },
  { tag: tags.heading2, class: 'md-h2' },
  { tag: tags.heading3, class: 'md-h3' },
  { tag: [tags.heading4, tags.heading5, tags.heading6], class: 'md-h4' },
  { tag: tags.monospace, class: 'md-code' },
  { tag: tags.quote, class: 'md-quote' },
  { tag: tags.strikethrough, class: 'md-strike' },
  { tag: tags.list, class: 'md-list' },
  { tag: [tags.processingInstruction, tags.contentSeparator], class: 'md-mark' },
]);

/** A formatting change: its own step in the history, so one undo takes back one format. */
const FORMAT = { scrollIntoView: true, userEvent: 'input.format', annotations: isolateHistory.of('full') };

/** Characters that wrap a selection instead of replacing it (emphasis, code, strike). */
const WRAPPERS = new Set(['*', '_', '`', '~']);

/**
 * Wraps each selection in `before`/`after`, or unwraps it when it is already wrapped; an empty
 * selection gets the pair with the cursor between.
 */
function toggleWrap(before, after = before) {
  return (view) => {
    const { state } = view;
    const change = state.changeByRange((range) => {
      const outside = state.sliceDoc(range.from - before.length, range.from) === before
        && state.sliceDoc(range.to, range.to + after.length) === after;
      if (outside) {
        return {
          changes: [
            { from: range.from - before.length, to: range.from },
            { from: range.to, to: range.to + after.length },
          ],
          range: EditorSelection.range(range.from - before.length, range.to - before.length),
        };
      }
      const text = state.sliceDoc(range.from, range.to);
      if (text.length >= before.length + after.length && text.startsWith(before) && text.endsWith(after)) {
        const inner = text.slice(before.length, text.length - after.length);
        return {
          changes: { from: range.from, to: range.to, insert: inner },
          range: EditorSelection.range(range.from, range.from + inner.length),
        };
      }
      return {
        changes: [{ from: range.from, insert: before }, { from: range.to, insert: after }],
        range: EditorSelection.range(range.from + before.length, range.to + before.length),
      };
    });
    view.dispatch(state.update(change, FORMAT));
    return true;
  };
}

/** `[text](https://)`: the address is selected, ready to be typed over. */
function insertLink(view) {
  const { state } = view;
  const change = state.changeByRange((range) => {
    const text = state.sliceDoc(range.from, range.to) || 'text';
    const insert = `[${text}](https://)`;
    const url = range.from + text.length + 3;
    return {
      changes: { from: range.from, to: range.to, insert },
      range: range.empty
        ? EditorSelection.range(range.from + 1, range.from + 1 + text.length)
        : EditorSelection.range(url, url + 'https://'.length),
    };
  });
  view.dispatch(state.update(change, FORMAT));
  return true;
}

const HEADING = /^(#{1,6})[ \t]+|^#{1,6}$/;

/** The heading level of the line at `pos` (0 for none). */
function headingLevel(state, pos) {
  const match = state.doc.lineAt(pos).text.match(HEADING);
  return match ? (match[1] ?? match[0]).length : 0;
}

/** Sets every selected line to heading `level` (0: plain paragraph). */
function setHeading(level) {
  return (view) => {
    const { state } = view;
    const changes = [];
    const seen = new Set();
    for (const range of state.selection.ranges) {
      for (let pos = range.from; pos <= range.to;) {
        const line = state.doc.lineAt(pos);
        if (!seen.has(line.number)) {
          seen.add(line.number);
          const match = line.text.match(HEADING);
          const prefix = level ? `${'#'.repeat(level)} ` : '';
          changes.push({ from: line.from, to: line.from + (match ? match[0].length : 0), insert: prefix });
        }
        pos = line.to + 1;
      }
    }
    view.dispatch(state.update({ changes }, FORMAT));
    return true;
  };
}

/** The toolbar's heading button: paragraph → # → ## → ### → paragraph. */
function cycleHeading(view) {
  const level = headingLevel(view.state, view.state.selection.main.head);
  return setHeading(level >= 3 ? 0 : level + 1)(view);
}

/** Typing `*`, `_`, `` ` `` or `~` over a selection wraps it, as in other markdown editors. */
const wrapSelectionOnType = EditorView.inputHandler.of((view, from, to, text) => {
  if (!WRAPPERS.has(text) || view.state.selection.ranges.every((r) => r.empty)) return false;
  return toggleWrap(text)(view);
});

/**
 * The editor's commands, with their keys and toolbar labels. `Mod` is Ctrl, or ⌘ on a Mac.
 * Heading levels use Ctrl+Alt+digit (as word processors do): Ctrl+digit switches browser tabs.
 */
const formatting = [
  { name: 'bold', label: 'Bold', text: 'B', key: 'Mod-b', aria: 'Control+B', run: toggleWrap('**') },
  { name: 'italic', label: 'Italic', text: 'I', key: 'Mod-i', aria: 'Control+I', run: toggleWrap('_') },
  { name: 'code', label: 'Inline code', text: '</>', key: 'Mod-e', aria: 'Control+E', run: toggleWrap('`') },
  { name: 'link', label: 'Link', text: 'Link', key: 'Mod-k', aria: 'Control+K', run: insertLink },
  { name: 'heading', label: 'Heading level', text: 'H', key: 'Mod-Alt-h', aria: 'Control+Alt+H', run: cycleHeading },
];
const headingKeys = [0, 1, 2, 3, 4, 5, 6].map((level) => ({ key: `Mod-Alt-${level}`, run: setHeading(level) }));

/** Sends pasted or dropped images to `onImages` (images.js stores them in the library). */
function imageHandlers(onImages) {
  const take = (event, transfer) => {
    const files = [...(transfer?.files ?? [])].filter((file) => file.type.startsWith('image/'));
    if (!files.length) return false;
    event.preventDefault();
    onImages(files);
    return true;
  };
  return EditorView.domEventHandlers({
    paste: (event) => take(event, event.clipboardData),
    drop: (event) => take(event, event.dataTransfer),
  });
}

/** Colours come from the app's CSS variables, so light and dark follow style.css. */
const appTheme = EditorView.theme({
  '&': { color: 'var(--text)', backgroundColor: 'var(--surface)', height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', fontSize: '14px', lineHeight: '1.6' },
  '.cm-content': { caretColor: 'var(--text)', padding: '12px 0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--accent-soft)', color: 'var(--text)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection': {
    backgroundColor: 'var(--selection)',
  },
  '.cm-searchMatch': { backgroundColor: 'var(--warning-bg)', outline: '1px solid var(--warning-text)' },
  '.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: 'var(--accent-soft)' },
  '.cm-selectionMatch': { backgroundColor: 'var(--accent-soft)' },
  '&.cm-focused .cm-matchingBracket': { backgroundColor: 'var(--accent-soft)', outline: '1px solid var(--accent)' },
  '.cm-panels': { backgroundColor: 'var(--surface-2)', color: 'var(--text)' },
  '.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--border)' },
  '.cm-panel.cm-search': { padding: '6px 8px', fontFamily: 'var(--font)' },
  '.cm-panel.cm-search input, .cm-panel.cm-search button, .cm-panel.cm-search label': { fontSize: '13px' },
  '.cm-textfield': { backgroundColor: 'var(--surface)', color: 'var(--text)', border: '1px solid var(--border)', borderRadius: '4px' },
  '.cm-button': { backgroundImage: 'none', backgroundColor: 'var(--surface)', color: 'var(--text)', border: '1px solid var(--border)', borderRadius: '4px' },
  '.cm-placeholder': { color: 'var(--muted)' },
});

/**
 * Builds the editor inside `parent`.
 * - `text`: the starting markdown; `labelledBy`/`describedBy`: ids for screen readers.
 * - `onChange(text)` after every edit; `onCursorLine(line)` when the cursor moves to another
 *   line (1-based); `onCreate()` on Ctrl/⌘+Enter; `onImages(files)` on pasting or dropping images.
 */
export function createMarkdownEditor({ parent, text, labelledBy, describedBy, hint, onChange, onCursorLine, onCreate, onImages }) {
  // The page's policy allows only the style element that carries this nonce (server: web.rs).
  const nonce = document.querySelector('meta[name="folio-style-nonce"]')?.content ?? '';
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const darkness = new Compartment();
  let cursorLine = 0;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        dropCursor(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        wrapSelectionOnType,
        highlightActiveLine(),
        highlightSelectionMatches(),
        search({ top: true }),
        EditorView.lineWrapping,
        placeholder(hint),
        yamlFrontmatter({ content: markdown({ base: markdownLanguage, codeLanguages }) }),
        syntaxHighlighting(classHighlighter),
        syntaxHighlighting(markdownClasses),
        EditorView.cspNonce.of(nonce),
        appTheme,
        darkness.of(EditorView.darkTheme.of(dark.matches)),
        imageHandlers(onImages),
        EditorView.contentAttributes.of({
          id: 'markdown',
          'aria-labelledby': labelledBy,
          'aria-describedby': describedBy,
          spellcheck: 'true',
          autocorrect: 'off',
          autocapitalize: 'off',
        }),
        // Before the default keys: Ctrl+I is italic here, not "select the parent syntax", and
        // Ctrl+Enter creates the PDF instead of inserting a blank line.
        Prec.high(keymap.of([
          ...formatting.map(({ key, run }) => ({ key, run, preventDefault: true })),
          ...headingKeys,
          { key: 'Mod-Enter', run: () => { onCreate(); return true; } },
        ])),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap]),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
          if (update.docChanged || update.selectionSet) {
            const line = update.state.doc.lineAt(update.state.selection.main.head).number;
            if (line !== cursorLine) {
              cursorLine = line;
              onCursorLine(line);
            }
          }
        }),
      ],
    }),
  });
  // The image button's file chooser (hidden; its files go where pasted ones go).
  const picker = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', multiple: true, hidden: true, id: 'image-picker' });
  picker.addEventListener('change', () => {
    const files = [...picker.files];
    picker.value = '';
    if (files.length) onImages(files);
  });
  parent.append(picker);
  const followScheme = () => view.dispatch({ effects: darkness.reconfigure(EditorView.darkTheme.of(dark.matches)) });
  dark.addEventListener('change', followScheme);

  const run = (command) => () => {
    command(view);
    view.focus();
  };
  const buttons = [
    ...formatting.map(({ name, label, text: shown, aria, key, run: command }) => h('button', {
      type: 'button',
      class: `tool tool-${name}`,
      'aria-label': label,
      'aria-keyshortcuts': aria,
      title: `${label} (${aria.replace('Control', 'Ctrl')})`,
      tabindex: '-1',
      onclick: run(command),
    }, shown)),
    h('button', {
      type: 'button',
      class: 'tool tool-image',
      'aria-label': 'Insert images',
      title: 'Insert images (or paste or drop them)',
      tabindex: '-1',
      onclick: () => picker.click(),
    }, 'Image'),
    h('button', {
      type: 'button',
      class: 'tool tool-search',
      'aria-label': 'Search and replace',
      'aria-keyshortcuts': 'Control+F',
      title: 'Search and replace (Ctrl+F)',
      tabindex: '-1',
      onclick: run(openSearchPanel),
    }, 'Find'),
  ];
  buttons[0].tabIndex = 0;
  // Keeps the selection in the editor when a button is pressed with the mouse.
  for (const button of buttons) button.addEventListener('mousedown', (event) => event.preventDefault());
  const toolbar = h('div', { class: 'format-toolbar', role: 'toolbar', 'aria-label': 'Formatting', 'aria-controls': 'markdown' }, buttons);
  // One tab stop for the toolbar; arrows move between its buttons (WAI-ARIA toolbar pattern).
  toolbar.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const target = buttons[(next + buttons.length) % buttons.length];
    for (const button of buttons) button.tabIndex = button === target ? 0 : -1;
    target.focus();
  });

  return {
    view,
    toolbar,
    text: () => view.state.doc.toString(),
    /** Replaces the whole text (one undoable step). */
    setText(value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    },
    focus: () => view.focus(),
    /** Inserts `text` as its own paragraph at the cursor (one undoable step). */
    insert(text) {
      const { from, to } = view.state.selection.main;
      const doc = view.state.doc;
      // A blank line on each side, counting the line breaks already there.
      const preceding = doc.sliceString(Math.max(0, from - 2), from);
      const following = doc.sliceString(to, Math.min(doc.length, to + 2));
      const before = from === 0 || preceding === '\n\n' ? '' : preceding.endsWith('\n') ? '\n' : '\n\n';
      const after = following === '\n\n' ? '' : following.startsWith('\n') ? '\n' : '\n\n';
      const insert = `${before}${text}${after}`;
      view.dispatch({ changes: { from, to, insert }, selection: { anchor: from + insert.length }, scrollIntoView: true });
    },
    /** Selects line `line` (1-based, clamped), scrolls it to the upper third and focuses. */
    selectLine(line) {
      const target = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
      view.dispatch({
        selection: EditorSelection.range(target.from, target.to),
        effects: EditorView.scrollIntoView(target.from, { y: 'start', yMargin: view.dom.clientHeight / 3 }),
      });
      view.focus();
    },
    /** Puts the cursor at the start of line `line` (1-based, clamped) and focuses. */
    cursorTo(line) {
      const target = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
      view.dispatch({ selection: EditorSelection.cursor(target.from), scrollIntoView: true });
      view.focus();
    },
    destroy() {
      dark.removeEventListener('change', followScheme);
      view.destroy();
    },
  };
}
