import type { Jurisdiction } from '../../layers/core/model.ts';

/**
 * Physical names of each jurisdiction's stateful resources. They are fixed so that a function
 * in one region can reach the other region's table and queues without cross-region stack
 * references (a message goes to its recipient's jurisdiction, whichever region took it).
 */
export const physicalNames = (j: Jurisdiction) => ({
  messagesTable: `sms-gateway-${j}-messages`,
  dispatchQueue: `sms-gateway-${j}-dispatch`,
  carrierEventsQueue: `sms-gateway-${j}-carrier-events`,
  auditQueue: `sms-gateway-${j}-audit.fifo`,
  webhookQueue: `sms-gateway-${j}-webhooks`,
});

export const TENANTS_TABLE_NAME = 'sms-gateway-tenants';
