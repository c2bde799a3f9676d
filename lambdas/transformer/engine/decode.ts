import { isUtf8 } from 'node:buffer';
import type { Encoding } from '../model.js';
import { FileLevelError } from './outcome.js';
import { decodeSingleByte } from './single-byte.js';

/** Limits the decoder enforces while it streams. */
export interface DecodeOptions {
  readonly encoding: Encoding;
  /** Refuse the file (`TOO_LARGE`) once more bytes than this have arrived. */
  readonly maxBytes: number;
  /** Called with the running byte count after every chunk (progress reporting). */
  readonly onBytes?: (bytes: number) => void;
  /**
   * Where the input starts when it is a byte range of a file (a split chunk): `encoding` is then the
   * one the file's start settled (no BOM is looked for), and errors name offsets and lines of the file.
   */
  readonly start?: { readonly textOffset: number; readonly line: number };
  /** Called once the encoding is settled: the one read in, and whether a byte-order mark chose it. */
  readonly onEncoding?: (encoding: Encoding, bom: boolean) => void;
}

/** Bytes looked at before decoding starts: the byte-order mark, and the NUL pattern of UTF-16 without one. */
export const SNIFF_BYTES = 1024;
/** Fewer characters than this say nothing about UTF-16 (a lone emoji has a NUL byte in two bytes of four). */
const MIN_SNIFF_PAIRS = 8;

const BOMS: readonly { bytes: readonly number[]; encoding: Encoding }[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'utf-8' },
  { bytes: [0xff, 0xfe], encoding: 'utf-16le' },
  { bytes: [0xfe, 0xff], encoding: 'utf-16be' },
];

interface ChunkDecoder {
  /** Decodes one chunk; throws `FileLevelError` on bytes invalid for the encoding. */
  write(chunk: Uint8Array): string;
  end(): string;
}

/**
 * Turns a byte stream into text. A byte-order mark selects UTF-8, UTF-16LE or UTF-16BE whatever the
 * declaration and is dropped. Bytes invalid for the encoding end the file with `ENCODING_ERROR`
 * (never a silent U+FFFD); more than `maxBytes` ends it with `TOO_LARGE`. Reports the byte offset
 * and the line of the first invalid byte.
 */
export async function* decodeStream(input: AsyncIterable<Uint8Array>, options: DecodeOptions): AsyncGenerator<string> {
  let bytes = 0;
  let lines = options.start?.line ?? 1; // line of the next decoded character, for error messages
  let endsWithCR = false; // a CRLF split across two chunks is one line break, not two
  let decoder: ChunkDecoder | undefined;
  let head = Buffer.alloc(0); // bytes held back until the BOM question is settled

  /** The line an invalid byte is on, after `text` (not emitted yet); a CRLF split across pieces is one line break. */
  const lineAfter = (text: string): number => lines + countLineBreaks(text) - (endsWithCR && text.charCodeAt(0) === 10 ? 1 : 0);
  const emit = (text: string): string => {
    lines = lineAfter(text);
    endsWithCR = text.charCodeAt(text.length - 1) === 13;
    return text;
  };
  if (options.start) decoder = createChunkDecoder(options.encoding, lineAfter, options.start.textOffset);

  for await (const raw of input) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    bytes += chunk.length;
    if (bytes > options.maxBytes) {
      throw new FileLevelError('TOO_LARGE', `file is larger than the feed's limit of ${formatMiB(options.maxBytes)}`);
    }
    options.onBytes?.(bytes);
    let data: Buffer = chunk;
    if (!decoder) {
      head = Buffer.concat([head, chunk]);
      if (head.length < SNIFF_BYTES) continue;
      const picked = pickEncoding(head, options.encoding);
      options.onEncoding?.(picked.encoding, picked.bomLength > 0);
      decoder = createChunkDecoder(picked.encoding, lineAfter);
      data = head.subarray(picked.bomLength);
    }
    yield* decodePiece(decoder, data, emit);
  }
  if (!decoder) {
    if (head.length === 0) return;
    const picked = pickEncoding(head, options.encoding);
    options.onEncoding?.(picked.encoding, picked.bomLength > 0);
    decoder = createChunkDecoder(picked.encoding, lineAfter);
    yield* decodePiece(decoder, head.subarray(picked.bomLength), emit);
  }
  yield* decodePiece(decoder, undefined, emit);
}

/**
 * One piece through the decoder (`undefined`: the end of the input). On invalid bytes the text before
 * them is read first, so what a failed file counts never depends on how its bytes were chunked.
 */
