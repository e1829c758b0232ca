import { pathToFileURL } from 'node:url';
import { vi } from 'vitest';
import { functionFile } from '../../infra/function-files.ts';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { clearDeclaredSettings } from '../../layers/config.ts';
import { present } from '../../layers/present.ts';

/** A function's environment as the local gateway gives it (its template's, in that region's stack). */
export const functionEnv = (
  gateway: RunningGateway,
  name: string,
  jurisdiction: 'global' | 'eu' = 'global',
): Record<string, string> =>
  present(
    [...gateway.functions.values()].find(
      (f) => f.jurisdiction === jurisdiction && f.path.split('/').includes(name),
    ),
    `the ${jurisdiction} function ${name}`,
  ).fn.spec.env;

/**
 * Loads functions' wiring (the shared one and every capability's) in this test process as their instances load it: exactly a function's
 * environment (its own execution role and tenant-access role; `changes` on top), its declaration
 * registered first. `restore` puts the test process's environment back (in `afterAll`).
 */
export function functionWiring(envOf: (name: string) => Record<string, string>) {
  const saved = { ...process.env };
  const reset = () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  };
  return {
    async asFunction(name: string, changes: Record<string, string> = {}) {
      vi.resetModules();
      reset();
      Object.assign(process.env, envOf(name), changes);
      const { loadSettings } = await import('../../layers/declaration.ts');
      const { declaration } = await import(pathToFileURL(functionFile(name, '.def.ts')).href);
      loadSettings(declaration);
      const w = {
        ...(await import('../../layers/wiring.ts')),
        ...(await import('../../functions/audit/wiring.ts')),
        ...(await import('../../functions/messages/wiring.ts')),
        ...(await import('../../functions/public-rights/wiring.ts')),
        ...(await import('../../functions/recipients/wiring.ts')),
        ...(await import('../../functions/tenants/wiring.ts')),
        ...(await import('../../functions/webhooks/wiring.ts')),
      };
      const { inTenantScope } = await import('../../layers/tenant-scope.ts');
      return { w, inTenantScope };
    },
    restore() {
      reset();
      clearDeclaredSettings();
    },
  };
}
