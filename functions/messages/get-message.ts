import { loadSettings } from '#layers/declaration.ts';
import { tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './get-message.def.ts';
import { makeGetMessage } from './use-cases/read-messages.ts';
import { byIdDeps, onMessageById } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

export const operations = {
  getMessage: onMessageById(makeGetMessage(byIdDeps())),
} satisfies Operations<'get-message'>;

export const handler = operationsHandler('get-message', operations, { guards: tenantGuards });