function* decodePiece(decoder: ChunkDecoder, data: Uint8Array | undefined, emit: (text: string) => string): Generator<string> {
  let text: string;
  try {
    text = data ? decoder.write(data) : decoder.end();
  } catch (err) {
    if (err instanceof EncodingFailure && err.validText) yield emit(err.validText);
    throw err;
  }
  if (text) yield emit(text);
}

/** The encoding a file is read in: its byte-order mark's, or else the declared one. Needs the first 3 bytes (or all of a shorter file). */
export function pickEncoding(head: Uint8Array, declared: Encoding): { encoding: Encoding; bomLength: number } {
  for (const bom of BOMS) {
    if (bom.bytes.every((b, i) => head[i] === b)) return { encoding: bom.encoding, bomLength: bom.bytes.length };
  }
  const utf16 = sniffUtf16(head.subarray(0, SNIFF_BYTES), declared.startsWith('utf-16') ? 0.5 : 0.3);
  if (utf16 && utf16 !== declared) {
    const where = utf16 === 'utf-16le' ? 'after' : 'before';
    throw new FileLevelError(
      'ENCODING_ERROR',
      `the file looks like ${utf16.toUpperCase()} without a byte-order mark (a NUL byte ${where} most characters of its first ` +
        `${Math.min(head.length, SNIFF_BYTES)} bytes), but the feed reads ${declared}: set csv.encoding: ${utf16}, or have the partner send a byte-order mark`,
      1,
    );
  }
  return { encoding: declared, bomLength: 0 };
}

/**
 * UTF-16 text that is mostly ASCII, as CSV headers and most cells are, has a NUL byte in every
 * other position: odd positions for little-endian, even for big-endian. Text in any 8-bit encoding
 * has almost none. Returns the UTF-16 flavour the bytes look like, if any: `minShare` of the
 * characters must show the pattern (more when the feed already declares UTF-16 and the question is
 * only which byte order).
 */
export function sniffUtf16(bytes: Uint8Array, minShare = 0.3): 'utf-16le' | 'utf-16be' | undefined {
  const pairs = Math.floor(bytes.length / 2);
  if (pairs < MIN_SNIFF_PAIRS) return undefined;
  let nulOdd = 0;
  let nulEven = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    if (bytes[i] !== 0 && bytes[i + 1] === 0) nulOdd++;
    else if (bytes[i] === 0 && bytes[i + 1] !== 0) nulEven++;
  }
  if (nulOdd >= pairs * minShare && nulEven * 4 <= nulOdd) return 'utf-16le';
  if (nulEven >= pairs * minShare && nulOdd * 4 <= nulEven) return 'utf-16be';
  return undefined;
}

function createChunkDecoder(encoding: Encoding, lineAfter: (text: string) => number, startOffset = 0): ChunkDecoder {
  if (encoding === 'latin1' || encoding === 'windows-1252') return singleByteDecoder(encoding, lineAfter, startOffset);
  return strictUnicodeDecoder(encoding, lineAfter, startOffset);
}

/** An encoding error, carrying the text decoded before the invalid byte in the same piece. */
class EncodingFailure extends FileLevelError {
  constructor(
    message: string,
    line: number,
    readonly validText: string,
    options?: ErrorOptions,
  ) {
    super('ENCODING_ERROR', message, line, options);
  }
}

/**
 * UTF-8 and UTF-16 through the platform's WHATWG decoder in fatal mode. A sequence cut by a chunk
 * boundary is carried to the next chunk by hand, so every decoded piece starts on a character
 * boundary and an invalid byte is located exactly.
 */
function strictUnicodeDecoder(
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be',
  lineAfter: (text: string) => number,
  startOffset: number,
): ChunkDecoder {
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  let offset = startOffset; // bytes decoded before `carry`
  let carry: Buffer = Buffer.alloc(0);
  const fail = (data: Uint8Array, cause?: unknown): never => {
    const at = locateInvalid(encoding, data);
    const prefix = new TextDecoder(encoding, { ignoreBOM: true }).decode(data.subarray(0, at.index));
    const line = lineAfter(prefix);
    throw new EncodingFailure(
      `bytes invalid for ${encoding} at byte ${offset + at.index} (line ${line}): ${at.bytes}`,
      line,
      prefix,
      cause === undefined ? undefined : { cause },
    );
  };
  return {
    write(chunk) {
      const data = carry.length ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const complete = data.length - incompleteTail(encoding, data);
      let text: string;
      const body = data.subarray(0, complete);
      if (encoding === 'utf-8') {
        // simdutf validation plus Buffer's own decoding: several times the fatal TextDecoder's speed
        text = isUtf8(body) ? body.toString('utf8') : fail(data);
      } else {
        try {
          text = decoder.decode(body);
        } catch (err) {
          return fail(data, err);
        }
      }
      offset += complete;
      carry = Buffer.from(data.subarray(complete));
      return text;
    },
    end() {
      if (carry.length) fail(carry);
      return '';
    },
  };
}

