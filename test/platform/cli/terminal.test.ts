import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../../platform/cli/terminal.js';

describe('text for a terminal', () => {
  it('escapes NUL, escape sequences, DEL, C1 controls and bidi overrides, and keeps line breaks and text', () => {
    expect(escapeControls('a\u0000b\u001b[2Jc\td\u007fe\u0085f\u202eg\nWährung ✓')).toBe(
      'a\\u0000b\\u001b[2Jc\\u0009d\\u007fe\\u0085f\\u202eg\nWährung ✓',
    );
  });

  it('keeps JSON valid and equal in value', () => {
    const json = JSON.stringify({ k: 'x\u0085\u2028\u202ey' });
    expect(JSON.parse(escapeControls(json))).toEqual({ k: 'x\u0085\u2028\u202ey' });
    expect(escapeControls(json)).not.toMatch(/[\u0085\u2028\u202e]/);
  });
});
