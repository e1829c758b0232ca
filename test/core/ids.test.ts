import { describe, expect, it } from 'vitest';
import { ulidIds } from '../../layers/adapters/system.ts';
import { ID_PATTERN, monotonicUlids } from '../../layers/core/ids.ts';

describe('message ids', () => {
  it("sort in the order they were made, a batch's ids within one millisecond included", () => {
    const ids = Array.from({ length: 1_000 }, () => ulidIds.next('msg'));
    for (const id of ids) expect(id).toMatch(ID_PATTERN.message);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keep increasing when the clock stands still or steps back, and carry over a full digit', () => {
    const next = monotonicUlids();
    const made = [next(1_000), next(1_000), next(999), next(1_001)];
    expect([...made].sort()).toEqual(made);
    expect(made[1]!.slice(0, 10)).toBe(made[0]!.slice(0, 10));
    // A random part ending in Z rolls over to 0 and carries into the digit before it.
    const carry = monotonicUlids();
    let id = carry(5);
    for (let i = 0; i < 64; i++) {
      const following = carry(5);
      expect(following > id).toBe(true);
      id = following;
    }
  });
});
