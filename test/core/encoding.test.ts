import { describe, expect, it } from 'vitest';
import { analyseBody, MAX_SEGMENTS } from '../../layers/core/encoding.ts';

describe('analyseBody', () => {
  it('fits 160 GSM-7 characters in one segment and splits the 161st into two of 153', () => {
    expect(analyseBody('a'.repeat(160))).toMatchObject({ encoding: 'GSM-7', segments: 1, units: 160 });
    expect(analyseBody('a'.repeat(161))).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    expect(analyseBody('a'.repeat(306)).segments).toBe(2);
    expect(analyseBody('a'.repeat(307)).segments).toBe(3);
  });

  it('counts extension characters as two septets and never splits an escape pair', () => {
    expect(analyseBody('€'.repeat(80))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1 });
    // 306 septets would fit two segments if the € could be split across them; it cannot.
    expect(analyseBody(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toMatchObject({ units: 306, segments: 3 });
  });

  it('switches to UCS-2 for any character outside GSM-7: 70 per single, 67 per part', () => {
    expect(analyseBody('ж'.repeat(70))).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    expect(analyseBody('ж'.repeat(71))).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(analyseBody(`Hello ${'😀'}`)).toMatchObject({ encoding: 'UCS-2', characters: 7, units: 8 });
  });

  it('keeps a surrogate pair (emoji) whole at a segment boundary', () => {
    const body = `${'ж'.repeat(66)}😀${'ж'.repeat(66)}`;
    // 134 code units: two parts of 67 if the emoji could be split; 66 | 😀+65 | 1 as it cannot.
    expect(analyseBody(body)).toMatchObject({ units: 134, segments: 3 });
  });

  it('treats GSM-7 accented letters as GSM-7 but other accents as UCS-2', () => {
    expect(analyseBody('Café à Zürich').encoding).toBe('GSM-7');
    expect(analyseBody('Crème brûlée').encoding).toBe('UCS-2');
  });

  it('documents a maximum of 10 segments', () => {
    expect(MAX_SEGMENTS).toBe(10);
    expect(analyseBody('a'.repeat(1530)).segments).toBe(10);
    expect(analyseBody('a'.repeat(1531)).segments).toBe(11);
  });
});