/** How many bytes at the end of `data` start a character that the next chunk completes. */
function incompleteTail(encoding: 'utf-8' | 'utf-16le' | 'utf-16be', data: Uint8Array): number {
  const n = data.length;
  if (encoding === 'utf-8') {
    for (let back = 1; back <= Math.min(3, n); back++) {
      const b = data[n - back]!;
      if ((b & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > back ? back : 0;
    }
    return 0;
  }
  let tail = n % 2;
  if (n - tail >= 2) {
    const i = n - tail - 2;
    const unit = encoding === 'utf-16le' ? data[i]! | (data[i + 1]! << 8) : (data[i]! << 8) | data[i + 1]!;
    if (unit >= 0xd800 && unit <= 0xdbff) tail += 2; // a high surrogate waiting for its low half
  }
  return tail;
}

/** latin1 maps every byte; windows-1252 leaves five bytes undefined (0x81 0x8D 0x8F 0x90 0x9D). */
function singleByteDecoder(encoding: 'latin1' | 'windows-1252', lineAfter: (text: string) => number, startOffset: number): ChunkDecoder {
  let offset = startOffset;
  return {
    write(chunk) {
      const text = decodeSingleByte(chunk, encoding);
      // In a single-byte charset one byte is one character, so U+FFFD can only mean an undefined byte.
      const bad = text.indexOf('\ufffd');
      if (bad !== -1) {
        const line = lineAfter(text.slice(0, bad));
        throw new EncodingFailure(
          `byte 0x${chunk[bad]!.toString(16).padStart(2, '0')} at byte ${offset + bad} (line ${line}) is not defined in ${encoding}`,
          line,
          text.slice(0, bad),
        );
      }
      offset += chunk.length;
      return text;
    },
    end: () => '',
  };
}

/** Finds the first invalid sequence in a chunk that the platform decoder rejected (only run on failure). */
function locateInvalid(encoding: 'utf-8' | 'utf-16le' | 'utf-16be', chunk: Uint8Array): { index: number; bytes: string } {
  const hex = (from: number, to: number) =>
    Array.from(chunk.subarray(from, Math.min(to, chunk.length)), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  if (encoding === 'utf-8') {
    let i = 0;
    while (i < chunk.length) {
      const len = validUtf8SequenceLength(chunk, i);
      if (len === 0) return { index: i, bytes: `${hex(i, i + 1)} is not valid here` };
      if (len < 0) return { index: i, bytes: `${hex(i, chunk.length)} (truncated at end of file)` };
      i += len;
    }
    return { index: chunk.length, bytes: '(truncated sequence at end of file)' };
  }
  const le = encoding === 'utf-16le';
  for (let i = 0; i + 1 < chunk.length; i += 2) {
    const unit = le ? chunk[i]! | (chunk[i + 1]! << 8) : (chunk[i]! << 8) | chunk[i + 1]!;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (i + 3 >= chunk.length) return { index: i, bytes: `${hex(i, i + 2)} (unpaired surrogate at end of file)` };
      const next = le ? chunk[i + 2]! | (chunk[i + 3]! << 8) : (chunk[i + 2]! << 8) | chunk[i + 3]!;
      if (next < 0xdc00 || next > 0xdfff) return { index: i, bytes: `${hex(i, i + 4)} (unpaired high surrogate)` };
      i += 2;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return { index: i, bytes: `${hex(i, i + 2)} (unpaired low surrogate)` };
    }
  }
  const odd = chunk.length - (chunk.length % 2);
  return { index: odd, bytes: `${hex(odd, chunk.length)} (odd number of bytes)` };
}

/** Length of the valid UTF-8 sequence at `i`; 0 if invalid, -1 if cut short by the end of the buffer. */
function validUtf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let len: number;
  let min: number;
  let max = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = c === 0xe0 ? 0xa0 : 0x80;
    if (c === 0xed) max = 0x9f; // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = c === 0xf0 ? 0x90 : 0x80;
    if (c === 0xf4) max = 0x8f;
  } else {
    return 0;
  }
  for (let k = 1; k < len; k++) {
    if (i + k >= b.length) return -1;
    const cc = b[i + k]!;
    if (cc < (k === 1 ? min : 0x80) || cc > (k === 1 ? max : 0xbf)) return 0;
  }
  return len;
}

/** Counts line breaks the way the tokenizer does: CRLF, LF and lone CR each end one line. */
export function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) if (text.charCodeAt(i + 1) !== 10) n++;
  return n;
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 100) / 100} MiB`;
}
