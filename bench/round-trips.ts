// How many AWS round trips a request waits on, one after the other, measured on the local runtime:
// every HTTP call a function makes is timed inside its instance (node:http's diagnostics
// channels, see infra/local/lambda-worker.mjs), and a request's calls are those its authorizer
// and its function made while it was open.
import { adminCall } from '../infra/local/admin-call.ts';
import type { OutgoingCall } from '../infra/local/lambda.ts';
import { gatewayOn, startLocalServices } from './local-clients.ts';
import { median } from './report.ts';

/**
 * The longest chain of calls each of which started after the one before it was answered: the
 * round trips the request waited on in sequence (calls made in parallel count once). Greedy by
 * answer time finds the most calls that pairwise do not overlap, and such calls form a chain.
 */
export function sequentialRoundTrips(calls: readonly Pick<OutgoingCall, 'startedAt' | 'endedAt'>[]) {
  let depth = 0;
  let free = Number.NEGATIVE_INFINITY;
  for (const c of [...calls].sort((a, b) => a.endedAt - b.endedAt)) {
    if (c.startedAt >= free) {
      depth++;
      free = c.endedAt;
    }
  }
  return depth;
}

export interface RequestCalls {
  calls: OutgoingCall[];
  sequential: number;
}

export interface RoundTrips {
  /** A tenant's first `POST /v1/messages` (its keys and secrets made on the way), instances warm. */
  first: RequestCalls;
  /** Later ones of the same tenant: the median request, and every measured one's counts. */
  warm: RequestCalls;
  warmRuns: { calls: number; sequential: number }[];
}

const WARM_RUNS = 7;

export async function roundTripsBench(): Promise<RoundTrips> {
  const services = await startLocalServices();
  const { ddb, sqs, kms } = services;
  const calls: OutgoingCall[] = [];
  const gateway = await gatewayOn({ dynamodb: ddb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint }, 'trips', {
    onCall: (c) => calls.push(c),
  });
  // The global region's instances of the request path: the authorizer and the send function.
  const inPath = new Set(
    [...gateway.functions.values()]
      .filter(
        (f) =>
          f.jurisdiction === 'global' &&
          ['authorize', 'send-message'].some((n) => f.path.split('/').includes(n)),
      )
      .map((f) => f.fn.spec.name),
  );
  const tenantWithKey = async (name: string) => {
    const t = (await adminCall(gateway.url, gateway.adminToken, 'POST', '/admin/tenants', {
      displayName: name,
      legalName: `${name} Ltd`,
      contactEmail: 'c@example.test',
      homeJurisdiction: 'global',
    })) as { id: string };
    // A monthly cap, as a tenant in production has: its counting reads the other region's count.
    await adminCall(gateway.url, gateway.adminToken, 'PUT', `/admin/tenants/${t.id}/controls`, {
      monthlySegmentCap: 1_000_000,
    });
    const k = (await adminCall(gateway.url, gateway.adminToken, 'POST', `/admin/tenants/${t.id}/keys`, {
      name: 'k',
      mode: 'test',
      scopes: ['send'],
    })) as { secret: string };
    return k.secret;
  };
  let n = 0;
  /** One request alone (no other traffic of the path), and the calls made for it. */
  const send = async (key: string): Promise<RequestCalls> => {
    await new Promise((r) => setTimeout(r, 300)); // workers of the previous message settle
    const from = performance.timeOrigin + performance.now();
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        to: `+1646555${String(1000 + n++).padStart(4, '0')}`,
        from: 'Trips',
        body: 'Hi',
      }),
    });
    await res.arrayBuffer();
    const to = performance.timeOrigin + performance.now();
    if (res.status !== 202) throw new Error(`POST /v1/messages answered ${res.status}`);
    const mine = calls.filter((c) => inPath.has(c.function) && c.startedAt >= from && c.endedAt <= to);
    return { calls: mine, sequential: sequentialRoundTrips(mine) };
  };
  // Warm instances (another tenant's requests), then a new tenant's first and later requests.
  const warmUp = await tenantWithKey('Warm');
  for (let i = 0; i < 3; i++) await send(warmUp);
  const key = await tenantWithKey('Trips');
  const first = await send(key);
  const runs: RequestCalls[] = [];
  for (let i = 0; i < WARM_RUNS; i++) runs.push(await send(key));
  const mid = median(runs.map((r) => r.sequential));
  const warm = runs.find((r) => r.sequential === mid) ?? runs[0];
  await gateway.stop();
  await services.stop();
  if (!warm) throw new Error('no warm request measured');
  return {
    first,
    warm,
    warmRuns: runs.map((r) => ({ calls: r.calls.length, sequential: r.sequential })),
  };
}

/** A request's calls in the order they started, those in parallel with the one before marked `‖`. */
export function callSequence(calls: readonly OutgoingCall[]) {
  const sorted = [...calls].sort((a, b) => a.startedAt - b.startedAt);
  return sorted
    .map((c, i) => {
      const previous = sorted[i - 1];
      const parallel = previous !== undefined && c.startedAt < previous.endedAt;
      return `${parallel ? '‖ ' : ''}${c.operation}`;
    })
    .join(', ');
}
