// Lambda runs Node 22; the SDK's notice about Node 20 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SANDBOX_REPLYING_NUMBER } from '../layers/core/sandbox.ts';
import { HTTP_FUNCTIONS, OTHER_FUNCTIONS } from '../layers/http/route.ts';
import { adminCall } from './local/admin-call.ts';
import { regionOfApiUrl, signedAdminCall } from './signed-admin-call.ts';

/**
 * `npm run smoke`: after a deploy (or against `npm start`), onboards a throwaway tenant with a
 * test-mode key (the sandbox carrier only: no real handset is ever texted), makes every function
 * of the gateway do its work once, closes the tenant, and reports one line per function.
 */

export type SmokeStatus = 'PASS' | 'FAIL' | 'SKIP';
export interface SmokeResult {
  /** A function of functions/; `@eu` marks the EU region's deployment of it. */
  fn: string;
  status: SmokeStatus;
  ms: number;
  reason?: string;
}

export interface SmokeOptions {
  /** The global region's API. */
  url: string;
  /** The EU region's API. */
  euUrl: string;
  /** How admin calls authenticate: the local admin token, or SigV4 with the caller's AWS credentials. */
  admin: { token: string } | { awsRegion: string };
  /** An https endpoint that answers 2xx (locally, a loopback one the gateway was told to allow). */
  webhookReceiver?: string | undefined;
  /** How long to wait for each asynchronous effect (a status, a reply, an audit entry); default 60 s. */
  waitMs?: number;
  /** Progress lines (which step is running), for an operator watching a slow deployment. */
  progress?: (line: string) => void;
}

// Sandbox numbers (README "Sandbox carrier numbers", layers/core/sandbox.ts): delivered at once.
const DELIVERED = '+12025550100';
const DELIVERED_TOO = '+12025550111';
// Opt-outs and consents, on a number no message goes to.
const LIST_NUMBER = '+12025550142';
// An EU/EEA subject (Germany), processed in the EU jurisdiction; a test key reaches only the sandbox.
const EU_NUMBER = '+4915123456789';
const REPLY_TEXT = 'Thanks';
/** The EU region's deployment of the functions a message passes through. */
const EU_FUNCTIONS = ['send-message@eu', 'dispatch-messages@eu', 'apply-carrier-events@eu', 'admin@eu'];
const AGENT = 'sms-gateway-smoke';

type Body = Record<string, unknown>;
interface Answer<T = Body> {
  status: number;
  contentType: string;
  body: T;
}

class SmokeError extends Error {
  override name = 'SmokeError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a step failed, in one line: the network error's code rather than undici's "fetch failed". */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error.message === 'fetch failed' && cause)
    return `cannot reach the endpoint (${cause.code ?? cause.message})`;
  if (error.name === 'TimeoutError') return 'no answer within 15 s';
  return error.message;
}

/** `GET /v1/x answered 500 internal-error: detail` from an unexpected answer. */
function unexpected(what: string, res: Answer<unknown>): SmokeError {
  if (typeof res.body === 'string')
    return new SmokeError(`${what} answered ${res.status}${res.body ? ` ${res.body.slice(0, 200)}` : ''}`);
  const p = res.body as {
    type?: string;
    detail?: string;
    title?: string;
    message?: string;
    errors?: { pointer?: string; parameter?: string; header?: string; detail: string }[];
  };
  // A validation problem's own reasons say more than its "see 'errors'".
  const fields = (p?.errors ?? []).map((e) =>
    `${e.pointer ?? e.parameter ?? e.header ?? ''} ${e.detail}`.trim(),
  );
  const said = [
    p?.type?.replace(/^.*\/problems\//, ''),
    fields.length > 0 ? fields.join('; ') : (p?.detail ?? p?.title ?? p?.message),
  ]
    .filter(Boolean)
    .join(': ');
  return new SmokeError(`${what} answered ${res.status}${said ? ` ${said}` : ''}`);
}

/** Polls until `probe` gives a value; the timeout names what was awaited and what was last seen. */
async function waitFor<T>(
  probe: () => Promise<{ value?: T; seen?: string }>,
  what: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen: string | undefined;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
    const got = await probe();
    if (got.value !== undefined) return got.value;
    seen = got.seen ?? seen;
    if (Date.now() > deadline)
      throw new SmokeError(
        `no ${what} within ${Math.round(timeoutMs / 1000)} s${seen ? ` (last seen: ${seen})` : ''}`,
      );
    await sleep(delay);
  }
}

