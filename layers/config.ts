import * as z from 'zod';

export { envPrefix } from './settings.ts';

/**
 * The settings the functions running in this process declared (`functions/<name>.def.ts`),
 * registered at each handler's cold start. Once one is registered, reading any other setting is
 * a defect of the declaration, and fails loudly rather than on the first deploy.
 */
let registered: { functions: string[]; allowed: Set<string> } | undefined;

export function registerDeclaredSettings(fn: string, names: Iterable<string>): void {
  registered ??= { functions: [], allowed: new Set() };
  // One process hosting several functions (the local runtime) checks against their union.
  if (!registered.functions.includes(fn)) registered.functions.push(fn);
  for (const n of names) registered.allowed.add(n);
}

/** Whether the running function's declaration lists this setting (false before any registered). */
export const declaresSetting = (name: string): boolean => registered?.allowed.has(name) ?? false;

/** For tests that load several handlers' declarations in one process and want a clean slate. */
export function clearDeclaredSettings(): void {
  registered = undefined;
}

/**
 * Reads settings from the environment. A missing or malformed setting stops the function with a
 * message naming it, rather than running on a silent default; a setting the running function's
 * declaration does not list is refused.
 */
export function loadConfig<T extends z.ZodRawShape>(shape: T, fn?: string): z.infer<z.ZodObject<T>> {
  if (registered) {
    for (const key of Object.keys(shape)) {
      if (!registered.allowed.has(key)) {
        throw new Error(
          `function ${registered.functions.join(', ')} reads setting ${key}, which its declaration does not list`,
        );
      }
    }
  }
  const parsed = z.object(shape).safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}${fn ? ` (function ${fn})` : ''}`);
  }
  return parsed.data;
}

export const setting = {
  name: z.string().min(1),
  url: z.url(),
  jurisdiction: z.enum(['global', 'eu']),
  positiveInt: z.coerce.number().int().positive(),
};
