import { prepareMessage } from '#functions/messages/model.ts';
import type { TenantSettings } from '#functions/messages/use-cases/send-policy.ts';
import type { InboundNotice } from '#functions/webhooks/use-cases/webhooks.ts';
import { type GatewayBudget, GatewayBudgetSpentError } from '#layers/core/gateway-budget.ts';
import { seededUlid } from '#layers/core/ids.ts';
import { type KeywordAction, parseKeyword } from '#layers/core/keywords.ts';
import {
  DEFAULT_RETENTION,
  isUnreadable,
  type Jurisdiction,
  type MessageRecord,
  type Tenant,
} from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import type { RecipientPseudonyms } from '#layers/core/recipient-pseudonym.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import type {
  BlockList,
  Clock,
  DispatchQueue,
  MessageStore,
  RecipientStore,
  SentTrace,
  SystemSms,
  TenantStore,
} from '#layers/ports/index.ts';

/** A reply from a person, as a carrier reports it. */
export interface InboundEvent {
  kind: 'inbound';
  /** The person's number. */
  from: string;
  /** The gateway number or sender ID the person replied to. */
  to: string;
  body: string;
  carrierMessageId: string;
  receivedAt: string;
  /**
   * The message answered, where the carrier knows it: only the sandbox carrier does (its
   * handsets answer the message they got, test-mode ones included). Real carriers report only
   * the numbers, and the reply goes to the tenant whose live message reached the person.
   */
  inReplyTo?: { tenantId: string; messageId: string } | undefined;
}

export interface InboundDeps {
  messages: Record<Jurisdiction, MessageStore>;
  queues: Record<Jurisdiction, DispatchQueue>;
  recipients: Record<Jurisdiction, RecipientStore>;
  blockList: Record<Jurisdiction, BlockList>;
  pseudonyms: RecipientPseudonyms;
  tenants: Pick<TenantStore, 'getTenant'>;
  settings: (tenantId: string) => Promise<TenantSettings>;
  systemSms: SystemSms;
  /**
   * This hour's budgets of the gateway's own messages, shared with the one-time codes: anyone can
   * text BLOCK to a gateway number from many numbers, and each confirmation costs the gateway.
   */
  gatewayBudget: GatewayBudget;
  clock: Clock;
  /** Told of each reply stored for a tenant (its webhooks). */
  onStored?: ((notice: InboundNotice) => Promise<void>) | undefined;
  /**
   * Runs the work on one tenant's data (the message answered, then the routed tenant's answer,
   * opt-out and stored reply) on that tenant's behalf; routing and the gateway-wide block list
   * and budgets are not any tenant's.
   */
  asTenant?: (<T>(tenantId: string, work: () => Promise<T>) => Promise<T>) | undefined;
}

const DAY_SECONDS = 86_400;

const BLOCKED_TEXT =
  'You will get no more messages from anyone through this gateway. This was your last one.';

function replyText(action: KeywordAction, tenant: Tenant, settings: TenantSettings): string {
  switch (action) {
    case 'opt_out':
      return `You are unsubscribed from ${tenant.displayName} and will get no more messages. Reply START to subscribe again.`;
    case 'opt_in':
      return `You are subscribed again to ${tenant.displayName}. Reply STOP to unsubscribe.`;
    case 'help':
      return settings.replies.helpText;
    case 'who':
      return `These messages are sent by ${tenant.legalName}${tenant.contactEmail ? ` (${tenant.contactEmail})` : ''}. Reply STOP to unsubscribe.`;
    case 'block_all':
      return BLOCKED_TEXT;
  }
}

/**
 * The tenant a reply is for: the one whose live message last reached this person from the
 * number they answered (the recipient index holds live messages only: a test key may use any
 * sender, and its messages never reach anyone).
 */
function routeReply(traces: SentTrace[], to: string): SentTrace | undefined {
  return traces.find((t) => t.from.toLowerCase() === to.toLowerCase());
}

/**
 * Handles a reply: finds the tenant that texted the person, answers keywords (the answer is
 * queued before an opt-out takes effect, so it is the last message the person gets), applies
 * the opt-out, opt-in or block-all, and keeps the reply for the tenant under its retention.
 * Every id is derived from the carrier's message id, so a redelivered event changes nothing.
 */