/** One line per function: a function checked in several steps fails if any of them failed. */
class Report {
  private readonly byFn = new Map<string, SmokeResult>();

  constructor(private readonly progress: (line: string) => void) {}

  /** Runs one step on behalf of `fn`; a thrown error makes it FAIL with `what` and the reason. */
  async step<T>(fn: string, what: string, run: () => Promise<T>): Promise<T | undefined> {
    this.progress(`${fn}: ${what}`);
    const start = performance.now();
    try {
      const value = await run();
      this.add({ fn, status: 'PASS', ms: performance.now() - start });
      return value;
    } catch (error) {
      this.add({ fn, status: 'FAIL', ms: performance.now() - start, reason: `${what}: ${reasonOf(error)}` });
      return undefined;
    }
  }

  skip(fn: string, why: string) {
    this.add({ fn, status: 'SKIP', ms: 0, reason: why });
  }

  private add(r: SmokeResult) {
    const before = this.byFn.get(r.fn);
    if (!before) {
      this.byFn.set(r.fn, r);
      return;
    }
    const rank = { FAIL: 2, PASS: 1, SKIP: 0 };
    const worse = rank[r.status] > rank[before.status] ? r : before;
    this.byFn.set(r.fn, {
      fn: r.fn,
      status: worse.status,
      ms: before.ms + r.ms,
      ...(worse.reason === undefined ? {} : { reason: worse.reason }),
    });
  }

  fail(fn: string, reason: string) {
    this.add({ fn, status: 'FAIL', ms: 0, reason });
  }

  has(fn: string) {
    return this.byFn.has(fn);
  }

  results(): SmokeResult[] {
    return [...this.byFn.values()].map((r) => ({ ...r, ms: Math.round(r.ms) }));
  }
}

