import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { Encoding } from '../../../../lambdas/transformer/model.js';
import { decodeStream } from '../../../../lambdas/transformer/engine/decode.js';
import { FileLevelError } from '../../../../lambdas/transformer/engine/outcome.js';

async function decode(bytes: Uint8Array, encoding: Encoding, chunkSize = bytes.length || 1, maxBytes = 1 << 30): Promise<string> {
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  let text = '';
  for await (const t of decodeStream(chunks(), { encoding, maxBytes })) text += t;
  return text;
}

async function decodeError(bytes: Uint8Array, encoding: Encoding, chunkSize?: number): Promise<FileLevelError> {
  try {
    await decode(bytes, encoding, chunkSize);
  } catch (err) {
    if (err instanceof FileLevelError) return err;
    throw err;
  }
  throw new Error('expected a FileLevelError');
}

const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

describe('UTF-16 without a byte-order mark', () => {
  const header = 'order_id,amount,customer_email\nA-1,19.99,jane@example.com\n';

  it.each([
    ['utf-16le', Buffer.from(header, 'utf16le')],
    ['utf-16be', utf16be(header)],
  ] as const)(
    'is recognised as %s by its NUL bytes and refused with a hint, whatever 8-bit encoding is declared',
    async (flavour, bytes) => {
      for (const declared of ['utf-8', 'windows-1252', 'latin1'] as const) {
        for (const chunkSize of [bytes.length, 7, 1]) {
          const err = await decodeError(bytes, declared, chunkSize);
          expect(err.code).toBe('ENCODING_ERROR');
          expect(err.line).toBe(1);
          expect(err.message).toContain(`looks like ${flavour.toUpperCase()} without a byte-order mark`);
          expect(err.message).toContain(`set csv.encoding: ${flavour}`);
          expect(err.message).not.toContain('\u0000');
        }
      }
    },
  );

  it('names the other byte order when the feed declares the wrong one', async () => {
    const err = await decodeError(utf16be(header), 'utf-16le');
    expect(err.message).toContain('set csv.encoding: utf-16be');
    expect(await decode(Buffer.from(header, 'utf16le'), 'utf-16le')).toBe(header);
  });

  it('leaves 8-bit text, a few characters and non-Latin UTF-16 alone', async () => {
    expect(await decode(Buffer.from('a;b\nÄ;ü\n', 'latin1'), 'latin1')).toBe('a;b\nÄ;ü\n');
    expect(await decode(Buffer.from('a,b', 'utf8'), 'utf-8')).toBe('a,b');
    expect(await decode(Buffer.from('😀', 'utf16le'), 'utf-16le')).toBe('😀');
    expect(await decode(Buffer.from('名前,金額\n田中,100\n'.repeat(5), 'utf16le'), 'utf-16le')).toBe('名前,金額\n田中,100\n'.repeat(5));
  });
});

describe('byte-order marks', () => {
  it.each([
    ['UTF-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\né', 'utf8')])],
    ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\né', 'utf16le')])],
    ['UTF-16BE', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be('a,b\né')])],
  ])('honours a %s BOM whatever the declared encoding, and drops it', async (_name, bytes) => {
    for (const declared of ['utf-8', 'windows-1252', 'latin1'] as const) {
      expect(await decode(bytes, declared)).toBe('a,b\né');
      expect(await decode(bytes, declared, 1)).toBe('a,b\né');
    }
  });

  it('decodes UTF-16 without a BOM as declared', async () => {
    expect(await decode(Buffer.from('x;ü', 'utf16le'), 'utf-16le', 3)).toBe('x;ü');
    expect(await decode(utf16be('x;ü'), 'utf-16be', 3)).toBe('x;ü');
  });

  it('keeps a BOM-less file shorter than a BOM intact', async () => {
    expect(await decode(Buffer.from('a'), 'utf-8')).toBe('a');
    expect(await decode(Buffer.from([0xef, 0xbb]), 'windows-1252')).toBe('ï»');
  });
});

describe('single-byte encodings', () => {
  it('decodes windows-1252 punctuation and latin1 bytes as declared', async () => {
    expect(await decode(Buffer.from([0x80, 0x96, 0xe4]), 'windows-1252')).toBe('€–ä');
    expect(await decode(Buffer.from([0x80, 0xe4]), 'latin1')).toBe('\u0080ä');
  });

  it('refuses the five bytes windows-1252 leaves undefined, with offset and line', async () => {
    const err = await decodeError(Buffer.from([0x61, 0x0a, 0x62, 0x81]), 'windows-1252');
    expect(err.code).toBe('ENCODING_ERROR');
    expect(err.line).toBe(2);
    expect(err.message).toBe('byte 0x81 at byte 3 (line 2) is not defined in windows-1252');
  });
});

describe('invalid bytes are an ENCODING_ERROR, never a silent U+FFFD', () => {
  it('reports invalid UTF-8 with its byte offset and line', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\r\nc,d\né,'), Buffer.from([0xff, 0x41])]);
    for (const chunk of [1, 2, 5, bytes.length]) {
      const err = await decodeError(bytes, 'utf-8', chunk);
      expect(err.code).toBe('ENCODING_ERROR');
      expect(err.line).toBe(3);
      expect(err.message).toBe(`bytes invalid for utf-8 at byte 12 (line 3): 0xff is not valid here`);
    }
  });

  it('reports a UTF-8 sequence cut short by the end of the file', async () => {
    const err = await decodeError(Buffer.from([0x61, 0xe2, 0x82]), 'utf-8');
    expect(err.code).toBe('ENCODING_ERROR');
    expect(err.message).toContain('at byte 1');
  });

  it('reports an unpaired UTF-16 surrogate', async () => {
    const err = await decodeError(Buffer.from([0x61, 0x00, 0x00, 0xdc]), 'utf-16le');
    expect(err.code).toBe('ENCODING_ERROR');
    expect(err.message).toContain('unpaired low surrogate');
  });

  it('reports UTF-16 with an odd number of bytes', async () => {
    const err = await decodeError(Buffer.from([0x61, 0x00, 0x62]), 'utf-16le');
    expect(err.code).toBe('ENCODING_ERROR');
  });
});

describe('chunk boundaries', () => {
  const text = fc.string({ unit: fc.constantFrom('a', ',', '\n', 'é', '€', '😀', '中', '\r'), maxLength: 60 });
  const encodings: Encoding[] = ['utf-8', 'utf-16le', 'utf-16be'];

  it('decodes multi-byte characters split at every possible boundary', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 1, max: 7 }), fc.constantFrom(...encodings), async (t, chunk, encoding) => {
        const bytes = encoding === 'utf-8' ? Buffer.from(t, 'utf8') : encoding === 'utf-16le' ? Buffer.from(t, 'utf16le') : utf16be(t);
        expect(await decode(bytes, encoding, chunk)).toBe(t);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes windows-1252 text in any chunking', async () => {
    const cp = fc.string({ unit: fc.constantFrom('a', 'ä', '€', '–', '"', '\n'), maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(cp, fc.integer({ min: 1, max: 5 }), async (t, chunk) => {
        expect(await decode(iconv.encode(t, 'windows-1252'), 'windows-1252', chunk)).toBe(t);
      }),
    );
  });
});

describe('size bound', () => {
  it('stops with TOO_LARGE as soon as more bytes than allowed arrive', async () => {
    await expect(decode(Buffer.alloc(100, 0x61), 'utf-8', 10, 50)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
