/**
 * Text bound for a terminal. Partner data (cells, headers, object keys, file names) can hold control
 * bytes: a NUL, an escape sequence that moves the cursor or retitles the window, a bidi override
 * that reorders what the reader sees. They are shown as escapes (`\u0000`, `\u001b`, `\u202e`),
 * never sent raw; line breaks stay line breaks. The escapes are JSON's, so JSON printed through
 * here stays valid JSON with the same values.
 */

/** C0 controls but line feed, DEL, C1 controls, line and paragraph separators, bidi embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text with every control character written as a visible escape; `\n` kept. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A writer that escapes everything written through it: every command's terminal output goes through one. */
export interface SafeWriter {
  write(text: string): void;
}

export function safeWriter(stream: NodeJS.WritableStream): SafeWriter {
  return { write: (text) => stream.write(escapeControls(text)) };
}