/** One region's API as the smoke tenant calls it (with its key), or anyone (`key: null`). */
function tenantApi(base: string, key: string | null) {
  const root = base.replace(/\/+$/, '');
  return async function call<T = Body>(
    method: string,
    path: string,
    options: { body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const bearer = options.key === undefined ? key : options.key;
    const res = await fetch(root + path, {
      method,
      headers: {
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        'user-agent': AGENT,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let body: unknown = text;
    if (/json/.test(contentType) && text) body = JSON.parse(text);
    return { status: res.status, contentType, body: body as T };
  };
}
type Call = ReturnType<typeof tenantApi>;

async function expectAnswer<T = Body>(
  call: Call,
  method: string,
  path: string,
  status: number,
  body?: unknown,
) {
  const res = await call<T>(method, path, body === undefined ? {} : { body });
  if (res.status !== status) throw unexpected(`${method} ${path.replace(/\?.*$/, '')}`, res);
  return res.body;
}

/** A problem+json answer of this status and type, as the function (not API Gateway) gives it. */
function expectProblem(what: string, res: Answer<unknown>, status: number, slug: string) {
  const type = (res.body as { type?: unknown } | undefined)?.type;
  if (
    res.status !== status ||
    !res.contentType.startsWith('application/problem+json') ||
    type !== `https://sms-gateway.dev/problems/${slug}`
  )
    throw unexpected(what, res);
}

interface Message {
  id: string;
  status: string;
  mode: string;
  jurisdiction: string;
  sentAt: string | null;
  body: string | null;
  error: { code: string } | null;
}
const FINAL = ['delivered', 'failed', 'undeliverable', 'quarantined'];

/**
 * Follows a message through the workers at one region: dispatch-messages hands it to the
 * carrier (`sentAt`), apply-carrier-events applies the sandbox's receipt (`delivered`).
 */
async function followMessage(
  report: Report,
  call: Call,
  id: string,
  suffix: string,
  waitMs: number,
  checkRead: boolean,
) {
  const read = async () => {
    const res = await call<Message>('GET', `/v1/messages/${id}`);
    if (res.status !== 200) throw unexpected('GET /v1/messages/{id}', res);
    return res.body;
  };
  if (checkRead) {
    const first = await report.step(`get-message${suffix}`, 'GET /v1/messages/{id}', async () => {
      const m = await read();
      if (m.id !== id) throw new SmokeError(`answered message ${m.id}, not ${id}`);
      return m;
    });
    if (!first) {
      report.skip(`dispatch-messages${suffix}`, 'the message cannot be read');
      report.skip(`apply-carrier-events${suffix}`, 'the message cannot be read');
      return undefined;
    }
  }
  const ended = (m: Message) =>
    FINAL.includes(m.status) && m.status !== 'delivered'
      ? new SmokeError(`the message ended ${m.status}${m.error ? ` (${m.error.code})` : ''}`)
      : undefined;
  const sent = await report.step(`dispatch-messages${suffix}`, 'the message handed to the carrier', () =>
    waitFor(
      async () => {
        const m = await read();
        const error = ended(m);
        if (error) throw error;
        return m.sentAt ? { value: m } : { seen: m.status };
      },
      'sentAt',
      waitMs,
    ),
  );
  if (!sent) {
    report.skip(`apply-carrier-events${suffix}`, 'the message was not sent');
    return undefined;
  }
  return report.step(`apply-carrier-events${suffix}`, "the sandbox's receipt applied: delivered", () =>
    waitFor(
      async () => {
        const m = await read();
        const error = ended(m);
        if (error) throw error;
        return m.status === 'delivered' ? { value: m } : { seen: m.status };
      },
      'delivered status',
      waitMs,
    ),
  );
}

/** YYYY-MM-DD (UTC) `days` before now. */
const dayBefore = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** Runs the smoke test; never throws for a failing gateway: each failure is a FAIL line. */
export async function runSmoke(options: SmokeOptions): Promise<{ results: SmokeResult[] }> {
  const waitMs = options.waitMs ?? 60_000;
  const report = new Report(options.progress ?? (() => undefined));
  const admin = (method: string, path: string, body?: unknown) =>
    'token' in options.admin
      ? adminCall(options.url.replace(/\/+$/, ''), options.admin.token, method, path, body)
      : signedAdminCall(options.url, options.admin.awsRegion, method, path, body);
  const euAdmin = (method: string, path: string, body?: unknown) => {
    if ('token' in options.admin)
      return adminCall(options.euUrl.replace(/\/+$/, ''), options.admin.token, method, path, body);
    const region = regionOfApiUrl(options.euUrl);
    if (!region) throw new SmokeError(`cannot tell the region of ${options.euUrl} to sign for it`);
    return signedAdminCall(options.euUrl, region, method, path, body);
  };

  // A sender ID of its own, so the sandbox's reply is routed to this tenant and no other.
  const run = randomBytes(3).toString('hex');
  const sender = `Smoke${run}`;
  const stamp = new Date().toISOString();

  const tenant = await report.step(
    'admin',
    'onboarding a test tenant (POST /admin/tenants, keys)',
    async () => {
      const created = (await admin('POST', '/admin/tenants', {
        displayName: `Smoke test ${stamp}`,
        legalName: 'Smoke Test (throwaway, closed by npm run smoke)',
        contactEmail: 'smoke-test@example.com',
        homeJurisdiction: 'global',
      })) as { id: string };
      const key = (await admin('POST', `/admin/tenants/${created.id}/keys`, {
        name: 'smoke test',
        mode: 'test',
        scopes: ['send', 'read', 'admin'],
      })) as { mode: string; secret: string };
      // Never go on with a key that could reach a real carrier.
      if (key.mode !== 'test' || !key.secret.startsWith('sk_test_'))
        throw new SmokeError(`the key issued is not a test-mode key (${key.mode})`);
      return { id: created.id, key: key.secret };
    },
  );

  if (tenant) {
    try {
      await exercise(report, options, tenant, { sender, run, waitMs, admin });
    } finally {
      await report.step('admin', 'closing the test tenant (POST /admin/tenants/{id}/close)', async () => {
        const closed = (await admin('POST', `/admin/tenants/${tenant.id}/close`, { confirm: tenant.id })) as {
          status?: string;
        };
        if (closed.status !== 'closed') throw new SmokeError(`the tenant is ${closed.status}, not closed`);
      });
      // Each region's admin endpoint closes its own jurisdiction: the EU one closes the EU half.
      await report.step('admin@eu', 'closing the test tenant at the EU endpoint', async () => {
        const closed = (await euAdmin('POST', `/admin/tenants/${tenant.id}/close`, {
          confirm: tenant.id,
        })) as { status?: string; jurisdictions?: { jurisdiction: string }[] };
        if (closed.status !== 'closed' || closed.jurisdictions?.[0]?.jurisdiction !== 'eu')
          throw new SmokeError(`the EU endpoint did not close the EU jurisdiction (${closed.status})`);
      });
    }
  }
  // Every function gets a line: one this test does not reach (a new one) fails it.
  for (const fn of [...OTHER_FUNCTIONS, ...HTTP_FUNCTIONS, ...EU_FUNCTIONS]) {
    if (report.has(fn)) continue;
    if (tenant)
      report.fail(fn, 'not exercised: npm run smoke does not know this function yet (infra/smoke.ts)');
    else report.skip(fn, 'no test tenant: onboarding failed');
  }
  return { results: report.results() };
}

interface Context {
  sender: string;
  run: string;
  waitMs: number;
  admin: (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;
}

/** Every tenant-facing function once, as the throwaway tenant, in the order their effects need. */
async function exercise(
  report: Report,
  options: SmokeOptions,
  tenant: { id: string; key: string },
  { sender, run, waitMs, admin }: Context,
) {
  const api = tenantApi(options.url, tenant.key);
  const anyone = tenantApi(options.url, null);
  const text = (n: number) => `Smoke test ${run} #${n}: no action needed`;
  const send = (call: Call, n: number, to: string, body = text(n)) =>
    call<{ message: Message }>('POST', '/v1/messages', {
      body: { to, from: sender, body },
      headers: { 'idempotency-key': `smoke-${run}-${n}` },
    });

  // The authorizer never denies: an unknown key reaches the route, which answers 401 problem+json
  // (a crashed or missing authorizer would be API Gateway's own bare 500 or 403).
  await report.step(
    'authorize',
    'a valid key admitted, an unknown one answered 401 problem+json',
    async () => {
      await expectAnswer(api, 'GET', '/v1/sender-ids', 200);
      const unknown = `sk_test_${randomBytes(32).toString('base64url')}`;
      const res = await api('GET', '/v1/sender-ids', { key: unknown });
      expectProblem('GET /v1/sender-ids with an unknown key', res, 401, 'unauthorized');
    },
  );

  await report.step('get-openapi', 'GET /openapi.json', async () => {
    const doc = await expectAnswer<{ openapi?: string; paths?: Body }>(anyone, 'GET', '/openapi.json', 200);
    if (!doc.openapi?.startsWith('3.1') || !doc.paths?.['/v1/messages'])
      throw new SmokeError('GET /openapi.json is not the OpenAPI 3.1 document of this API');
  });

  // The public flows that text nobody: a confirmation with a code for no verification.
  await report.step('verifications', 'POST /public/v1/verifications/{id}/confirm (no SMS sent)', async () => {
    const res = await anyone('POST', `/public/v1/verifications/vrf_${'0'.repeat(26)}/confirm`, {
      body: { code: '000000' },
    });
    expectProblem('POST /public/v1/verifications/{id}/confirm', res, 422, 'verification-failed');
  });

  // Issuing a carrier token would replace the real carrier's, so only the function's own refusal
  // of a wrong token is checked.
  await report.step(
    'carrier-inbound',
    'POST /carrier/v1/inbound with a wrong token: 401 problem+json',
    async () => {
      const res = await anyone('POST', '/carrier/v1/inbound', { key: `smoke-${run}`, body: {} });
      expectProblem('POST /carrier/v1/inbound', res, 401, 'unauthorized');
    },
  );

  // Registered before the first message, so its status events are delivered to it.
  let webhook: { id: string } | undefined;
  if (options.webhookReceiver) {
    webhook = await report.step('webhooks', 'POST and GET /v1/webhooks', async () => {
      const created = await expectAnswer<{ id: string }>(api, 'POST', '/v1/webhooks', 201, {
        url: options.webhookReceiver,
        events: ['message.status', 'message.inbound'],
        description: 'npm run smoke',
      });
      await expectAnswer(api, 'GET', `/v1/webhooks/${created.id}`, 200);
      return created;
    });
    if (!webhook) report.skip('deliver-webhooks', 'no endpoint could be registered (see webhooks)');
  } else {
    await report.step('webhooks', 'GET /v1/webhooks', () => expectAnswer(api, 'GET', '/v1/webhooks', 200));
    report.skip('deliver-webhooks', 'no --webhook-receiver given: no endpoint registered');
  }

  await report.step('settings', 'PUT and GET /v1/settings/replies', async () => {
    const helpText = `Smoke test ${run}. Reply STOP to unsubscribe.`;
    const put = await expectAnswer<{ helpText: string }>(api, 'PUT', '/v1/settings/replies', 200, {
      helpText,
    });
    if (put.helpText !== helpText)
      throw new SmokeError('PUT /v1/settings/replies did not keep the help text');
    await expectAnswer(api, 'GET', '/v1/settings/replies', 200);
  });

  const senderId = await report.step('sender-ids', 'POST and GET /v1/sender-ids', async () => {
    const applied = await expectAnswer<{ id: string; status: string }>(api, 'POST', '/v1/sender-ids', 201, {
      value: sender,
      identity: {
        companyName: 'Smoke Test (throwaway)',
        registrationNumber: 'SMOKE-TEST',
        address: 'None: created and closed by npm run smoke',
        contactName: 'Smoke Test',
        contactEmail: 'smoke-test@example.com',
        useCase: 'Post-deploy smoke test with a test-mode key; never sends to a real handset',
      },
    });
    const list = await expectAnswer<{ data: { id: string }[] }>(api, 'GET', '/v1/sender-ids', 200);
    if (!list.data.some((s) => s.id === applied.id))
      throw new SmokeError('GET /v1/sender-ids lacks the application');
    return applied.id;
  });
  // Decided at once, so it never waits in the operator's queue of pending applications.
  if (senderId)
    await report.step('admin', 'rejecting the test sender ID application', () =>
      admin('POST', `/admin/tenants/${tenant.id}/sender-ids/${senderId}/decision`, {
        decision: 'rejected',
        reason: 'Smoke test application (npm run smoke), not a real sender',
      }),
    );

  const message = await report.step('send-message', 'POST /v1/messages', async () => {
    const res = await send(api, 1, DELIVERED);
    if (res.status !== 202) throw unexpected('POST /v1/messages', res);
    const m = res.body.message;
    if (m.mode !== 'test' || m.jurisdiction !== 'global')
      throw new SmokeError(`the message is ${m.mode} in ${m.jurisdiction}, not test in global`);
    return m;
  });

  await report.step('send-batch', 'POST /v1/messages/batch', async () => {
    const out = await expectAnswer<{ accepted: number; results: { problem?: { type: string } }[] }>(
      api,
      'POST',
      '/v1/messages/batch',
      200,
      {
        messages: [
          { to: DELIVERED, from: sender, body: text(2) },
          { to: DELIVERED_TOO, from: sender, body: text(3) },
        ],
      },
    );
    if (out.accepted !== 2)
      throw new SmokeError(
        `accepted ${out.accepted} of 2 (${out.results.find((r) => r.problem)?.problem?.type})`,
      );
  });

  const delivered = message ? await followMessage(report, api, message.id, '', waitMs, true) : undefined;
  if (!message)
    for (const fn of ['get-message', 'dispatch-messages', 'apply-carrier-events'])
      report.skip(fn, 'no message was accepted');

  await report.step('list-messages', 'GET /v1/messages', async () => {
    const page = await expectAnswer<{ data: { id: string }[] }>(api, 'GET', '/v1/messages?limit=25', 200);
    if (message && !page.data.some((m) => m.id === message.id))
      throw new SmokeError('GET /v1/messages lacks the message sent');
  });

  if (message)
    await report.step('delete-message-body', 'DELETE /v1/messages/{id}/body', async () => {
      const m = await expectAnswer<Message>(api, 'DELETE', `/v1/messages/${message.id}/body`, 200);
      if (m.body !== null) throw new SmokeError('the body is still there');
    });
  else report.skip('delete-message-body', 'no message was accepted');

  // The sandbox's replying handset answers with what follows `{reply:`; apply-carrier-events
  // routes the reply to this tenant (the one that last texted it from this sender).
  const asked = await report.step('send-message', 'POST /v1/messages to the replying handset', async () => {
    const res = await send(api, 4, SANDBOX_REPLYING_NUMBER, `${text(4)} {reply:${REPLY_TEXT}}`);
    if (res.status !== 202) throw unexpected('POST /v1/messages', res);
    return true;
  });
  if (!asked) report.skip('inbound', 'the message to the replying handset was not accepted');
  else
    await report.step('inbound', 'GET /v1/inbound finds the sandbox reply', () =>
      waitFor(
        async () => {
          const page = await expectAnswer<{ data: { from: string; to: string; body: string | null }[] }>(
            api,
            'GET',
            '/v1/inbound',
            200,
          );
          const reply = page.data.find((r) => r.from === SANDBOX_REPLYING_NUMBER && r.to === sender);
          if (reply && reply.body !== REPLY_TEXT) throw new SmokeError(`the reply reads '${reply.body}'`);
          return reply ? { value: reply } : { seen: `${page.data.length} replies` };
        },
        'reply',
        waitMs,
      ),
    );

  const listed = encodeURIComponent(LIST_NUMBER);
  await report.step('opt-outs', 'POST and GET /v1/opt-outs', async () => {
    await expectAnswer(api, 'POST', '/v1/opt-outs', 201, { phone: LIST_NUMBER, scope: 'all' });
    const list = await expectAnswer<{ data: { phone: string }[] }>(api, 'GET', '/v1/opt-outs', 200);
    if (!list.data.some((o) => o.phone === LIST_NUMBER))
      throw new SmokeError('GET /v1/opt-outs lacks the number');
  });
  await report.step('consents', 'POST and GET /v1/consents', async () => {
    await expectAnswer(api, 'POST', '/v1/consents', 201, {
      phone: LIST_NUMBER,
      source: 'npm run smoke',
      disclosureVersion: 'smoke-test',
    });
    const ledger = await expectAnswer<{ live: boolean }>(api, 'GET', `/v1/consents/${listed}`, 200);
    if (!ledger.live) throw new SmokeError('the consent recorded is not live');
  });
  await report.step('opt-outs', 'DELETE /v1/opt-outs/{phone} after the consent', async () => {
    const out = await expectAnswer<{ removed: boolean }>(api, 'DELETE', `/v1/opt-outs/${listed}`, 200);
    if (!out.removed) throw new SmokeError('the opt-out was not removed');
  });

  if (webhook) {
    const hook = webhook;
    if (message)
      await report.step('deliver-webhooks', 'a delivery to the receiver recorded as delivered', () =>
        waitFor(
          async () => {
            const page = await expectAnswer<{ data: { status: string; lastError?: string }[] }>(
              api,
              'GET',
              `/v1/webhooks/${hook.id}/deliveries`,
              200,
            );
            const done = page.data.find((d) => d.status === 'delivered');
            const seen = page.data
              .map((d) => `${d.status}${d.lastError ? ` (${d.lastError})` : ''}`)
              .join(', ');
            return done ? { value: done } : { seen: seen || 'no delivery yet' };
          },
          'delivered webhook',
          waitMs,
        ),
      );
    else report.skip('deliver-webhooks', 'no message was accepted');
    // Removed now, so nothing more is sent to the operator's receiver.
    await report.step('webhooks', 'DELETE /v1/webhooks/{id}', () =>
      expectAnswer(api, 'DELETE', `/v1/webhooks/${hook.id}`, 204),
    );
  }

  await report.step('usage', 'GET /v1/usage', () =>
    waitFor(
      async () => {
        const usage = await expectAnswer<{ totals: Record<string, { messages: number }> }>(
          api,
          'GET',
          `/v1/usage?mode=test&groupBy=&from=${dayBefore(1)}`,
          200,
        );
        const counted = usage.totals.delivered?.messages ?? 0;
        // A delivered message must be counted; without one, an answer is all that can be checked.
        return !delivered || counted > 0 ? { value: usage } : { seen: `${counted} delivered` };
      },
      'usage count of the delivered message',
      waitMs,
    ),
  );

  await report.step('audit-events', 'GET /v1/audit-events', () =>
    expectAnswer(api, 'GET', '/v1/audit-events', 200),
  );
  await report.step('record-audit-events', "the tenant's calls recorded in its audit trail", () =>
    waitFor(
      async () => {
        const page = await expectAnswer<{ data: { action: string; targets: string[] }[] }>(
          api,
          'GET',
          '/v1/audit-events?limit=100',
          200,
        );
        const found = message
          ? page.data.find((e) => e.action === 'sendMessage' && e.targets.includes(message.id))
          : page.data[0];
        return found ? { value: found } : { seen: `${page.data.length} events` };
      },
      'audit event of the send',
      waitMs,
    ),
  );
  await report.step('audit-events', 'GET /v1/audit-events/verification: the hash chain is intact', () =>
    waitFor(
      async () => {
        const check = await expectAnswer<{ intact: boolean; broken?: { seq: number; reason: string } }>(
          api,
          'GET',
          '/v1/audit-events/verification',
          200,
        );
        if (check.intact) return { value: check };
        const broken = `broken at ${check.broken?.seq}: ${check.broken?.reason}`;
        // The verification reads the events, then the head: an entry of this run's own calls
        // appended in between reads as head_mismatch. A deleted tail stays so; a race does not.
        if (check.broken?.reason === 'head_mismatch') return { seen: broken };
        throw new SmokeError(broken);
      },
      'intact verification',
      waitMs,
    ),
  );

  // The EU region's own deployment, reached directly, with an EU/EEA subject.
  const eu = tenantApi(options.euUrl, tenant.key);
  const euMessage = await report.step('send-message@eu', 'POST /v1/messages at the EU endpoint', async () => {
    const res = await send(eu, 5, EU_NUMBER);
    if (res.status !== 202) throw unexpected('POST /v1/messages', res);
    if (res.body.message.jurisdiction !== 'eu')
      throw new SmokeError(`the EU subject's message is in ${res.body.message.jurisdiction}`);
    return res.body.message;
  });
  if (euMessage) await followMessage(report, eu, euMessage.id, '@eu', waitMs, false);
  else
    for (const fn of ['dispatch-messages@eu', 'apply-carrier-events@eu'])
      report.skip(fn, 'the EU endpoint accepted no message');

  const subject = encodeURIComponent(DELIVERED);
  await report.step('subjects', 'GET /v1/subjects/{phone}/export', async () => {
    const out = await expectAnswer<{ jurisdictions: { global: { messages: { id: string }[] } } }>(
      api,
      'GET',
      `/v1/subjects/${subject}/export`,
      200,
    );
    if (message && !out.jurisdictions.global.messages.some((m) => m.id === message.id))
      throw new SmokeError('the export lacks the message sent');
  });
  await report.step('subjects', 'DELETE /v1/subjects/{phone} (erasure)', async () => {
    const out = await expectAnswer<{ removed: { messages: number } }>(
      api,
      'DELETE',
      `/v1/subjects/${subject}?reason=other`,
      200,
    );
    if (!message) return;
    if (out.removed.messages < 1) throw new SmokeError('the erasure removed no message');
    const gone = await api('GET', `/v1/messages/${message.id}`);
    if (gone.status !== 404) throw unexpected('GET /v1/messages/{id} of an erased message', gone);
  });
}

/** `PASS send-message 123 ms`, `FAIL deliver-webhooks: <reason>`, `SKIP ...: <why>`. */
export function formatResult(r: SmokeResult): string {
  return r.status === 'PASS' ? `PASS ${r.fn} ${r.ms} ms` : `${r.status} ${r.fn}: ${r.reason}`;
}

const HELP = `Usage: npm run smoke -- [options]

Onboards a throwaway tenant with a test-mode key (sandbox carrier: no real handset is texted),
makes every function of the gateway work once, closes the tenant, and prints one line per
function (PASS, FAIL with the reason, SKIP with why). Exits 1 if any failed.

  --aws                     a deployed gateway: admin calls signed with your AWS credentials (SigV4)
  --url <url>               the global region's API (default $SMS_GATEWAY_URL or http://127.0.0.1:3000)
  --eu-url <url>            the EU region's API (default, locally: --url's port + 1, as npm start does)
  --webhook-receiver <url>  an https endpoint answering 2xx, to check webhook delivery (else: SKIP)
  --region <region>         with --aws: the global API's region (default $AWS_REGION, or from --url)
  --admin-token <t>         locally: the admin token (default $SMS_ADMIN_TOKEN or <data-dir>/admin-token)
  --data-dir <dir>          locally: where npm start keeps its data (default .data)
  --wait-seconds <n>        how long to wait for each asynchronous effect (default 60)
  --verbose                 say which step runs (on stderr)
  -h, --help                this help
`;

function usageError(message: string): never {
  process.stderr.write(`${message}\nSee npm run smoke -- --help\n`);
  process.exit(2);
}

/** The command line: options from the flags, one line per function, exit code 1 on any FAIL. */
async function main() {
  const { values } = parseArgs({
    options: {
      aws: { type: 'boolean', default: false },
      url: { type: 'string' },
      'eu-url': { type: 'string' },
      'webhook-receiver': { type: 'string' },
      region: { type: 'string' },
      'admin-token': { type: 'string' },
      'data-dir': { type: 'string', default: '.data' },
      'wait-seconds': { type: 'string', default: '60' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const url =
    values.url ??
    (values.aws ? usageError('--aws needs --url') : process.env.SMS_GATEWAY_URL) ??
    'http://127.0.0.1:3000';
  let euUrl = values['eu-url'];
  if (!euUrl) {
    if (values.aws) usageError('--aws needs --eu-url');
    const next = new URL(url);
    next.port = String(Number(next.port || (next.protocol === 'https:' ? 443 : 80)) + 1);
    euUrl = next.origin;
  }
  let admin: SmokeOptions['admin'];
  if (values.aws) {
    const region = values.region ?? process.env.AWS_REGION ?? regionOfApiUrl(url);
    if (!region) usageError('Give the global API region: --region or AWS_REGION.');
    admin = { awsRegion: region };
  } else {
    const file = join(values['data-dir'], 'admin-token');
    const token =
      values['admin-token'] ??
      process.env.SMS_ADMIN_TOKEN ??
      (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
    if (!token)
      usageError(
        `No admin token: pass --admin-token, set SMS_ADMIN_TOKEN, or run where npm start keeps ${file}.`,
      );
    admin = { token };
  }
  const waitSeconds = Number(values['wait-seconds']);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0)
    usageError('--wait-seconds must be a positive number');
  const { results } = await runSmoke({
    url,
    euUrl,
    admin,
    webhookReceiver: values['webhook-receiver'],
    waitMs: waitSeconds * 1000,
    ...(values.verbose ? { progress: (line: string) => process.stderr.write(`... ${line}\n`) } : {}),
  });
  for (const r of results) process.stdout.write(`${formatResult(r)}\n`);
  const count = (s: SmokeStatus) => results.filter((r) => r.status === s).length;
  process.stdout.write(`${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped\n`);
  process.exitCode = count('FAIL') > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void main();
