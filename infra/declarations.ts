import { declaration as admin } from '../functions/admin.def.ts';
import { declaration as applyCarrierEvents } from '../functions/apply-carrier-events.def.ts';
import { declaration as auditEvents } from '../functions/audit-events.def.ts';
import { declaration as authorize } from '../functions/authorize.def.ts';
import { declaration as carrierInbound } from '../functions/carrier-inbound.def.ts';
import { declaration as consents } from '../functions/consents.def.ts';
import { declaration as deleteMessageBody } from '../functions/delete-message-body.def.ts';
import { declaration as deliverWebhooks } from '../functions/deliver-webhooks.def.ts';
import { declaration as dispatchMessages } from '../functions/dispatch-messages.def.ts';
import { declaration as getMessage } from '../functions/get-message.def.ts';
import { declaration as getOpenapi } from '../functions/get-openapi.def.ts';
import { declaration as inbound } from '../functions/inbound.def.ts';
import { declaration as listMessages } from '../functions/list-messages.def.ts';
import { declaration as optOuts } from '../functions/opt-outs.def.ts';
import { declaration as receiveEumEvents } from '../functions/receive-eum-events.def.ts';
import { declaration as recordAuditEvents } from '../functions/record-audit-events.def.ts';
import { declaration as sendBatch } from '../functions/send-batch.def.ts';
import { declaration as sendMessage } from '../functions/send-message.def.ts';
import { declaration as senderIds } from '../functions/sender-ids.def.ts';
import { declaration as settings } from '../functions/settings.def.ts';
import { declaration as subjects } from '../functions/subjects.def.ts';
import { declaration as usage } from '../functions/usage.def.ts';
import { declaration as verifications } from '../functions/verifications.def.ts';
import { declaration as webhooks } from '../functions/webhooks.def.ts';
import type { FunctionDeclaration } from '../layers/declaration.ts';
import { EUM_FUNCTIONS, HTTP_FUNCTIONS, OTHER_FUNCTIONS } from '../layers/http/routes.ts';

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
  if (DECLARATIONS[name].name !== name)
    throw new Error(`functions/${name}.def.ts declares ${DECLARATIONS[name].name}`);
}
