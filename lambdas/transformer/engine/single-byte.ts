/**
 * The two single-byte charsets a feed may declare, decoded natively: latin1 maps byte n to U+00nn;
 * windows-1252 differs only in 0x80-0x9F, where it has 27 characters and five undefined bytes (0x81
 * 0x8D 0x8F 0x90 0x9D), decoded as U+FFFD as iconv-lite decodes them. Node's latin1 decoding runs
 * in C++; the Lambda bundle no longer carries iconv-lite's tables of every charset (481 KiB of the
 * 1.5 MiB the function parses at a cold start).
 */

/** windows-1252 at 0x80-0x9F; U+FFFD where the byte is not defined. */
const WINDOWS_1252_C1 =
  '\u20ac\ufffd\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\ufffd\u017d\ufffd' +
  '\ufffd\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\ufffd\u017e\u0178';
const C1_BYTES = /[\x80-\x9f]/;
const C1_BYTES_ALL = /[\x80-\x9f]/g;
const toWindows1252 = (c: string): string => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]!;

/** The text of single-byte `bytes`; an undefined windows-1252 byte becomes U+FFFD. */
export function decodeSingleByte(bytes: Uint8Array, encoding: 'latin1' | 'windows-1252'): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return encoding === 'windows-1252' && C1_BYTES.test(text) ? text.replace(C1_BYTES_ALL, toWindows1252) : text;
}

/** The windows-1252 byte of a character, or `undefined` when windows-1252 cannot write it. */
export function windows1252Byte(char: string): number | undefined {
  if (char.length !== 1) return undefined;
  const code = char.charCodeAt(0);
  if (code <= 0xff) return code >= 0x80 && code <= 0x9f ? undefined : code;
  const at = WINDOWS_1252_C1.indexOf(char);
  return at === -1 || char === '\ufffd' ? undefined : 0x80 + at;
}
