import { declaration as getOpenapi } from '../functions/api/get-openapi.def.ts';
import { declaration as auditEvents } from '../functions/audit/audit-events.def.ts';
import { declaration as recordAuditEvents } from '../functions/audit/record-audit-events.def.ts';
import { declaration as applyCarrierEvents } from '../functions/messages/apply-carrier-events.def.ts';
import { declaration as carrierInbound } from '../functions/messages/carrier-inbound.def.ts';
import { declaration as deleteMessageBody } from '../functions/messages/delete-message-body.def.ts';
import { declaration as dispatchMessages } from '../functions/messages/dispatch-messages.def.ts';
import { declaration as getMessage } from '../functions/messages/get-message.def.ts';
import { declaration as listMessages } from '../functions/messages/list-messages.def.ts';
import { declaration as receiveEumEvents } from '../functions/messages/receive-eum-events.def.ts';
import { declaration as sendBatch } from '../functions/messages/send-batch.def.ts';
import { declaration as sendMessage } from '../functions/messages/send-message.def.ts';
import { declaration as verifications } from '../functions/public-rights/verifications.def.ts';
import { declaration as consents } from '../functions/recipients/consents.def.ts';
import { declaration as inbound } from '../functions/recipients/inbound.def.ts';
import { declaration as optOuts } from '../functions/recipients/opt-outs.def.ts';
import { declaration as settings } from '../functions/recipients/settings.def.ts';
import { declaration as senderIds } from '../functions/sender-ids/sender-ids.def.ts';
import { declaration as subjects } from '../functions/subject-rights/subjects.def.ts';
import { declaration as admin } from '../functions/tenants/admin.def.ts';
import { declaration as authorize } from '../functions/tenants/authorize.def.ts';
import { declaration as usage } from '../functions/usage/usage.def.ts';
import { declaration as deliverWebhooks } from '../functions/webhooks/deliver-webhooks.def.ts';
import { declaration as webhooks } from '../functions/webhooks/webhooks.def.ts';
import type { FunctionDeclaration } from '../layers/declaration.ts';
import { EUM_FUNCTIONS, HTTP_FUNCTIONS, OTHER_FUNCTIONS } from '../layers/http/route.ts';

export type FunctionName =
  | (typeof HTTP_FUNCTIONS)[number]
  | (typeof OTHER_FUNCTIONS)[number]
  | (typeof EUM_FUNCTIONS)[number];

/** Every function's declaration, by the names of `layers/http/routes.ts` (the CDK app reads only these). */
export const DECLARATIONS: Record<FunctionName, FunctionDeclaration> = {
  'send-message': sendMessage,
  'send-batch': sendBatch,
  'get-message': getMessage,
  'list-messages': listMessages,
  'delete-message-body': deleteMessageBody,
  subjects,
  inbound,
  'opt-outs': optOuts,
  consents,
  'sender-ids': senderIds,
  settings,
  verifications,
  'carrier-inbound': carrierInbound,
  'audit-events': auditEvents,
  usage,
  webhooks,
  'get-openapi': getOpenapi,
  admin,
  authorize,
  'dispatch-messages': dispatchMessages,
  'apply-carrier-events': applyCarrierEvents,
  'receive-eum-events': receiveEumEvents,
  'record-audit-events': recordAuditEvents,
  'deliver-webhooks': deliverWebhooks,
};

for (const name of [...HTTP_FUNCTIONS, ...OTHER_FUNCTIONS, ...EUM_FUNCTIONS]) {
  if (DECLARATIONS[name].name !== name) throw new Error(`${name}.def.ts declares ${DECLARATIONS[name].name}`);
}
