import { loadSettings } from '#layers/declaration.ts';
import { tenantGuards } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { declaration } from './delete-message-body.def.ts';
import { makeRedactBody } from './use-cases/read-messages.ts';
import { byIdDeps, onMessageById } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

export const operations = {
  deleteMessageBody: onMessageById(makeRedactBody(byIdDeps())),
} satisfies Operations<'delete-message-body'>;

export const handler = operationsHandler('delete-message-body', operations, { guards: tenantGuards });
