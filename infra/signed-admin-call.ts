import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * The region of an API Gateway endpoint from its default host name
 * (`xxxx.execute-api.<region>.amazonaws.com`); undefined for a custom domain.
 */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(url).hostname)?.[1];
}

/**
 * One call to a deployed gateway's admin API, signed with the caller's AWS credentials (SigV4,
 * the admin routes are IAM-authorised); a non-2xx answer throws. The same contract as the local
 * `adminCall` (infra/local/admin-call.ts), which authenticates with the local admin token.
 */
export async function signedAdminCall(
  url: string,
  region: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const target = new URL(path, url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = await sigV4Headers(target, region, method, payload);
  const res = await fetch(target, { method, headers, body: payload, signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`${method} ${target.pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The headers of a JSON request to API Gateway signed with the caller's AWS credentials (SigV4). */
export async function sigV4Headers(
  target: URL,
  region: string,
  method: string,
  payload: string | undefined,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: defaultProvider(),
    region,
    service: 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: target.protocol,
    hostname: target.hostname,
    path: target.pathname,
    query: Object.fromEntries(target.searchParams),
    headers: { 'content-type': 'application/json', host: target.host },
    body: payload,
  });
  // fetch sets Host itself (and refuses it as a header).
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
