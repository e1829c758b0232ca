import * as z from 'zod';

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