export function makeReceiveInbound(deps: InboundDeps) {
  /** Takes one of the gateway's own messages from this hour's budgets; false when they are spent. */
  async function withinBudget(country: string | undefined): Promise<boolean> {
    try {
      await deps.gatewayBudget(country);
      return true;
    } catch (error) {
      if (error instanceof GatewayBudgetSpentError) return false;
      throw error;
    }
  }

  /** The message the carrier says was answered, if it went to this person from the number answered. */
  async function messageAnswered(
    event: InboundEvent,
    person: string,
    j: Jurisdiction,
    now: Date,
  ): Promise<Pick<MessageRecord, 'tenantId' | 'mode'> | undefined> {
    if (!event.inReplyTo) return undefined;
    const { tenantId, messageId } = event.inReplyTo;
    const m = await asTenant(tenantId, () => deps.messages[j].get(tenantId, messageId, now));
    if (!m || isUnreadable(m) || m.to !== person || m.from.toLowerCase() !== event.to.toLowerCase())
      return undefined;
    return { tenantId: m.tenantId, mode: m.mode };
  }

  const asTenant = deps.asTenant ?? (<T>(_tenantId: string, work: () => Promise<T>) => work());

  return async (event: InboundEvent): Promise<{ tenantId?: string; action?: KeywordAction }> => {
    const person = checkRecipient(event.from);
    if (!person.ok) return {};
    const j = classifyRecipient(person.e164).jurisdiction;
    const now = deps.clock.now();
    const receivedMs = Date.parse(event.receivedAt);
    const pseudonym = await deps.pseudonyms.of(person.e164);
    const answered = await messageAnswered(event, person.e164, j, now);
    const trace = answered ? undefined : routeReply(await deps.messages[j].sentTo(pseudonym, now), event.to);
    const route = answered ?? (trace ? { tenantId: trace.tenantId, mode: 'live' as const } : undefined);
    // The routed tenant's record and settings are its own items: read on its behalf.
    const tenant = route
      ? await asTenant(route.tenantId, () => deps.tenants.getTenant(route.tenantId))
      : undefined;
    const settings = tenant ? await asTenant(tenant.id, () => deps.settings(tenant.id)) : undefined;
    const parsed = parseKeyword(event.body, settings?.replies.keywords);

    if (!route || !tenant || !settings || tenant.status !== 'active') {
      // Nobody to route to: only a block-all means something, and it is answered by the gateway.
      // The block stands whatever happens to its confirmation, which is sent only within this
      // hour's budget of the gateway's own messages (a spent budget is counted, and alarmed).
      if (parsed?.action === 'block_all') {
        await deps.blockList[j].block(pseudonym, now, 'keyword');
        if (await withinBudget(person.country)) {
          await deps.systemSms(
            j,
            person.e164,
            event.to,
            BLOCKED_TEXT,
            `sys_${seededUlid(receivedMs, `${event.carrierMessageId}#reply`)}`,
          );
        }
      }
      return parsed ? { action: parsed.action } : {};
    }

    return asTenant(tenant.id, async () => {
      if (parsed) {
        const reply = prepareMessage(
          {
            to: person.e164,
            from: event.to,
            body: replyText(parsed.action, tenant, settings),
            category: 'transactional',
          },
          // The answer goes the way the message answered went: a test-mode one to the sandbox.
          { tenantId: tenant.id, mode: route.mode, retention: tenant.retention ?? DEFAULT_RETENTION },
          { id: `msg_${seededUlid(receivedMs, `${event.carrierMessageId}#reply`)}`, now },
        );
        if (reply.ok) {
          await deps.messages[j].create([reply.message], { mayExist: true });
          await deps.queues[j].enqueue([
            { tenantId: tenant.id, messageId: reply.message.id, jurisdiction: j },
          ]);
        }
        const recipients = deps.recipients[j];
        const consentId = `con_${seededUlid(receivedMs, `${event.carrierMessageId}#consent`)}`;
        const evidence = { phone: person.e164, source: `keyword:${parsed.keyword}`, at: event.receivedAt };
        if (parsed.action === 'opt_out') {
          await recipients.putOptOut(tenant.id, {
            phone: person.e164,
            scope: 'all',
            source: evidence.source,
            at: evidence.at,
          });
          await recipients.appendConsent(tenant.id, { id: consentId, kind: 'withdrawn', ...evidence });
        } else if (parsed.action === 'opt_in') {
          await recipients.removeOptOut(tenant.id, person.e164);
          await recipients.appendConsent(tenant.id, { id: consentId, kind: 'granted', ...evidence });
        } else if (parsed.action === 'block_all') {
          await deps.blockList[j].block(pseudonym, now, 'keyword');
        }
      }

      const retention = tenant.retention ?? DEFAULT_RETENTION;
      const receivedSec = Math.floor(receivedMs / 1000);
      const inboundId = `inb_${seededUlid(receivedMs, event.carrierMessageId)}`;
      await deps.recipients[j].putInbound({
        tenantId: tenant.id,
        id: inboundId,
        from: person.e164,
        to: event.to,
        body: event.body,
        keyword: parsed?.keyword,
        action: parsed?.action,
        receivedAt: event.receivedAt,
        carrierMessageId: event.carrierMessageId,
        expiresAt: receivedSec + retention.metadataDays * DAY_SECONDS,
        bodyExpiresAt: receivedSec + retention.bodyDays * DAY_SECONDS,
      });
      await deps.onStored?.({
        tenantId: tenant.id,
        jurisdiction: j,
        id: inboundId,
        from: person.e164,
        to: event.to,
        body: event.body,
        keyword: parsed?.keyword ?? null,
        action: parsed?.action ?? null,
        receivedAt: event.receivedAt,
      });
      return { tenantId: tenant.id, ...(parsed ? { action: parsed.action } : {}) };
    });
  };
}
