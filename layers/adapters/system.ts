import { monotonicUlids } from '../core/ids.ts';
import type { Clock, IdGenerator } from '../ports/index.ts';

export const systemClock: Clock = { now: () => new Date() };

const nextUlid = monotonicUlids();
/** Ids that sort in creation order within this process, even within one millisecond. */
export const ulidIds: IdGenerator = { next: (prefix) => `${prefix}_${nextUlid(Date.now())}` };
