import { sendRoute } from './send-message.def.ts';

/** Accepts up to 1,000 messages, each on its own. */
export const declaration = sendRoute('send-batch', 'POST /v1/messages/batch');
