import * as z from 'zod';
import type { Jurisdiction } from './core/model.ts';

/**
 * Reads a function's settings once, at cold start. A missing or malformed setting stops the
 * function with a message naming it, rather than running on a silent default.
 */
export function loadConfig<T extends z.ZodRawShape>(shape: T): z.infer<z.ZodObject<T>> {
  const parsed = z.object(shape).safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export const setting = {
  name: z.string().min(1),
  url: z.url(),
  jurisdiction: z.enum(['global', 'eu']),
  positiveInt: z.coerce.number().int().positive(),
};

/**
 * The prefix of a jurisdiction's own settings (`GLOBAL_MESSAGES_TABLE`, `EU_DISPATCH_QUEUE_URL`,
 * ...): the stack and the local runtime write them, the functions read them.
 */
export const envPrefix = (j: Jurisdiction) => (j === 'eu' ? 'EU' : 'GLOBAL');
