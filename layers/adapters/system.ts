import { newUlid } from '../core/ids.ts';
import type { Clock, IdGenerator } from '../ports/index.ts';

export const systemClock: Clock = { now: () => new Date() };

export const ulidIds: IdGenerator = { next: (prefix) => `${prefix}_${newUlid(Date.now())}` };
